/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/fpm_status.c. The fixtures are real pages captured
 * from php-fpm 8.2.36 (pool "t", pm = static, pm.max_children = 2) over
 * its socket with src/common/fcgi.c; the hostile cases are those pages with one
 * line changed, so each case differs from a valid page in one way only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fpm_status.h"
#include "util.h"

/* "/fpm-status?full" while pid 6261 ran "/sleep.php?x=1" (usleep 1.5 s);
 * pid 6260 was serving the status page itself. */
static const char page_busy[] =
	"pool:                 t\n"
	"process manager:      static\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          2\n"
	"accepted conn:        3\n"
	"listen queue:         0\n"
	"max listen queue:     0\n"
	"listen queue len:     0\n"
	"idle processes:       0\n"
	"active processes:     2\n"
	"total processes:      2\n"
	"max active processes: 2\n"
	"max children reached: 0\n"
	"slow requests:        0\n"
	"\n"
	"************************\n"
	"pid:                  6260\n"
	"state:                Running\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          2\n"
	"requests:             2\n"
	"request duration:     695\n"
	"request method:       GET\n"
	"request URI:          /fpm-status?full\n"
	"content length:       0\n"
	"user:                 -\n"
	"script:               -\n"
	"last request cpu:     0.00\n"
	"last request memory:  0\n"
	"\n"
	"************************\n"
	"pid:                  6261\n"
	"state:                Running\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          2\n"
	"requests:             1\n"
	"request duration:     306206\n"
	"request method:       GET\n"
	"request URI:          /sleep.php?x=1\n"
	"content length:       0\n"
	"user:                 -\n"
	"script:               /tmp/fpmcap/sleep.php\n"
	"last request cpu:     0.00\n"
	"last request memory:  0\n";

/* The same pool a few seconds later: 6260 idle (its last request took
 * 853 us), 6261 serving this page. */
static const char page_idle[] =
	"pool:                 t\n"
	"process manager:      static\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          7\n"
	"accepted conn:        5\n"
	"listen queue:         0\n"
	"max listen queue:     0\n"
	"listen queue len:     0\n"
	"idle processes:       1\n"
	"active processes:     1\n"
	"total processes:      2\n"
	"max active processes: 2\n"
	"max children reached: 0\n"
	"slow requests:        0\n"
	"\n"
	"************************\n"
	"pid:                  6260\n"
	"state:                Idle\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          7\n"
	"requests:             3\n"
	"request duration:     853\n"
	"request method:       GET\n"
	"request URI:          /nope.php\n"
	"content length:       0\n"
	"user:                 -\n"
	"script:               -\n"
	"last request cpu:     0.00\n"
	"last request memory:  2097152\n"
	"\n"
	"************************\n"
	"pid:                  6261\n"
	"state:                Running\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          7\n"
	"requests:             2\n"
	"request duration:     1589\n"
	"request method:       GET\n"
	"request URI:          /fpm-status?full\n"
	"content length:       0\n"
	"user:                 -\n"
	"script:               -\n"
	"last request cpu:     0.00\n"
	"last request memory:  0\n";

/* "/fpm-status" without "?full": the pool block only. */
static const char page_short[] =
	"pool:                 t\n"
	"process manager:      static\n"
	"start time:           26/Nov/2026:05:36:22 +0000\n"
	"start since:          2\n"
	"accepted conn:        1\n"
	"listen queue:         0\n"
	"max listen queue:     0\n"
	"listen queue len:     0\n"
	"idle processes:       1\n"
	"active processes:     1\n"
	"total processes:      2\n"
	"max active processes: 1\n"
	"max children reached: 0\n"
	"slow requests:        0\n";

/*
 * pm = ondemand with no children. A live page never shows this (a child
 * is spawned to serve it: the captured ondemand page had one process), so
 * this is the captured ondemand page with its one block removed and the
 * counters at 0, the state a pool reaches after pm.process_idle_timeout.
 */
static const char page_ondemand_empty[] =
	"pool:                 t\n"
	"process manager:      ondemand\n"
	"start time:           26/Nov/2026:05:36:40 +0000\n"
	"start since:          1\n"
	"accepted conn:        0\n"
	"listen queue:         0\n"
	"max listen queue:     0\n"
	"listen queue len:     0\n"
	"idle processes:       0\n"
	"active processes:     0\n"
	"total processes:      0\n"
	"max active processes: 0\n"
	"max children reached: 0\n"
	"slow requests:        0\n";

