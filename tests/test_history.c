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


/* ---- events: the other attempts -------------------------------------- */

static void test_event_roundtrip(void **state)
{
	struct history_entry in = {
		.time = "2026-11-26T04:10:56Z", .verb = "deploy", .event = "failed",
		.release = ID2, .who = "mallory", .duration_ms = 4321, .reported = true,
		.client = "203.0.113.9 50022",
	}, out;
	char line[HISTORY_LINE_MAX];
	int n;

	/* A reason that tries every trick: fake keys, quotes, control bytes. */
	str_copy(in.reason, sizeof(in.reason),
		 "x\",\"to\":\"" ID1 "\",\"event\":\"deploy\"}\n{\"a\":\"\x1b[2J\\\tend");
	n = history_format(line, sizeof(line), &in);
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_null(strchr(line, '\x1b'));
	assert_null(memchr(line, '\n', (size_t)n - 1));
	assert_int_equal(history_parse_event(line, &out), 0);
	assert_string_equal(out.verb, "deploy");
	assert_string_equal(out.event, "failed");
	assert_string_equal(out.to, "");
	assert_string_equal(out.from, "");
	assert_string_equal(out.release, ID2);
	assert_string_equal(out.who, "mallory");
	assert_string_equal(out.client, "203.0.113.9 50022");
	assert_true(out.reported);
	assert_int_equal(out.duration_ms, 4321);
	/* Control characters come back as '?', the rest as given. */
	assert_string_equal(out.reason, "x\",\"to\":\"" ID1 "\",\"event\":\"deploy\"}?{\"a\":\"?[2J\\?end");
	assert_false(history_entry_is_switch(&out));
	/* Not a switch: rollback-to-previous and status never see it. */
	assert_int_equal(history_parse_line(line, &out), -EINVAL);
}

/* The file stays UTF-8 for strict readers, and no C1 control (0xc2
 * 0x80-0x9f: CSI, OSC) reaches a terminal that shows it (review 13, L5). */
static void test_event_utf8(void **state)
{
	struct history_entry in = { .time = "2026-11-26T04:10:56Z", .verb = "deploy", .event = "failed",
				    .release = ID2, .who = "ci" }, out;
	char line[HISTORY_LINE_MAX];
	int n;

	(void)state;
	str_copy(in.reason, sizeof(in.reason), "caf\xc3\xa9 \xc2\x9b" "2J \xff\xfe end \xe2\x82");
	n = history_format(line, sizeof(line), &in);
	assert_true(n > 0);
	assert_null(strstr(line, "\xc2\x9b"));
	assert_null(strchr(line, '\xff'));
	assert_int_equal(history_parse_event(line, &out), 0);
	assert_string_equal(out.reason, "caf\xc3\xa9 ?2J ?? end ??");
}

static void test_event_switch_lines(void **state)
{
	struct history_entry in = {
		.time = "2026-11-26T04:10:56Z", .verb = "rollback", .event = "auto-rollback",
		.from = ID2, .to = ID1, .who = "root", .reason = "health check failed: 500",
		.reported = true,
	}, out;
	char line[HISTORY_LINE_MAX];

	assert_true(history_format(line, sizeof(line), &in) > 0);
	assert_int_equal(history_parse_line(line, &out), 0);
	assert_true(history_entry_is_switch(&out));
	assert_true(history_entry_is_rollback(&out));
	assert_string_equal(out.reason, "health check failed: 500");
	/* Lines without an event (before events existed) are switches. */
	assert_int_equal(history_parse_event(LINE("switch", "null", ID1, "ci", "1", "null"), &out), 0);
	assert_true(history_entry_is_switch(&out));
	assert_false(history_entry_is_rollback(&out));
}

