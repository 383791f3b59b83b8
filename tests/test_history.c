/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/common/history.c: parsing the lines the helper appends to
 * ROOT/.cutover/history.jsonl, and finding the newest entry in a file.
 * Lines are written here literally, in the helper's format, and also by the
 * helper's own writer (history_append in helpers/release.c), so a change of
 * format on either side shows up here.
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

#include "history_last.h"
#include "util.h"
#include "release.h"

#define ID1 "20261126T041056Z"
#define ID2 "20261126T051200Z-v1.4.2"
#define ID3 "20261127T000000Z-2"

/* One line exactly as history_append writes it. */
#define LINE(verb, from, to, who, ms, source) \
	"{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"" verb "\",\"from\":" from \
	",\"to\":\"" to "\",\"who\":\"" who "\",\"duration_ms\":" ms ",\"source\":" source "}"

/* ---- fixture: a scratch directory ----------------------------------- */

struct fixture {
	char dir[64];
	int dir_fd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_history.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->dir_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
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

	close(f->dir_fd);
	r = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* Writes text (len bytes) to a new file and returns it open for reading. */
static int history_file(struct fixture *f, const char *name, const char *text, size_t len)
{
	_cleanup_close_ int w = openat(f->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int fd;

	assert_true(w >= 0);
	assert_int_equal(write_all(w, text, len), 0);
	fd = openat(f->dir_fd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* ---- history_parse_line --------------------------------------------- */

static void test_parse_first_deploy(void **state)
{
	struct history_entry e;

	assert_int_equal(history_parse_line(
		LINE("deploy", "null", ID1, "ci", "12", "\"/srv/build/shop\""), &e), 0);
	assert_string_equal(e.time, "2026-11-26T04:10:56Z");
	assert_string_equal(e.verb, "deploy");
	assert_string_equal(e.from, "");
	assert_string_equal(e.to, ID1);
	assert_string_equal(e.who, "ci");
	assert_int_equal(e.duration_ms, 12);
}

static void test_parse_escaped_source(void **state)
{
	struct history_entry e;

	/* The source is free text and comes last: quotes, backslashes and
	 * \u escapes in it do not disturb the fields before it. */
	assert_int_equal(history_parse_line(
		LINE("switch", "\"" ID1 "\"", ID2, "alice", "1500",
		     "\"git+https://x/y.git#\\\"to\\\":\\\"../../etc\\\" \\\\ \\u001b[2J\""),
		&e), 0);
	assert_string_equal(e.verb, "switch");
	assert_string_equal(e.from, ID1);
	assert_string_equal(e.to, ID2);
	assert_string_equal(e.who, "alice");
	assert_int_equal(e.duration_ms, 1500);

	/* A null source, a large duration. */
	assert_int_equal(history_parse_line(
		LINE("rollback", "\"" ID2 "\"", ID1, "root", "18446744073709551615", "null"), &e), 0);
	assert_string_equal(e.verb, "rollback");
	assert_string_equal(e.from, ID2);
	assert_string_equal(e.to, ID1);
	assert_true(e.duration_ms == UINT64_MAX);
}

static void test_parse_optional_fields(void **state)
{
	struct history_entry e;

	/* who and duration_ms may be missing or odd; the entry still counts. */
	assert_int_equal(history_parse_line(
		"{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"from\":null,\"to\":\"" ID1 "\"}",
		&e), 0);
	assert_string_equal(e.to, ID1);
	assert_string_equal(e.who, "");
	assert_int_equal(e.duration_ms, 0);

	assert_int_equal(history_parse_line(
		LINE("deploy", "null", ID1, "ci", "-5", "null"), &e), 0);
	assert_int_equal(e.duration_ms, 0);
	assert_int_equal(history_parse_line(
		LINE("deploy", "null", ID1, "ci", "null", "null"), &e), 0);
	assert_int_equal(e.duration_ms, 0);
}

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *why;
		const char *line;
	} cases[] = {
		{ "to with ..", LINE("switch", "null", "../x", "ci", "1", "null") },
		{ "to absolute", LINE("switch", "null", "/etc", "ci", "1", "null") },
		{ "to with a slash", LINE("switch", "null", "a/b", "ci", "1", "null") },
		{ "to empty", LINE("switch", "null", "", "ci", "1", "null") },
		{ "to like an option", LINE("switch", "null", "-rf", "ci", "1", "null") },
		{ "to too long", LINE("switch", "null",
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ci", "1", "null") },
		{ "from with ..", LINE("switch", "\"../../etc\"", ID1, "ci", "1", "null") },
		{ "from hidden", LINE("switch", "\".hidden\"", ID1, "ci", "1", "null") },
		{ "to null",
		  "{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"from\":null,\"to\":null,\"who\":\"ci\"}" },
		{ "to missing",
		  "{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"from\":null,\"who\":\"ci\"}" },
		{ "from missing",
		  "{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"to\":\"" ID1 "\"}" },
		{ "time missing", "{\"verb\":\"deploy\",\"from\":null,\"to\":\"" ID1 "\"}" },
		{ "verb missing", "{\"time\":\"2026-11-26T04:10:56Z\",\"from\":null,\"to\":\"" ID1 "\"}" },
		{ "verb too long", LINE("deploydeploydeploy", "null", ID1, "ci", "1", "null") },
		{ "to unterminated",
		  "{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"from\":null,\"to\":\"2026112" },
		{ "empty", "" },
		{ "not JSON", "garbage" },
	};
	struct history_entry e, poison;

	memset(&poison, 0x5a, sizeof(poison));
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r;

		e = poison;
		r = history_parse_line(cases[i].line, &e);
		if (r != -EINVAL)
			fail_msg("%s: %d, want -EINVAL", cases[i].why, r);
		/* The output is written only on success. */
		assert_memory_equal(&e, &poison, sizeof(e));
	}
}

/* ---- with the helper's writer --------------------------------------- */

static void test_roundtrip_helper_writer(void **state)
{
	struct fixture *f = *state;
	struct layout l;
	struct history_entry e;
	_cleanup_close_ int fd = -EBADF;
	char buf[8192], *line, *save = NULL;
	ssize_t n;
	int lines = 0;

	/* Only the .cutover directory is used; every other fd is invalid. */
	memset(&l, 0xff, sizeof(l));
	l.meta_fd = f->dir_fd;
	assert_int_equal(history_append(&l, "deploy", NULL, ID1, "ci", "/srv/build", 12), 0);
	assert_int_equal(history_append(&l, "switch", ID1, ID2, "alice",
					 "git+https://x/\"q\"\\\n\x1b[2J", 1500), 0);
	assert_int_equal(history_append(&l, "rollback", ID2, ID1, "bob \"the\" admin", NULL, 7), 0);

	fd = openat(f->dir_fd, "history.jsonl", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.verb, "rollback");
	assert_string_equal(e.from, ID2);
	assert_string_equal(e.to, ID1);
	assert_int_equal(e.duration_ms, 7);
	assert_int_equal(strlen(e.time), 20);
	assert_int_equal(e.time[10], 'T');
	assert_int_equal(e.time[19], 'Z');

	/* Every line the writer made parses, with the values it was given. */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(buf[n - 1], '\n');
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(history_parse_line(line, &e), 0);
		lines++;
		if (lines == 1) {
			assert_string_equal(e.verb, "deploy");
			assert_string_equal(e.from, "");
			assert_string_equal(e.to, ID1);
			assert_string_equal(e.who, "ci");
			assert_int_equal(e.duration_ms, 12);
		} else if (lines == 2) {
			/* The newline and ESC were escaped, not written. */
			assert_non_null(strstr(line, "\\u000a\\u001b[2J"));
			assert_null(strchr(line, '\x1b'));
			assert_string_equal(e.verb, "switch");
			assert_string_equal(e.from, ID1);
			assert_string_equal(e.to, ID2);
			assert_string_equal(e.who, "alice");
			assert_int_equal(e.duration_ms, 1500);
		}
	}
	assert_int_equal(lines, 3);
}

/* ---- history_last --------------------------------------------------- */

static void test_last_several_lines(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		LINE("deploy", "null", ID1, "ci", "10", "\"a\"") "\n"
		LINE("deploy", "\"" ID1 "\"", ID2, "ci", "20", "\"b\"") "\n"
		LINE("switch", "\"" ID2 "\"", ID3, "dave", "30", "\"c\"") "\n";
	_cleanup_close_ int fd = history_file(f, "h", text, sizeof(text) - 1);
	struct history_entry e;

	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.verb, "switch");
	assert_string_equal(e.from, ID2);
	assert_string_equal(e.to, ID3);
	assert_string_equal(e.who, "dave");
	assert_int_equal(e.duration_ms, 30);
}

static void test_last_torn_line(void **state)
{
	struct fixture *f = *state;
	/* The last write was cut short, in the middle of the "to" value. */
	static const char text[] =
		LINE("deploy", "null", ID1, "ci", "10", "\"a\"") "\n"
		LINE("switch", "\"" ID1 "\"", ID2, "erin", "20", "\"b\"") "\n"
		"{\"time\":\"2026-11-26T04:10:56Z\",\"verb\":\"deploy\",\"from\":\"" ID2 "\",\"to\":\"20261127T";
	_cleanup_close_ int fd = history_file(f, "h", text, sizeof(text) - 1);
	struct history_entry e;

	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.verb, "switch");
	assert_string_equal(e.to, ID2);
	assert_string_equal(e.who, "erin");
}