/* page with the first occurrence of from replaced by to (malloc'd). */
static char *edit(const char *page, const char *from, const char *to)
{
	const char *at = strstr(page, from);
	size_t pl = strlen(page), fl = strlen(from), tl = strlen(to);
	char *out;

	if (!at)
		fail_msg("fixture has no \"%s\"", from);
	out = malloc(pl - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, page, (size_t)(at - page));
	memcpy(out + (at - page), to, tl);
	memcpy(out + (at - page) + tl, at + fl, pl - (size_t)(at - page) - fl + 1);
	return out;
}

/* Parses text and checks that a failure leaves *ret as it was. */
static int parse(const char *text, size_t len, struct fpm_status *ret)
{
	struct fpm_status before;
	int r;

	memset(ret, 0xa5, sizeof(*ret));
	before = *ret;
	r = fpm_status_parse(text, len, ret);
	if (r < 0 && memcmp(&before, ret, sizeof(before)) != 0)
		fail_msg("fpm_status_parse failed with %d but wrote its output", r);
	return r;
}

static int parse_str(const char *text, struct fpm_status *ret)
{
	return parse(text, strlen(text), ret);
}

static void test_real_busy(void **state)
{
	struct fpm_status s;

	assert_int_equal(parse_str(page_busy, &s), 0);
	assert_string_equal(s.pool, "t");
	assert_string_equal(s.pm, "static");
	assert_string_equal(s.start_time, "26/Nov/2026:05:36:22 +0000");
	assert_int_equal(s.start_since_s, 2);
	assert_int_equal(s.accepted_conn, 3);
	assert_int_equal(s.listen_queue, 0);
	assert_int_equal(s.idle, 0);
	assert_int_equal(s.active, 2);
	assert_int_equal(s.total, 2);
	assert_int_equal(s.max_active, 2);
	assert_int_equal(s.n_procs, 2);

	assert_int_equal(s.procs[0].pid, 6260);
	assert_string_equal(s.procs[0].state, "Running");
	assert_int_equal(s.procs[0].requests, 2);
	assert_int_equal(s.procs[0].request_duration_us, 695);
	assert_string_equal(s.procs[0].request_uri, "/fpm-status?full");
	assert_string_equal(s.procs[0].script, "-");

	assert_int_equal(s.procs[1].pid, 6261);
	assert_string_equal(s.procs[1].state, "Running");
	assert_int_equal(s.procs[1].start_since_s, 2);
	assert_int_equal(s.procs[1].request_duration_us, 306206);
	assert_string_equal(s.procs[1].request_method, "GET");
	assert_string_equal(s.procs[1].request_uri, "/sleep.php?x=1");
	assert_string_equal(s.procs[1].script, "/tmp/fpmcap/sleep.php");

	assert_int_equal(fpm_status_longest_busy_us(&s), 306206);
	fpm_status_free(&s);
	assert_null(s.procs);
	assert_int_equal(s.n_procs, 0);
	fpm_status_free(&s);   /* twice is harmless */
}

static void test_real_idle_not_counted(void **state)
{
	struct fpm_status s;

	assert_int_equal(parse_str(page_idle, &s), 0);
	assert_int_equal(s.n_procs, 2);
	assert_string_equal(s.procs[0].state, "Idle");
	assert_false(fpm_status_proc_is_busy(&s.procs[0]));
	assert_true(fpm_status_proc_is_busy(&s.procs[1]));
	/* 6260's 853 us is its last request, not a running one. */
	assert_int_equal(fpm_status_longest_busy_us(&s), 1589);
	assert_int_equal(s.procs[0].requests, 3);
	fpm_status_free(&s);
}

static void test_real_without_full(void **state)
{
	struct fpm_status s;

	assert_int_equal(parse_str(page_short, &s), 0);
	assert_string_equal(s.pool, "t");
	assert_int_equal(s.total, 2);
	assert_int_equal(s.n_procs, 0);
	assert_null(s.procs);
	assert_int_equal(fpm_status_longest_busy_us(&s), 0);
	fpm_status_free(&s);
}