static void test_format_rejects(void **state)
{
	struct history_entry ok = { .time = "t", .verb = "deploy", .event = "failed", .reason = "r" }, e;
	char line[HISTORY_LINE_MAX];

	assert_true(history_format(line, sizeof(line), &ok) > 0);
	e = ok;
	str_copy(e.verb, sizeof(e.verb), "nonsense");
	assert_int_equal(history_format(line, sizeof(line), &e), -EINVAL);
	e = ok;
	str_copy(e.event, sizeof(e.event), "pwned");
	assert_int_equal(history_format(line, sizeof(line), &e), -EINVAL);
	e = ok;
	str_copy(e.release, sizeof(e.release), "../x");
	assert_int_equal(history_format(line, sizeof(line), &e), -EINVAL);
	e = ok;
	e.event[0] = '\0';   /* a switch line needs its release */
	assert_int_equal(history_format(line, sizeof(line), &e), -EINVAL);
	assert_int_equal(history_format(line, 40, &ok), -ENOBUFS);
}

static void test_event_rejects(void **state)
{
	static const char *const lines[] = {
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"from\":null}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"bogus\",\"from\":null}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"release\":\"../x\"}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"release\":\".h\"}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\"}",
		"{\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null}",
		"{\"time\":\"t\",\"event\":\"failed\",\"from\":null}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"reason\":\"a\\x\"}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"reason\":\"\\u12\"}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"reason\":\"a\tb\"}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null} trailing",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\" null}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":{}}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":[1]}",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":\"",
		"{\"time\":\"t\",\"verb\":\"deploy\",\"event\":\"failed\",\"from\":null,\"to\":\"" ID1 "x/\"}",
		"{}", "{", "}", "", "[]", "null", "\"{\"",
	};
	struct history_entry e, poison;

	memset(&poison, 0x5a, sizeof(poison));
	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		e = poison;
		if (history_parse_event(lines[i], &e) != -EINVAL)
			fail_msg("line %zu accepted: %s", i, lines[i]);
		assert_memory_equal(&e, &poison, sizeof(e));
	}
}

/* Every prefix of a good line, and every single-byte change of it, is
 * parsed without reading out of bounds (ASan builds check) and a prefix is
 * never taken for the line. */
static void test_event_mutations(void **state)
{
	struct history_entry in = {
		.time = "2026-11-26T04:10:56Z", .verb = "deploy", .event = "refused",
		.who = "ci", .reason = "the app is locked by pid 1 (\"deploy\")", .reported = true,
	}, out;
	static const char bytes[] = { '"', '\\', '{', '}', ':', ',', 'u', '\0', '\n', 'x', '0' };
	char line[HISTORY_LINE_MAX], copy[HISTORY_LINE_MAX];
	int n = history_format(line, sizeof(line), &in);

	assert_true(n > 0);
	line[--n] = '\0';   /* without its newline */
	for (int i = 0; i < n; i++) {
		memcpy(copy, line, (size_t)i);
		copy[i] = '\0';
		assert_int_equal(history_parse_event(copy, &out), -EINVAL);
	}
	for (int i = 0; i < n; i++)
		for (size_t b = 0; b < sizeof(bytes); b++) {
			memcpy(copy, line, (size_t)n + 1);
			copy[i] = bytes[b];
			(void)history_parse_event(copy, &out);
		}
}

/* rollback_target: the previous release, past unhealthy or pruned ones;
 * failure lines between switches change nothing. */
