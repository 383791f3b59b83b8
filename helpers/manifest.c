/* SPDX-License-Identifier: MIT */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void manifest_escape(char *dst, size_t n, const char *src)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)src; *p && o + 5 < n; p++) {
		if (*p <= ' ' || *p == '\\' || *p == 0x7f)
			o += (size_t)snprintf(dst + o, n - o, "\\x%02x", *p);
		else
			dst[o++] = (char)*p;
	}
	if (n)
		dst[o < n ? o : n - 1] = '\0';
}

/* Undoes manifest_escape in place. 0 or -EBADMSG. */
static int manifest_unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		char hex[3], *end;
		long v;

		if (p[1] != 'x' || !p[2] || !p[3])
			return -EBADMSG;
		hex[0] = p[2];
		hex[1] = p[3];
		hex[2] = '\0';
		v = strtol(hex, &end, 16);
		if (*end || v <= 0)
			return -EBADMSG;
		*o++ = (char)v;
		p += 3;
	}
	*o = '\0';
	return 0;
}

int manifest_parse_line(char *line, struct manifest_entry *ret)
{
	char *f[5], *save = NULL, *end;
	unsigned long mode, uid, gid;
	int i = 0;

	for (char *t = strtok_r(line, " ", &save); t && i < 5; t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	if (i != 5 || strlen(f[0]) != 1 || !strchr("dfl", f[0][0]))
		return -EBADMSG;
	mode = strtoul(f[1], &end, 8);
	if (*end || mode > 07777)
		return -EBADMSG;
	uid = strtoul(f[2], &end, 10);
	if (*end != ':')
		return -EBADMSG;
	gid = strtoul(end + 1, &end, 10);
	if (*end || manifest_unescape(f[3]) < 0 || manifest_unescape(f[4]) < 0)
		return -EBADMSG;
	*ret = (struct manifest_entry){
		.type = f[0][0], .mode = (mode_t)mode, .uid = (uid_t)uid, .gid = (gid_t)gid,
		.value = f[3], .path = f[4],
	};
	return 0;
}