/* Unparsable lines and blank lines at the end are skipped. */
static void test_last_skips_bad_lines(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		LINE("deploy", "null", ID1, "ci", "10", "\"a\"") "\n"
		LINE("deploy", "\"" ID1 "\"", ID2, "ci", "20", "\"b\"") "\n"
		LINE("switch", "null", "../../etc", "mallory", "1", "null") "\n"
		"\n"
		"garbage\n"
		"\n";
	_cleanup_close_ int fd = history_file(f, "h", text, sizeof(text) - 1);
	struct history_entry e;

	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.to, ID2);
	assert_int_equal(e.duration_ms, 20);
}

static void test_last_no_trailing_newline(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		LINE("deploy", "null", ID1, "ci", "10", "\"a\"") "\n"
		LINE("rollback", "\"" ID1 "\"", ID3, "ci", "40", "null");
	_cleanup_close_ int fd = history_file(f, "h", text, sizeof(text) - 1);
	struct history_entry e;

	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.verb, "rollback");
	assert_string_equal(e.to, ID3);
}

static void test_last_empty(void **state)
{
	struct fixture *f = *state;
	struct history_entry e, poison;
	int fd;

	memset(&poison, 0x5a, sizeof(poison));
	e = poison;
	fd = history_file(f, "empty", "", 0);
	assert_int_equal(history_last(fd, &e), 0);
	close(fd);
	fd = history_file(f, "blank", "\n\n\n", 3);
	assert_int_equal(history_last(fd, &e), 0);
	close(fd);
	fd = history_file(f, "bad", "garbage\n{\"to\":\"x\"}\n", 19);
	assert_int_equal(history_last(fd, &e), 0);
	close(fd);
	assert_int_equal(history_last(-1, &e), -EBADF);
}

