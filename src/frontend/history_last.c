/* SPDX-License-Identifier: MIT */
#include "history_last.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "util.h"

int history_last(int fd, struct history_entry *ret)
{
	struct stat st;
	char buf[16384];
	off_t start;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	start = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, start);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0) {
		char *line;

		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		line = strrchr(buf, '\n');
		line = line ? line + 1 : buf;
		if (history_parse_line(line, ret) == 0)
			return 1;
		n = line - buf;
		buf[n] = '\0';
		if (line == buf)
			break;
	}
	return 0;
}
