/* SPDX-License-Identifier: MIT */
/*
 * sig_on_rename DIR NAME PID [N]: prints "ready" once it watches DIR, then
 * waits (inotify, IN_MOVED_TO) until something is renamed to NAME in DIR
 * for the N-th time (default 1) and sends SIGINT to PID at once. A test interrupts cutover this way at
 * the instant the helper renames `current`, before the front end has read
 * the helper's reply. Exits 0 after signalling, 2 on a usage or inotify
 * error.
 *
 * Built by make (integration/tools.mk) into build/tools/sig_on_rename.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int fd, seen = 0, want = argc == 5 ? atoi(argv[4]) : 1;

	if ((argc != 4 && argc != 5) || want < 1)
		return fprintf(stderr, "usage: sig_on_rename DIR NAME PID [N]\n"), 2;
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MOVED_TO) < 0)
		return perror("sig_on_rename: inotify"), 2;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		char *p = buf;

		if (n <= 0)
			return perror("sig_on_rename: read"), 2;
		while (p < buf + n) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->len && strcmp(e->name, argv[2]) == 0 && ++seen == want) {
				if (kill((pid_t)atoi(argv[3]), SIGINT) < 0)
					return perror("sig_on_rename: kill"), 2;
				return 0;
			}
			p += sizeof(*e) + e->len;
		}
	}
}
