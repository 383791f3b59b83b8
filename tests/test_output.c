/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/output.c (the JSON builder, build output on stderr)
 * and the text helpers of src/common/util.c it relies on (str_escape, sizes,
 * numbers). What goes to stderr or stdout is captured by pointing fd 2 or 1
 * at a file in a scratch directory and compared byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>

#include "output.h"
#include "util.h"

/* ---- capturing stdout / stderr -------------------------------------- */

struct fixture {
	char dir[64];
	int target;        /* fd being captured (1 or 2), or -1 */
	int saved;         /* the original, dup'ed */
	int file;
	int n;             /* capture files made */
	char text[16384];  /* what was captured, NUL-terminated */
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_output.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->target = f->saved = f->file = -1;
	*state = f;
	return 0;
}

static void capture_restore(struct fixture *f)
{
	if (f->target < 0)
		return;
	fflush(f->target == 1 ? stdout : stderr);
	dup2(f->saved, f->target);
	close(f->saved);
	f->target = f->saved = -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	/* A failed assertion between begin and end leaves fd 1/2 redirected. */
	capture_restore(f);
	if (f->file >= 0)
		close(f->file);
	r = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* Points fd (1 or 2) at a new file; no assertions until capture_end. */
static void capture_begin(struct fixture *f, int fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/capture.%d", f->dir, f->n++);
	fflush(fd == 1 ? stdout : stderr);
	f->file = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(f->file >= 0);
	f->saved = dup(fd);
	assert_true(f->saved >= 0);
	assert_int_equal(dup2(f->file, fd), fd);
	f->target = fd;
}

/* Restores the fd and returns what was written, NUL-terminated. */
static const char *capture_end(struct fixture *f)
{
	ssize_t n;

	capture_restore(f);
	n = pread(f->file, f->text, sizeof(f->text) - 1, 0);
	close(f->file);
	f->file = -1;
	assert_true(n >= 0);
	f->len = (size_t)n;
	f->text[n] = '\0';
	return f->text;
}

/* Compares captured output with want, showing both escaped on mismatch. */
static void assert_captured(struct fixture *f, const char *want, size_t want_len)
{
	if (f->len != want_len || memcmp(f->text, want, want_len) != 0) {
		char got_e[4096], want_e[4096];

		str_escape(got_e, sizeof(got_e), f->text, f->len);
		str_escape(want_e, sizeof(want_e), want, want_len);
		fail_msg("captured\n  '%s'\nwant\n  '%s'", got_e, want_e);
	}
}

#define ASSERT_CAPTURED(f, lit) assert_captured(f, lit, sizeof(lit) - 1)

/* ---- JSON ----------------------------------------------------------- */

static void assert_json(struct json *j, const char *want)
{
	assert_false(j->failed);
	assert_non_null(j->buf);
	assert_string_equal(j->buf, want);
	assert_int_equal(j->len, strlen(want));
}

static void test_json_nested(void **state)
{
	struct json j;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "app", "shop");
	json_kv_uint(&j, "keep", 5);
	json_kv_bool(&j, "ok", true);
	json_kv_string(&j, "previous", NULL);
	json_key(&j, "releases");
	json_begin(&j, '[');
	json_begin(&j, '{');
	json_kv_string(&j, "id", "20261126T041056Z");
	json_kv_uint(&j, "bytes", 18446744073709551615ULL);
	json_end(&j, '}');
	json_begin(&j, '{');
	json_kv_bool(&j, "current", false);
	json_end(&j, '}');
	json_string(&j, "x");
	json_string(&j, NULL);
	json_uint(&j, 0);
	json_bool(&j, false);
	json_begin(&j, '[');
	json_end(&j, ']');
	json_end(&j, ']');
	json_key(&j, "empty");
	json_begin(&j, '{');
	json_end(&j, '}');
	json_kv_double(&j, "seconds", 1.5);
	json_end(&j, '}');
	assert_json(&j,
		"{\"app\":\"shop\",\"keep\":5,\"ok\":true,\"previous\":null,"
		"\"releases\":[{\"id\":\"20261126T041056Z\",\"bytes\":18446744073709551615},"
		"{\"current\":false},\"x\",null,0,false,[]],"
		"\"empty\":{},\"seconds\":1.500000}");
	json_free(&j);
	assert_null(j.buf);
	assert_int_equal(j.len, 0);
}

