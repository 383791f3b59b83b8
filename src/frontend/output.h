/* SPDX-License-Identifier: MIT */
/*
 * What the user sees. Progress goes to stderr (one line per finished step
 * with its duration, build output indented under its step), results to
 * stdout: plain text, or with --json exactly one JSON document.
 */
#ifndef CUTOVER_OUTPUT_H
#define CUTOVER_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct output {
	bool quiet;
	bool json;
	bool at_line_start;
	bool pending_c2;      /* a 0xc2 ended the last chunk */
	/* The end of the current build step's output, for error messages. */
	char tail[2048];
	size_t tail_len;
};

void out_init(struct output *o, bool quiet, bool json);

/* "  NAME ........ 0.123s  DETAIL" on stderr unless quiet. */
void out_step(struct output *o, const char *name, uint64_t ns, const char *detail);

/* Header before a build step's output. */
void out_build_begin(struct output *o, size_t index, size_t total, const char *cmd);
/* A chunk of build output: indented, control characters escaped. */
void out_build_chunk(struct output *o, const char *buf, size_t len);
void out_build_end(struct output *o);

/* Writes the last lines of the step's output (escaped) to stderr. */
void out_build_tail(struct output *o);

/* The one-line error: "cutover: ..." on stderr. */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last line out_error printed (without "cutover: "), or "": the
 * reason a notification and the on_failure hooks are given. */
const char *out_last_error(void);
void out_warn(struct output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growing JSON text. */
struct json {
	char *buf;
	size_t len, cap;
	bool need_comma;
	bool failed;
};

void json_init(struct json *j);
void json_free(struct json *j);
void json_raw(struct json *j, const char *s);
void json_begin(struct json *j, char c);          /* '{' or '[' */
void json_end(struct json *j, char c);            /* '}' or ']' */
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);  /* NULL prints null */
void json_uint(struct json *j, unsigned long long v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_uint(struct json *j, const char *key, unsigned long long v);
void json_kv_bool(struct json *j, const char *key, bool v);
void json_kv_double(struct json *j, const char *key, double v);
/* Prints the document and a newline on stdout. */
int json_print(struct json *j);

/* "2026-11-26T04:10:56Z" for ns since the epoch. */
void format_time(char *dst, size_t n, uint64_t ns);

/* Formats bytes as "40.1 MB". */
void format_size(char *dst, size_t n, unsigned long long bytes);

#endif