static void test_rollback_target(void **state)
{
	struct fixture *f = *state;
	struct layout l;
	struct release_info ri = { .state = RELEASE_FROZEN, .created_ns = 1 };
	struct history_entry ev = { .verb = "deploy", .event = "failed", .release = ID3, .reason = "x" };
	char prev[RELEASE_ID_MAX + 1];

	memset(&l, 0xff, sizeof(l));
	l.meta_fd = f->dir_fd;
	assert_int_equal(mkdirat(f->dir_fd, "state", 0700), 0);
	l.state_fd = openat(f->dir_fd, "state", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(l.state_fd >= 0);
	history_configure(NULL, (gid_t)-1);
	assert_int_equal(history_append(&l, "deploy", NULL, ID1, "ci", NULL, 1), 0);
	assert_int_equal(history_append(&l, "deploy", ID1, ID2, "ci", NULL, 1), 0);
	assert_int_equal(history_record(&l, &ev), 0);
	assert_int_equal(history_append(&l, "deploy", ID2, ID3, "ci", NULL, 1), 0);
	assert_int_equal(history_record(&l, &ev), 0);
	str_copy(ri.id, sizeof(ri.id), ID1);
	assert_int_equal(state_write(&l, &ri), 0);
	str_copy(ri.id, sizeof(ri.id), ID3);
	assert_int_equal(state_write(&l, &ri), 0);
	str_copy(ri.id, sizeof(ri.id), ID2);
	assert_int_equal(state_write(&l, &ri), 0);

	assert_int_equal(previous_of(&l, ID3, prev, sizeof(prev)), 0);
	assert_string_equal(prev, ID2);
	assert_int_equal(rollback_target(&l, ID3, prev, sizeof(prev)), 0);
	assert_string_equal(prev, ID2);

	ri.unhealthy = true;
	str_copy(ri.reason, sizeof(ri.reason), "health check failed\nreason=forged");
	assert_int_equal(state_write(&l, &ri), 0);
	assert_int_equal(state_read(&l, ID2, &ri), 0);
	assert_true(ri.unhealthy);
	assert_string_equal(ri.reason, "health check failed?reason=forged");
	assert_int_equal(rollback_target(&l, ID3, prev, sizeof(prev)), 0);
	assert_string_equal(prev, ID1);

	/* The chain recorded in the states holds without the history (a
	 * flood of lines can push a deploy out of what is read; review 13, M2). */
	assert_int_equal(state_set_previous(&l, ID3, ID2), 0);
	assert_int_equal(state_read(&l, ID2, &ri), 0);
	ri.unhealthy = false;
	assert_int_equal(state_write(&l, &ri), 0);
	assert_int_equal(renameat(f->dir_fd, "history.jsonl", f->dir_fd, "history.away"), 0);
	assert_int_equal(previous_of(&l, ID3, prev, sizeof(prev)), 0);
	assert_string_equal(prev, ID2);
	assert_int_equal(state_set_previous(&l, ID2, ""), 0);
	assert_int_equal(previous_of(&l, ID2, prev, sizeof(prev)), 0);
	assert_string_equal(prev, "");
	assert_int_equal(renameat(f->dir_fd, "history.away", f->dir_fd, "history.jsonl"), 0);

	/* A full history is rotated before the next line: bounded on disk. */
	{
		struct stat st;
		int fd = openat(f->dir_fd, "history.jsonl", O_WRONLY | O_APPEND | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 4 * 1024 * 1024), 0);
		close(fd);
		assert_int_equal(history_record(&l, &ev), 0);
		assert_int_equal(fstatat(f->dir_fd, "history.1.jsonl", &st, 0), 0);
		assert_true(st.st_size >= 4 * 1024 * 1024);
		assert_int_equal(fstatat(f->dir_fd, "history.jsonl", &st, 0), 0);
		assert_true(st.st_size > 0 && st.st_size < 4096);
		/* The chain is in the states: rollback still finds ID2. */
		assert_int_equal(previous_of(&l, ID3, prev, sizeof(prev)), 0);
		assert_string_equal(prev, ID2);
	}
	ri.unhealthy = true;
	assert_int_equal(state_write(&l, &ri), 0);

	/* Nothing healthy before: none. */
	assert_int_equal(unlinkat(l.state_fd, ID1, 0), 0);
	assert_int_equal(rollback_target(&l, ID3, prev, sizeof(prev)), 0);
	assert_string_equal(prev, "");
	close(l.state_fd);
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
		cmocka_unit_test(test_event_roundtrip),
		cmocka_unit_test(test_event_switch_lines),
		cmocka_unit_test(test_event_utf8),
		cmocka_unit_test(test_format_rejects),
		cmocka_unit_test(test_event_rejects),
		cmocka_unit_test(test_event_mutations),
		T(test_rollback_target),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