static void test_json_top_level(void **state)
{
	struct json j;

	json_init(&j);
	json_begin(&j, '[');
	json_begin(&j, '[');
	json_end(&j, ']');
	json_begin(&j, '[');
	json_uint(&j, 1);
	json_end(&j, ']');
	json_end(&j, ']');
	assert_json(&j, "[[],[1]]");
	json_free(&j);

	json_init(&j);
	json_string(&j, NULL);
	assert_json(&j, "null");
	json_free(&j);

	json_init(&j);
	json_raw(&j, "{}");
	assert_json(&j, "{}");
	json_free(&j);
}

static void test_json_escapes(void **state)
{
	struct json j;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "q\"k", "say \"hi\"");
	json_kv_string(&j, "bs", "C:\\path\\");
	json_kv_string(&j, "ctl", "a\nb\tc\rd\x01\x1b[2J\x1f\x7f");
	json_kv_string(&j, "utf8", "caf\xc3\xa9");
	json_kv_string(&j, "slash", "a/b");
	json_kv_string(&j, "empty", "");
	json_end(&j, '}');
	assert_json(&j,
		"{\"q\\\"k\":\"say \\\"hi\\\"\","
		"\"bs\":\"C:\\\\path\\\\\","
		"\"ctl\":\"a\\u000ab\\u0009c\\u000dd\\u0001\\u001b[2J\\u001f\\u007f\","
		"\"utf8\":\"caf\xc3\xa9\","
		"\"slash\":\"a/b\","
		"\"empty\":\"\"}");
	json_free(&j);
}

/* Big documents grow the buffer without losing anything. */
static void test_json_large(void **state)
{
	struct json j;
	char want[64];

	json_init(&j);
	json_begin(&j, '[');
	for (unsigned i = 0; i < 5000; i++)
		json_uint(&j, i);
	json_end(&j, ']');
	assert_false(j.failed);
	assert_int_equal(strncmp(j.buf, "[0,1,2,3,", 9), 0);
	snprintf(want, sizeof(want), ",4998,4999]");
	assert_string_equal(j.buf + j.len - strlen(want), want);
	assert_int_equal(strlen(j.buf), j.len);
	json_free(&j);
}

static void test_json_print(void **state)
{
	struct fixture *f = *state;
	struct json j;
	int r;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "a", "b");
	json_end(&j, '}');
	capture_begin(f, 1);
	r = json_print(&j);
	capture_end(f);
	assert_int_equal(r, 0);
	ASSERT_CAPTURED(f, "{\"a\":\"b\"}\n");

	j.failed = true;
	capture_begin(f, 1);
	r = json_print(&j);
	capture_end(f);
	assert_int_equal(r, -ENOMEM);
	ASSERT_CAPTURED(f, "");
	json_free(&j);
}

/* ---- str_escape ----------------------------------------------------- */

static void test_str_escape(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain text", 10, "plain text" },
		{ "a\nb", 3, "a\\nb" },
		{ "a\tb", 3, "a\\tb" },
		{ "\x1b[31mred", 8, "\\x1b[31mred" },
		{ "back\\slash", 10, "back\\\\slash" },
		{ "caf\xc3\xa9", 5, "caf\\xc3\\xa9" },
		{ "\xc2\x9b" "2J", 4, "\\xc2\\x9b2J" },
		{ "\x7f\xff", 2, "\\x7f\\xff" },
		{ "\r", 1, "\\x0d" },
		{ "nul\0inside", 10, "nul\\x00inside" },
		{ "", 0, "" },
		{ "only part", 4, "only" },
	};
	char buf[128];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		memset(buf, 'Z', sizeof(buf));
		str_escape(buf, sizeof(buf), cases[i].in, cases[i].len);
		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, buf, cases[i].out);
	}
}