/* A history larger than the read window: the newest entry is still found. */
static void test_last_large_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *text = malloc(64 * 1024);
	size_t o = 0;
	struct history_entry e;
	_cleanup_close_ int fd = -EBADF;

	assert_non_null(text);
	for (int i = 0; i < 300; i++)
		o += (size_t)snprintf(text + o, 64 * 1024 - o, "%s\n",
				      LINE("deploy", "\"" ID1 "\"", ID2, "ci", "10", "\"/srv/build/shop/with/a/long/path\""));
	o += (size_t)snprintf(text + o, 64 * 1024 - o, "%s\n",
			      LINE("switch", "\"" ID2 "\"", ID3, "last", "99", "null"));
	assert_true(o > 16384);
	fd = history_file(f, "h", text, o);
	assert_int_equal(history_last(fd, &e), 1);
	assert_string_equal(e.to, ID3);
	assert_string_equal(e.who, "last");
	assert_int_equal(e.duration_ms, 99);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_first_deploy),
		cmocka_unit_test(test_parse_escaped_source),
		cmocka_unit_test(test_parse_optional_fields),
		cmocka_unit_test(test_parse_rejects),
		T(test_roundtrip_helper_writer),
		T(test_last_several_lines),
		T(test_last_torn_line),
		T(test_last_skips_bad_lines),
		T(test_last_no_trailing_newline),
		T(test_last_empty),
		T(test_last_large_file),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