static void test_zero_processes(void **state)
{
	struct fpm_status s;

	assert_int_equal(parse_str(page_ondemand_empty, &s), 0);
	assert_string_equal(s.pm, "ondemand");
	assert_int_equal(s.total, 0);
	assert_int_equal(s.active, 0);
	assert_int_equal(s.n_procs, 0);
	assert_null(s.procs);
	assert_int_equal(fpm_status_longest_busy_us(&s), 0);
	fpm_status_free(&s);
}

static void test_busy_states(void **state)
{
	static const struct {
		const char *state;
		bool busy;
	} cases[] = {
		{ "Idle", false },
		{ "Running", true },
		{ "Reading headers", true },
		{ "Getting request information", true },
		{ "Ending", true },
		{ "Finishing", true },
		{ "Creating", true },
		{ "SomethingNew", true },     /* unknown: err towards waiting */
		{ "idle", true },             /* the page's spelling is exact */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char line[64];
		struct fpm_status s;
		char *page;

		snprintf(line, sizeof(line), "state:                %s\n", cases[i].state);
		/* The second block: the first is 6260, Idle with 853 us. */
		page = edit(page_idle, "state:                Running\n", line);
		assert_int_equal(parse_str(page, &s), 0);
		assert_string_equal(s.procs[1].state, cases[i].state);
		if (fpm_status_proc_is_busy(&s.procs[1]) != cases[i].busy)
			fail_msg("state \"%s\": busy %d", cases[i].state, !cases[i].busy);
		assert_int_equal(fpm_status_longest_busy_us(&s), cases[i].busy ? 1589 : 0);
		fpm_status_free(&s);
		free(page);
	}
}

static void test_crlf_and_unknown_lines(void **state)
{
	static const char page[] =
		"pool:   www\r\n"
		"process manager:\tdynamic   \r\n"
		"total processes: 1\r\n"
		"memory peak:          2097152\r\n"        /* 8.3 adds fields */
		"a line without a colon\r\n"
		": empty key\r\n"
		"\r\n"
		"********\r\n"
		"pid: 42\r\n"
		"state: Reading headers\r\n"
		"request duration: 7\r\n"
		"last request cpu: 1.25\r\n"                /* not a number we parse */
		"new thing: x\r\n";
	struct fpm_status s;

	assert_int_equal(parse_str(page, &s), 0);
	assert_string_equal(s.pool, "www");
	assert_string_equal(s.pm, "dynamic");
	assert_int_equal(s.n_procs, 1);
	assert_int_equal(s.procs[0].pid, 42);
	assert_string_equal(s.procs[0].state, "Reading headers");
	assert_string_equal(s.procs[0].request_uri, "");
	assert_int_equal(fpm_status_longest_busy_us(&s), 7);
	fpm_status_free(&s);
}