static void test_str_escape_truncates(void **state)
{
	char buf[16];
	char big[200];

	/* 26 letters into 10 bytes: 6 letters, "...", NUL. */
	memset(buf, 'Z', sizeof(buf));
	str_escape(buf, 10, "abcdefghijklmnopqrstuvwxyz", 26);
	assert_string_equal(buf, "abcdef...");
	assert_int_equal(buf[10], 'Z');         /* nothing past n */

	/* An escape is never cut in half. */
	str_escape(buf, 10, "abcd\x1b\x1b\x1b", 7);
	assert_string_equal(buf, "abcd...");

	/* Tiny buffers still get a terminator. */
	memset(buf, 'Z', sizeof(buf));
	str_escape(buf, 1, "abc", 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');
	str_escape(buf, 3, "abcdef", 6);
	assert_true(strlen(buf) < 3);
	str_escape(buf, 4, "abcdef", 6);
	assert_string_equal(buf, "...");
	str_escape(buf, 0, "abc", 3);      /* n == 0 writes nothing */
	assert_int_equal(buf[0], '.');

	/* Large input, every byte hostile: bounded, terminated. */
	memset(big, 0x9b, sizeof(big));
	str_escape(buf, sizeof(buf), big, sizeof(big));
	assert_true(strlen(buf) < sizeof(buf));
	assert_int_equal(strncmp(buf, "\\x9b\\x9b", 8), 0);
	assert_string_equal(buf + strlen(buf) - 3, "...");
}

/*
 * BUG (src/common/util.c:57): str_escape reserves room for "..." before every
 * character, so input that fits exactly is cut and marked as truncated:
 * "abcdefg" (7 bytes) into a 10-byte buffer gives "abcdef...", longer
 * than the original and missing its last character.
 */
static void test_str_escape_no_truncation_when_it_fits(void **state)
{
	char buf[10];

	str_escape(buf, sizeof(buf), "abcdefg", 7);
	assert_string_equal(buf, "abcdefg");
	str_escape(buf, sizeof(buf), "abcdefghi", 9);
	assert_string_equal(buf, "abcdefghi");
	str_escape(buf, sizeof(buf), "abcd\n", 5);
	assert_string_equal(buf, "abcd\\n");
}

/* ---- sizes and numbers ---------------------------------------------- */

static void test_format_size(void **state)
{
	static const struct {
		unsigned long long bytes;
		const char *out;
	} cases[] = {
		{ 0, "0 B" }, { 1, "1 B" }, { 999, "999 B" },
		{ 1000, "1.0 kB" }, { 1024, "1.0 kB" }, { 1500, "1.5 kB" },
		{ 1000000, "1.0 MB" }, { 40100000, "40.1 MB" },
		{ 1000000000, "1.0 GB" }, { 4ULL << 30, "4.3 GB" },
		{ 999000000000ULL, "999.0 GB" },
	};
	char buf[32];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		format_size(buf, sizeof(buf), cases[i].bytes);
		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("format_size(%llu) = '%s', want '%s'", cases[i].bytes, buf, cases[i].out);
	}
	/* A short buffer truncates, terminated. */
	format_size(buf, 4, 40100000);
	assert_string_equal(buf, "40.");
}

/*
 * BUG (src/common/util.c:153-158): the unit is chosen before rounding, so values
 * just under a unit boundary print as 1000 of the smaller unit:
 * 999999 -> "1000.0 kB", 999999999 -> "1000.0 MB".
 */
