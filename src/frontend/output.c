/* SPDX-License-Identifier: MIT */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "result.h"
#include "util.h"

void out_init(struct output *o, bool quiet, bool json)
{
	memset(o, 0, sizeof(*o));
	o->quiet = quiet;
	o->json = json;
	o->at_line_start = true;
}

void out_step(struct output *o, const char *name, uint64_t ns, const char *detail)
{
	result_add_step(result_get(), name, ns);
	if (o->quiet)
		return;
	fprintf(stderr, "  %-34s %8.3fs%s%s\n", name, (double)ns / 1e9,
		detail && *detail ? "  " : "", detail ? detail : "");
	fflush(stderr);
}

void out_build_begin(struct output *o, size_t index, size_t total, const char *cmd)
{
	char shown[160];

	o->tail_len = 0;
	o->at_line_start = true;
	if (o->quiet)
		return;
	str_escape(shown, sizeof(shown), cmd, strlen(cmd));
	if (total > 0)
		fprintf(stderr, "  build step %zu/%zu: %s\n", index, total, shown);
	else
		fprintf(stderr, "  running: %s\n", shown);
	fflush(stderr);
}

static void tail_add(struct output *o, const char *buf, size_t len)
{
	if (len >= sizeof(o->tail)) {
		buf += len - sizeof(o->tail);
		len = sizeof(o->tail);
	}
	if (o->tail_len + len > sizeof(o->tail)) {
		size_t drop = o->tail_len + len - sizeof(o->tail);
		memmove(o->tail, o->tail + drop, o->tail_len - drop);
		o->tail_len -= drop;
	}
	memcpy(o->tail + o->tail_len, buf, len);
	o->tail_len += len;
}

/* Writes build output with every line indented and control characters
 * (including C1 controls in UTF-8, 0xc2 0x80-0x9f) escaped, so a build
 * cannot move the cursor or fake cutover's own lines. */
static void write_indented(struct output *o, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (o->pending_c2) {
			o->pending_c2 = false;
			if (c >= 0x80 && c <= 0x9f) {
				fprintf(stderr, "\\xc2\\x%02x", c);
				continue;
			}
			fputc(0xc2, stderr);
		}
		if (o->at_line_start) {
			fputs("    | ", stderr);
			o->at_line_start = false;
		}
		if (c == 0xc2 && i + 1 == len) {
			o->pending_c2 = true;
			continue;
		}
		if (c == '\n') {
			fputc('\n', stderr);
			o->at_line_start = true;
		} else if (c == '\t' || (c >= 0x20 && c < 0x7f))
			fputc(c, stderr);
		else if (c == 0xc2 && i + 1 < len && (unsigned char)buf[i + 1] >= 0x80 &&
			 (unsigned char)buf[i + 1] <= 0x9f) {
			fprintf(stderr, "\\x%02x\\x%02x", c, (unsigned char)buf[i + 1]);
			i++;
		} else if (c >= 0x80)
			fputc(c, stderr);
		else if (c != '\r')
			fprintf(stderr, "\\x%02x", c);
	}
}

void out_build_chunk(struct output *o, const char *buf, size_t len)
{
	tail_add(o, buf, len);
	if (o->quiet)
		return;
	write_indented(o, buf, len);
	fflush(stderr);
}

void out_build_end(struct output *o)
{
	if (o->pending_c2 && !o->quiet)
		fputs("\\xc2", stderr);
	o->pending_c2 = false;
	if (!o->quiet && !o->at_line_start) {
		fputc('\n', stderr);
		o->at_line_start = true;
	}
	fflush(stderr);
}

void out_build_tail(struct output *o)
{
	size_t start = 0, lines = 0;
	bool saved_quiet = o->quiet;

	/* The last 10 lines. */
	for (size_t i = o->tail_len; i > 0; i--)
		if (o->tail[i - 1] == '\n' && i != o->tail_len && ++lines == 10) {
			start = i;
			break;
		}
	o->quiet = false;
	o->at_line_start = true;
	fprintf(stderr, "  last output of the failed step:\n");
	write_indented(o, o->tail + start, o->tail_len - start);
	out_build_end(o);
	o->quiet = saved_quiet;
}

/* One line, always, and nothing a terminal would act on: what the helper
 * names (a path, a line of php-fpm's) may hold control bytes. */
static void one_line(char *buf)
{
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static char last_error[1024];

void out_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	one_line(buf);
	fprintf(stderr, "cutover: %s\n", buf);
	fflush(stderr);
	memcpy(last_error, buf, sizeof(last_error));
}

const char *out_last_error(void)
{
	return last_error;
}

void out_warn(struct output *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	one_line(buf);
	fprintf(stderr, "cutover: warning: %s\n", buf);
}

void format_time(char *dst, size_t n, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- JSON ----------------------------------------------------------- */

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void json_free(struct json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static void put(struct json *j, const char *s, size_t len)
{
	if (j->failed)
		return;
	if (j->len + len + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *nb;
		while (cap < j->len + len + 1)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->failed = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, len);
	j->len += len;
	j->buf[j->len] = '\0';
}

static void comma(struct json *j)
{
	if (j->need_comma)
		put(j, ",", 1);
	j->need_comma = true;
}

void json_raw(struct json *j, const char *s)
{
	comma(j);
	put(j, s, strlen(s));
}

void json_begin(struct json *j, char c)
{
	comma(j);
	put(j, &c, 1);
	j->need_comma = false;
}

void json_end(struct json *j, char c)
{
	put(j, &c, 1);
	j->need_comma = true;
}

void json_key(struct json *j, const char *key)
{
	comma(j);
	j->need_comma = false;
	json_string(j, key);
	put(j, ":", 1);
	j->need_comma = false;
}

void json_string(struct json *j, const char *s)
{
	bool had_comma = j->need_comma;

	if (had_comma)
		comma(j);
	if (!s) {
		put(j, "null", 4);
		j->need_comma = true;
		return;
	}
	put(j, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[8];

		put(j, e, json_escape_char(*p, e));
	}
	put(j, "\"", 1);
	j->need_comma = true;
}

void json_uint(struct json *j, unsigned long long v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", v);
	json_raw(j, b);
}

void json_double(struct json *j, double v)
{
	char b[32];

	snprintf(b, sizeof(b), "%.6f", v);
	json_raw(j, b);
}

void json_bool(struct json *j, bool v)
{
	json_raw(j, v ? "true" : "false");
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_uint(struct json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_kv_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

int json_print(struct json *j)
{
	if (j->failed)
		return -ENOMEM;
	fputs(j->buf ? j->buf : "null", stdout);
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

void format_size(char *dst, size_t n, unsigned long long bytes)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes / 1e3;
	size_t u = 0;

	if (bytes < 1000) {
		snprintf(dst, n, "%llu B", bytes);
		return;
	}
	/* Move up a unit when %.1f would round to 1000.0. */
	while (v >= 999.95 && u + 1 < ELEMENTSOF(units)) {
		v /= 1e3;
		u++;
	}
	snprintf(dst, n, "%.1f %s", v, units[u]);
}