static void test_missing_fields(void **state)
{
	static const struct {
		const char *line;
		int want;
		const char *why;
	} cases[] = {
		{ "pool:                 t\n", -EBADMSG, "no pool: not a status page" },
		{ "process manager:      static\n", -EBADMSG, "no process manager" },
		{ "total processes:      2\n", -EBADMSG, "no total" },
		{ "pid:                  6261\n", -EBADMSG, "block without pid" },
		{ "state:                Running\n", -EBADMSG, "block without state" },
		{ "request duration:     306206\n", -EBADMSG, "block without duration" },
		{ "accepted conn:        3\n", 0, "optional counter" },
		{ "start time:           26/Nov/2026:05:36:22 +0000\n", 0, "optional text" },
		{ "request URI:          /sleep.php?x=1\n", 0, "optional URI" },
		{ "script:               /tmp/fpmcap/sleep.php\n", 0, "optional script" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct fpm_status s;
		char *page = edit(page_busy, cases[i].line, "");
		int r = parse_str(page, &s);

		if (r != cases[i].want)
			fail_msg("without \"%.20s\": %d, want %d (%s)", cases[i].line, r,
				 cases[i].want, cases[i].why);
		if (r == 0)
			fpm_status_free(&s);
		free(page);
	}
}

static void test_missing_counter_is_zero(void **state)
{
	struct fpm_status s;
	char *page = edit(page_busy, "accepted conn:        3\n", "");

	assert_int_equal(parse_str(page, &s), 0);
	assert_int_equal(s.accepted_conn, 0);
	fpm_status_free(&s);
	free(page);
}

static void test_garbage_numbers(void **state)
{
	static const struct {
		const char *from, *to;
	} cases[] = {
		{ "total processes:      2\n", "total processes:      2x\n" },
		{ "total processes:      2\n", "total processes:      -1\n" },
		{ "total processes:      2\n", "total processes:      +2\n" },
		{ "total processes:      2\n", "total processes:      0x10\n" },
		{ "total processes:      2\n", "total processes:      2 3\n" },
		{ "total processes:      2\n", "total processes:      2.0\n" },
		{ "total processes:      2\n", "total processes:\n" },
		{ "total processes:      2\n", "total processes:      -\n" },
		{ "total processes:      2\n", "total processes:      18446744073709551616\n" },
		{ "total processes:      2\n",
		  "total processes:      000000000000000000000000000000002\n" },
		{ "accepted conn:        3\n", "accepted conn:        three\n" },
		{ "pid:                  6261\n", "pid:                  0\n" },
		{ "pid:                  6261\n", "pid:                  2147483648\n" },
		{ "pid:                  6261\n", "pid:                  -6261\n" },
		{ "request duration:     306206\n", "request duration:     306.206\n" },
		{ "request duration:     306206\n", "request duration:     1e6\n" },
		{ "requests:             1\n", "requests:             1 \x01\n" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct fpm_status s;
		char *page = edit(page_busy, cases[i].from, cases[i].to);
		int r = parse_str(page, &s);

		if (r != -EBADMSG)
			fail_msg("\"%.*s\": %d, want -EBADMSG", (int)strlen(cases[i].to) - 1,
				 cases[i].to, r);
		free(page);
	}
}

static void test_extreme_numbers(void **state)
{
	struct fpm_status s;
	char *page = edit(page_busy, "request duration:     306206\n",
			  "request duration:     18446744073709551615\n");
	char *page2 = edit(page, "pid:                  6261\n",
			   "pid:                  2147483647\n");

	assert_int_equal(parse_str(page2, &s), 0);
	assert_int_equal(s.procs[1].pid, 2147483647);
	assert_true(s.procs[1].request_duration_us == 18446744073709551615ULL);
	assert_true(fpm_status_longest_busy_us(&s) == 18446744073709551615ULL);
	fpm_status_free(&s);
	free(page);
	free(page2);
}

static void test_duplicates_refused(void **state)
{
	struct fpm_status s;
	char *page;

	/* A URI with a newline (FastCGI allows one, HTTP does not) trying to
	 * pass a busy process off as idle. */
	page = edit(page_busy, "request URI:          /sleep.php?x=1\n",
		    "request URI:          /x\nstate: Idle\n");
	assert_int_equal(parse_str(page, &s), -EBADMSG);
	free(page);

	page = edit(page_busy, "pool:                 t\n", "pool: t\npool: u\n");
	assert_int_equal(parse_str(page, &s), -EBADMSG);
	free(page);

	/* "start time" in the pool block and in a process block are different
	 * fields. */
	assert_int_equal(parse_str(page_busy, &s), 0);
	fpm_status_free(&s);
}

static void test_long_values(void **state)
{
	char uri[1024], line[1100], pool[200];
	struct fpm_status s;
	char *page;

	memset(uri, 'u', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	snprintf(line, sizeof(line), "request URI:          /%s\n", uri);
	page = edit(page_busy, "request URI:          /sleep.php?x=1\n", line);
	assert_int_equal(parse_str(page, &s), 0);
	/* Display text is truncated, not refused. */
	assert_int_equal(strlen(s.procs[1].request_uri), sizeof(s.procs[1].request_uri) - 1);
	assert_int_equal(s.procs[1].request_uri[0], '/');
	assert_int_equal(s.procs[1].request_uri[1], 'u');
	fpm_status_free(&s);
	free(page);

	/* An identifier that does not fit would be wrong if cut. */
	memset(pool, 'p', sizeof(pool) - 1);
	pool[sizeof(pool) - 1] = '\0';
	snprintf(line, sizeof(line), "pool: %s\n", pool);
	page = edit(page_busy, "pool:                 t\n", line);
	assert_int_equal(parse_str(page, &s), -EBADMSG);
	free(page);

	/* 63 characters still fit in pool[64]. */
	pool[63] = '\0';
	snprintf(line, sizeof(line), "pool: %s\n", pool);
	page = edit(page_busy, "pool:                 t\n", line);
	assert_int_equal(parse_str(page, &s), 0);
	assert_string_equal(s.pool, pool);
	fpm_status_free(&s);
	free(page);
}

static void test_not_a_status_page(void **state)
{
	struct fpm_status s;

	assert_int_equal(parse("", 0, &s), -EBADMSG);
	assert_int_equal(parse(NULL, 0, &s), -EBADMSG);
	assert_int_equal(parse(NULL, 1, &s), -EINVAL);
	assert_int_equal(parse_str("File not found.\n", &s), -EBADMSG);
	assert_int_equal(parse_str("<?xml version=\"1.0\" ?>\n<status>\n<pool>t</pool>\n", &s),
			 -EBADMSG);
	assert_int_equal(parse_str("{\"pool\":\"t\",\"process manager\":\"static\"}", &s),
			 -EBADMSG);
	/* A process block before the pool block. */
	assert_int_equal(parse_str("****\npid: 1\nstate: Idle\nrequest duration: 0\n", &s),
			 -EBADMSG);
}

static void test_nul_refused(void **state)
{
	struct fpm_status s;
	char page[sizeof(page_busy)];

	memcpy(page, page_busy, sizeof(page));
	/* "pool:                 t\0..." : the length says there is more. */
	page[23] = '\0';
	assert_int_equal(parse(page, sizeof(page) - 1, &s), -EBADMSG);
	/* The length is what counts, not a terminator. */
	assert_int_equal(parse(page_busy, sizeof(page_busy) - 1, &s), 0);
	fpm_status_free(&s);
}

static void test_length_respected(void **state)
{
	struct fpm_status s;
	const char *second = strstr(page_busy, "\n************************\npid:                  6261");

	/* Parsing stops at len: the second block is not seen. */
	assert_non_null(second);
	assert_int_equal(parse(page_busy, (size_t)(second - page_busy), &s), 0);
	assert_int_equal(s.n_procs, 1);
	fpm_status_free(&s);
}

/* A page with n minimal process blocks. */
static char *page_with_procs(size_t n, size_t *ret_len)
{
	static const char block[] = "\n****\npid: 1234567\nstate: Running\nrequest duration: 5\n";
	size_t hl = strlen(page_short), bl = strlen(block);
	char *p = malloc(hl + n * bl + 1), *o = p;

	assert_non_null(p);
	memcpy(o, page_short, hl);
	o += hl;
	for (size_t i = 0; i < n; i++, o += bl)
		memcpy(o, block, bl);
	*o = '\0';
	*ret_len = (size_t)(o - p);
	return p;
}

static void test_bounds(void **state)
{
	struct fpm_status s;
	size_t len;
	char *page;

	page = page_with_procs(FPM_STATUS_PROCS_MAX, &len);
	assert_int_equal(parse(page, len, &s), 0);
	assert_int_equal(s.n_procs, FPM_STATUS_PROCS_MAX);
	assert_int_equal(s.procs[FPM_STATUS_PROCS_MAX - 1].pid, 1234567);
	assert_int_equal(fpm_status_longest_busy_us(&s), 5);
	fpm_status_free(&s);
	free(page);

	page = page_with_procs(FPM_STATUS_PROCS_MAX + 1, &len);
	assert_int_equal(parse(page, len, &s), -E2BIG);
	free(page);
}

static void test_huge_input(void **state)
{
	size_t hl = strlen(page_busy), len = FPM_STATUS_TEXT_MAX + 1;
	struct fpm_status s;
	char *page = malloc(len);

	/* A valid page followed by megabytes of lines we would skip. */
	assert_non_null(page);
	memset(page, '\n', len);
	memcpy(page, page_busy, hl);
	assert_int_equal(parse(page, len, &s), -EFBIG);
	assert_int_equal(parse(page, len - 1, &s), 0);
	assert_int_equal(s.n_procs, 2);
	fpm_status_free(&s);

	/* One endless line. */
	memset(page + hl, 'x', len - hl);
	assert_int_equal(parse(page, len - 1, &s), 0);
	fpm_status_free(&s);
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_busy),
		cmocka_unit_test(test_real_idle_not_counted),
		cmocka_unit_test(test_real_without_full),
		cmocka_unit_test(test_zero_processes),
		cmocka_unit_test(test_busy_states),
		cmocka_unit_test(test_crlf_and_unknown_lines),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_missing_counter_is_zero),
		cmocka_unit_test(test_garbage_numbers),
		cmocka_unit_test(test_extreme_numbers),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_not_a_status_page),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_length_respected),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_huge_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