static void test_format_size_unit_boundary(void **state)
{
	char buf[32];

	format_size(buf, sizeof(buf), 999999);
	assert_string_equal(buf, "1.0 MB");
	format_size(buf, sizeof(buf), 999999999);
	assert_string_equal(buf, "1.0 GB");
	format_size(buf, sizeof(buf), 999949);
	assert_string_equal(buf, "999.9 kB");
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		int r;
		unsigned long long v;
	} cases[] = {
		{ "0", 0, 0 }, { "512", 0, 512 },
		{ "64K", 0, 64ULL << 10 }, { "64k", 0, 64ULL << 10 },
		{ "10M", 0, 10ULL << 20 }, { "10m", 0, 10ULL << 20 },
		{ "2G", 0, 2ULL << 30 }, { "2g", 0, 2ULL << 30 },
		{ "3T", 0, 3ULL << 40 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "18446744073709551615", 0, 18446744073709551615ULL },
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "x", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { "1KB", -EINVAL, 0 },
		{ "1KK", -EINVAL, 0 }, { "1P", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
		{ "123456789012345678901234567890", -ERANGE, 0 },
		{ "123456789012345678901234567890123", -EINVAL, 0 },   /* too long to try */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		unsigned long long v = 777;
		int r = parse_size(cases[i].in, &v);

		if (r != cases[i].r)
			fail_msg("parse_size(\"%s\") = %d, want %d", cases[i].in, r, cases[i].r);
		if (r == 0 && v != cases[i].v)
			fail_msg("parse_size(\"%s\") gave %llu, want %llu", cases[i].in, v, cases[i].v);
		if (r < 0 && v != 777)
			fail_msg("parse_size(\"%s\") wrote its output on error", cases[i].in);
	}
	{
		unsigned long long v;
		assert_int_equal(parse_size(NULL, &v), -EINVAL);
	}
}

