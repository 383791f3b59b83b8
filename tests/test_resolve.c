/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/resolve.c: which release a prefix or label
 * given to switch or rollback names, and the one-line refusal of an
 * ambiguous one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "resolve.h"
#include "util.h"

#define T1 "20261126T041056Z"
#define T2 "20261126T041057Z"
#define T3 "20261127T000000Z"

static void test_match(void **state)
{
	static const struct {
		const char *id, *sel;
		int want;
	} cases[] = {
		{ T1, T1, 2 },
		{ T1 "-v1", T1 "-v1", 2 },
		{ T1 "-v1", "2026", 1 },
		{ T1 "-v1", T1, 1 },
		{ T1 "-v1", "v1", 1 },
		{ T1 "-2-v1", "v1", 1 },
		{ T1 "-2-v1", T1 "-2", 1 },
		{ T1 "-feature-x", "feature-x", 1 },
		{ T1 "-feature-x", "feature", 0 },        /* a label matches whole */
		{ T1 "-v1", "v", 0 },
		{ T1 "-v1.2", "v1", 0 },
		{ T1 "-12", "12", 0 },
		{ T1, "2027", 0 },
		{ T1, "", 0 },
		{ "notanid-v1", "v1", 0 },                /* not the helper's id shape */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int m = release_selector_match(cases[i].id, cases[i].sel);

		if (m != cases[i].want)
			fail_msg("match('%s', '%s') = %d, want %d", cases[i].id, cases[i].sel, m, cases[i].want);
	}
}

static void test_select(void **state)
{
	static const char *const ids[] = { T1 "-v1", T1 "-2-v1", T2, T2 "-2", T3 "-rc" };
	char err[512] = "";

	/* a whole id wins over being a prefix of another */
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), T2, err, sizeof(err)), 2);
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), T2 "-2", err, sizeof(err)), 3);
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "rc", err, sizeof(err)), 4);
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "20261127", err, sizeof(err)), 4);
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), T1 "-2", err, sizeof(err)), 1);
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "nothing", err, sizeof(err)), -ENOENT);
	assert_int_equal(release_select(ids, 0, "rc", err, sizeof(err)), -ENOENT);

	/* the label v1 twice */
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "v1", err, sizeof(err)), -ENOTUNIQ);
	assert_non_null(strstr(err, "'v1' matches 2 releases: " T1 "-v1, " T1 "-2-v1; give more of the id"));
	assert_null(strchr(err, '\n'));

	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "2026", err, sizeof(err)), -ENOTUNIQ);
	assert_non_null(strstr(err, "matches 5 releases"));
}

static void test_select_many_and_small_buffer(void **state)
{
	static char idbuf[20][40];
	const char *ids[20];
	char err[512], tiny[24];

	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		snprintf(idbuf[i], sizeof(idbuf[i]), T1 "-%zu-x", i + 2);
		ids[i] = idbuf[i];
	}
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "x", err, sizeof(err)), -ENOTUNIQ);
	assert_non_null(strstr(err, "matches 20 releases"));
	assert_non_null(strstr(err, " ..."));   /* at most 8 named */
	assert_null(strstr(err, idbuf[9]));
	/* a buffer too small for the list still ends in a NUL */
	assert_int_equal(release_select(ids, ELEMENTSOF(ids), "x", tiny, sizeof(tiny)), -ENOTUNIQ);
	assert_true(strlen(tiny) < sizeof(tiny));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_select_many_and_small_buffer),
	};

	return cmocka_run_group_tests_name("resolve", tests, NULL, NULL);
}
