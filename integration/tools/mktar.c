/* SPDX-License-Identifier: MIT */
/*
 * mktar: writes a tar stream (ustar, with pax extended headers where
 * needed) to stdout from a spec on stdin, for hostile-artifact tests. It
 * writes whatever the spec says, however wrong: absolute names, "..",
 * devices, setuid bits, xattrs, millions of members, gigabytes of zeros.
 *
 * One member per line, fields separated by TABs; in every field \n, \t,
 * \e, \a, \\ and \xHH stand for those bytes:
 *
 *   file     NAME MODE CONTENT        regular file (MODE octal, e.g. 0644)
 *   zeros    NAME SIZE [COUNT]        COUNT (1) files NAME, NAME.2, ... of
 *                                     SIZE zero bytes, streamed
 *   dir      NAME MODE
 *   symlink  NAME TARGET
 *   hardlink NAME TARGET
 *   chr      NAME MAJOR MINOR         character device (also: blk, fifo)
 *   pax      KEY VALUE                a pax record for the next member
 *   many     PREFIX COUNT PER_DIR     COUNT empty files PREFIX/dJ/fI (the
 *                                     directories are implied, not listed)
 *
 * Built by make (integration/tools.mk) into build/tools/mktar.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 512
#define PAX_MAX 65536

static char pax[PAX_MAX];
static size_t pax_len;
static unsigned long long written;

static void die(const char *what)
{
	fprintf(stderr, "mktar: %s\n", what);
	exit(1);
}

static void out(const void *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n)
		die(errno ? strerror(errno) : "short write");
	written += n;
}

static void pad(void)
{
	static const char zero[BLOCK];

	if (written % BLOCK)
		out(zero, BLOCK - written % BLOCK);
}

/* Decodes the escapes in place; returns the decoded length. */
static size_t unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r != '\\' || !r[1]) {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'e': *w++ = 27; break;
		case 'a': *w++ = 7; break;
		case 'x': {
			char hex[3] = { r[1], r[1] ? r[2] : 0, 0 };
			*w++ = (char)strtoul(hex, NULL, 16);
			r += 2;
			break;
		}
		default: *w++ = *r; break;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void octal(char *field, size_t width, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%0*llo", (int)width - 1, v);
	if (strlen(buf) > width - 1)
		die("number too large for its ustar field");
	memcpy(field, buf, width - 1);
	field[width - 1] = '\0';
}

static void pax_add(const char *key, const char *value, size_t vlen)
{
	size_t body = strlen(key) + vlen + 3, len = body, digits;
	char num[24];

	/* The length counts its own digits. */
	for (;;) {
		digits = (size_t)snprintf(num, sizeof(num), "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	if (pax_len + len > sizeof(pax))
		die("pax records too long");
	pax_len += (size_t)sprintf(pax + pax_len, "%zu %s=", len, key);
	memcpy(pax + pax_len, value, vlen);
	pax_len += vlen;
	pax[pax_len++] = '\n';
}

static void header(const char *name, size_t name_len, char type, unsigned mode,
		   unsigned long long size, const char *link, size_t link_len,
		   unsigned major, unsigned minor)
{
	unsigned char h[BLOCK];
	unsigned sum = 0;

	/* Long or binary names go in a pax header first; the ustar fields
	 * then hold a harmless stand-in. */
	if (name_len > 99 || memchr(name, '\0', name_len))
		pax_add("path", name, name_len);
	if (link && (link_len > 99 || memchr(link, '\0', link_len)))
		pax_add("linkpath", link, link_len);
	if (pax_len) {
		char pname[100];
		size_t n = pax_len;

		pax_len = 0;
		snprintf(pname, sizeof(pname), "PaxHeader/%.80s", name_len <= 99 ? name : "long");
		header(pname, strlen(pname), 'x', 0644, n, NULL, 0, 0, 0);
		out(pax, n);
		pad();
	}
	memset(h, 0, sizeof(h));
	memcpy(h, name, name_len > 99 ? 99 : name_len);
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (unsigned long long)time(NULL));
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, link_len > 99 ? 99 : link_len);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	octal((char *)h + 329, 8, major);
	octal((char *)h + 337, 8, minor);
	for (int i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	out(h, sizeof(h));
}

static void zeros(const char *name, unsigned long long size)
{
	static char buf[1 << 20];
	unsigned long long left = size;

	header(name, strlen(name), '0', 0644, size, NULL, 0, 0, 0);
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		out(buf, n);
		left -= n;
	}
	pad();
}

static void many(const char *prefix, unsigned long long count, unsigned long long per_dir)
{
	char name[256];

	if (per_dir == 0)
		per_dir = 1;
	for (unsigned long long i = 0; i < count; i++) {
		int n = snprintf(name, sizeof(name), "%s/d%llu/f%llu", prefix, i / per_dir, i);
		header(name, (size_t)n, '0', 0644, 0, NULL, 0, 0, 0);
	}
}

int main(void)
{
	static char line[1 << 16];
	static char obuf[1 << 20];

	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while (fgets(line, sizeof(line), stdin)) {
		char *f[6] = { 0 };
		size_t len[6] = { 0 };
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		for (char *p = line; n < 6; n++) {
			f[n] = p;
			p = strchr(p, '\t');
			if (!p) {
				n++;
				break;
			}
			*p++ = '\0';
		}
		for (int i = 0; i < n; i++)
			len[i] = unescape(f[i]);
		if (strcmp(f[0], "file") == 0 && n == 4) {
			header(f[1], len[1], '0', (unsigned)strtoul(f[2], NULL, 8), len[3], NULL, 0, 0, 0);
			out(f[3], len[3]);
			pad();
		} else if (strcmp(f[0], "zeros") == 0 && (n == 3 || n == 4)) {
			unsigned long long size = strtoull(f[2], NULL, 10);
			unsigned long long count = n == 4 ? strtoull(f[3], NULL, 10) : 1;
			char name[300];

			for (unsigned long long i = 1; i <= count; i++) {
				if (i == 1)
					snprintf(name, sizeof(name), "%s", f[1]);
				else
					snprintf(name, sizeof(name), "%s.%llu", f[1], i);
				zeros(name, size);
			}
		} else if (strcmp(f[0], "dir") == 0 && n == 3) {
			header(f[1], len[1], '5', (unsigned)strtoul(f[2], NULL, 8), 0, NULL, 0, 0, 0);
		} else if (strcmp(f[0], "symlink") == 0 && n == 3) {
			header(f[1], len[1], '2', 0777, 0, f[2], len[2], 0, 0);
		} else if (strcmp(f[0], "hardlink") == 0 && n == 3) {
			header(f[1], len[1], '1', 0644, 0, f[2], len[2], 0, 0);
		} else if ((strcmp(f[0], "chr") == 0 || strcmp(f[0], "blk") == 0) && n == 4) {
			header(f[1], len[1], f[0][0] == 'c' ? '3' : '4', 0666, 0, NULL, 0,
			       (unsigned)strtoul(f[2], NULL, 10), (unsigned)strtoul(f[3], NULL, 10));
		} else if (strcmp(f[0], "fifo") == 0 && n == 2) {
			header(f[1], len[1], '6', 0644, 0, NULL, 0, 0, 0);
		} else if (strcmp(f[0], "pax") == 0 && n == 3) {
			pax_add(f[1], f[2], len[2]);
		} else if (strcmp(f[0], "many") == 0 && n == 4) {
			many(f[1], strtoull(f[2], NULL, 10), strtoull(f[3], NULL, 10));
		} else {
			fprintf(stderr, "mktar: bad spec line starting '%s' (%d fields)\n", f[0], n);
			return 2;
		}
	}
	{
		static const char end[2 * BLOCK];
		out(end, sizeof(end));
	}
	if (fflush(stdout) != 0)
		die(strerror(errno));
	return 0;
}