static void test_parse_uint(void **state)
{
	static const struct {
		const char *in;
		unsigned long long min, max;
		int r;
		unsigned long long v;
	} cases[] = {
		{ "0", 0, 10, 0, 0 }, { "10", 0, 10, 0, 10 }, { "007", 0, 10, 0, 7 },
		{ "11", 0, 10, -ERANGE, 0 }, { "0", 1, 10, -ERANGE, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 }, { "-1", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 }, { " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 }, { "1x", 0, 10, -EINVAL, 0 },
		{ "0x1", 0, 10, -EINVAL, 0 }, { "1e3", 0, 10000, -EINVAL, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		unsigned long long v = 777;
		int r = parse_uint(cases[i].in, cases[i].min, cases[i].max, &v);

		if (r != cases[i].r)
			fail_msg("parse_uint(\"%s\", %llu, %llu) = %d, want %d", cases[i].in,
				 cases[i].min, cases[i].max, r, cases[i].r);
		if (r == 0 && v != cases[i].v)
			fail_msg("parse_uint(\"%s\") gave %llu", cases[i].in, v);
		if (r < 0 && v != 777)
			fail_msg("parse_uint(\"%s\") wrote its output on error", cases[i].in);
	}
	{
		unsigned long long v;
		assert_int_equal(parse_uint(NULL, 0, 10, &v), -EINVAL);
	}
}

static void test_str_copy_printf(void **state)
{
	char buf[8];

	assert_int_equal(str_copy(buf, sizeof(buf), "1234567"), 0);
	assert_string_equal(buf, "1234567");
	assert_int_equal(str_copy(buf, sizeof(buf), "12345678"), -ENAMETOOLONG);
	assert_int_equal(str_copy(buf, 0, ""), -ENAMETOOLONG);
	assert_int_equal(str_printf(buf, sizeof(buf), "%d-%s", 12, "abcd"), 0);
	assert_string_equal(buf, "12-abcd");
	assert_int_equal(str_printf(buf, sizeof(buf), "%d-%s", 123, "abcd"), -ENAMETOOLONG);
}

static void test_format_time(void **state)
{
	char buf[32];

	format_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	/* 2026-11-26 04:10:56.999 UTC: seconds are truncated, not rounded. */
	format_time(buf, sizeof(buf), 1795666256999999999ULL);
	assert_string_equal(buf, "2026-11-26T04:10:56Z");
}

/* ---- progress and build output on stderr --------------------------- */

static void test_build_chunk_escapes(void **state)
{
	struct fixture *f = *state;
	struct output o;
	static const char chunk[] =
		"hello \x1b[31mred\x1b[0m\n"
		"line2 \xc2\x9b" "2J ok\r\n"
		"caf\xc3\xa9 \xe2\x82\xac\n"
		"tab\there\x07\x7f\x00!\n";

	out_init(&o, false, false);
	capture_begin(f, 2);
	out_build_begin(&o, 1, 2, "composer install\n--no-dev");
	out_build_chunk(&o, chunk, sizeof(chunk) - 1);
	out_build_end(&o);
	capture_end(f);
	ASSERT_CAPTURED(f,
		"  build step 1/2: composer install\\n--no-dev\n"
		"    | hello \\x1b[31mred\\x1b[0m\n"
		"    | line2 \\xc2\\x9b2J ok\n"
		"    | caf\xc3\xa9 \xe2\x82\xac\n"
		"    | tab\there\\x07\\x7f\\x00!\n");
}

/* Lines continue across chunks; every new line is indented once. */
static void test_build_chunk_lines(void **state)
{
	struct fixture *f = *state;
	struct output o;

	out_init(&o, false, false);
	capture_begin(f, 2);
	out_build_begin(&o, 2, 2, "make");
	out_build_chunk(&o, "abc", 3);
	out_build_chunk(&o, "def\n", 4);
	out_build_chunk(&o, "\n", 1);
	out_build_chunk(&o, "ghi\nj", 5);
	out_build_chunk(&o, "", 0);
	out_build_end(&o);
	out_build_end(&o);       /* twice: no extra newline */
	capture_end(f);
	ASSERT_CAPTURED(f,
		"  build step 2/2: make\n"
		"    | abcdef\n"
		"    | \n"
		"    | ghi\n"
		"    | j\n");
}

/*
 * BUG (src/frontend/output.c:73, write_indented): a C1 control is only
 * recognised when both of its bytes are in the same chunk. A build that
 * writes "\xc2" and then "\x9b" (two write(2)s, so two OP_OUTPUT chunks)
 * gets a raw CSI onto the terminal.
 */
static void test_build_chunk_c1_split_across_chunks(void **state)
{
	struct fixture *f = *state;
	struct output o;

	out_init(&o, false, false);
	capture_begin(f, 2);
	out_build_chunk(&o, "x\xc2", 2);
	out_build_chunk(&o, "\x9b" "2J\n", 4);
	out_build_end(&o);
	capture_end(f);
	if (memmem(f->text, f->len, "\xc2\x9b", 2))
		fail_msg("raw C1 control reached the terminal");
	assert_int_equal(strncmp(f->text, "    | x\\xc2", 11), 0);
	assert_string_equal(f->text + f->len - 3, "2J\n");
}

static void test_build_quiet_and_tail(void **state)
{
	struct fixture *f = *state;
	struct output o;
	char line[32];

	out_init(&o, true, false);
	capture_begin(f, 2);
	out_build_begin(&o, 1, 1, "make");
	for (int i = 1; i <= 15; i++) {
		snprintf(line, sizeof(line), "l%d%s\n", i, i == 15 ? "\x1b[2J" : "");
		out_build_chunk(&o, line, strlen(line));
	}
	out_build_end(&o);
	out_step(&o, "build", 1000000000, NULL);
	capture_end(f);
	/* Quiet: nothing at all. */
	ASSERT_CAPTURED(f, "");

	/* But the tail of a failed step is shown, escaped: the last 10 lines. */
	capture_begin(f, 2);
	out_build_tail(&o);
	capture_end(f);
	ASSERT_CAPTURED(f,
		"  last output of the failed step:\n"
		"    | l6\n    | l7\n    | l8\n    | l9\n    | l10\n"
		"    | l11\n    | l12\n    | l13\n    | l14\n    | l15\\x1b[2J\n");
	assert_true(o.quiet);

	/* A new step starts a new tail. */
	out_build_begin(&o, 2, 2, "make install");
	out_build_chunk(&o, "only\n", 5);
	capture_begin(f, 2);
	out_build_tail(&o);
	capture_end(f);
	ASSERT_CAPTURED(f, "  last output of the failed step:\n    | only\n");
}

/* The tail keeps the last 2048 bytes of a long step. */
static void test_build_tail_bounded(void **state)
{
	struct fixture *f = *state;
	struct output o;
	char block[1000];

	out_init(&o, true, false);
	out_build_begin(&o, 1, 1, "make");
	memset(block, 'a', sizeof(block));
	for (int i = 0; i < 10; i++)
		out_build_chunk(&o, block, sizeof(block));
	memset(block, 'b', sizeof(block));
	out_build_chunk(&o, block, sizeof(block));
	out_build_chunk(&o, "END", 3);
	assert_int_equal(o.tail_len, sizeof(o.tail));
	assert_memory_equal(o.tail + sizeof(o.tail) - 3, "END", 3);
	assert_int_equal(o.tail[sizeof(o.tail) - 4], 'b');
	assert_int_equal(o.tail[sizeof(o.tail) - 1003], 'b');
	assert_int_equal(o.tail[sizeof(o.tail) - 1004], 'a');

	/* One chunk bigger than the whole tail. */
	{
		_cleanup_free_ char *huge = malloc(5000);

		assert_non_null(huge);
		for (int i = 0; i < 5000; i++)
			huge[i] = (char)('0' + i % 10);
		out_build_chunk(&o, huge, 5000);
		assert_int_equal(o.tail_len, sizeof(o.tail));
		assert_memory_equal(o.tail, huge + 5000 - sizeof(o.tail), sizeof(o.tail));
	}
	capture_begin(f, 2);
	out_build_tail(&o);
	capture_end(f);
	assert_int_equal(f->len, strlen("  last output of the failed step:\n    | ") + sizeof(o.tail) + 1);
}

static void test_step_and_errors(void **state)
{
	struct fixture *f = *state;
	struct output o;

	out_init(&o, false, false);
	capture_begin(f, 2);
	out_step(&o, "fetch", 1234567890, "40.1 MB");
	out_step(&o, "switch", 1000, "");
	out_error("release %s is not frozen;\nrun 'cutover list shop'\r", "X");
	out_warn(&o, "pruning failed: %d", 3);
	/* A subject the helper names may carry a terminal escape. */
	out_error("cannot open %s", "/srv/x\033]0;owned\007\tname\177");
	out_warn(&o, "php-fpm said: %s", "a\nb\033[2J");
	capture_end(f);
	ASSERT_CAPTURED(f,
		"  fetch                                 1.235s  40.1 MB\n"
		"  switch                                0.000s\n"
		"cutover: release X is not frozen; run 'cutover list shop' \n"
		"cutover: warning: pruning failed: 3\n"
		"cutover: cannot open /srv/x?]0;owned? name?\n"
		"cutover: warning: php-fpm said: a b?[2J\n");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_nested),
		cmocka_unit_test(test_json_top_level),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_large),
		T(test_json_print),
		cmocka_unit_test(test_str_escape),
		cmocka_unit_test(test_str_escape_truncates),
		cmocka_unit_test(test_str_escape_no_truncation_when_it_fits),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_format_size_unit_boundary),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_str_copy_printf),
		cmocka_unit_test(test_format_time),
		T(test_build_chunk_escapes),
		T(test_build_chunk_lines),
		T(test_build_chunk_c1_split_across_chunks),
		T(test_build_quiet_and_tail),
		T(test_build_tail_bounded),
		T(test_step_and_errors),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
