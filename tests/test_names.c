/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/common/names.c: the validators every name from outside goes
 * through before it may become a path component, and the release id format.
 * Tables of hostile and valid names; each row says what it exercises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "names.h"
#include "release.h"
#include "util.h"

struct name_case {
	const char *name;
	bool valid;
	const char *why;
};

/* Runs one table through a validator and names the failing row. */
static void check_table(bool (*valid)(const char *), const char *what,
			const struct name_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = valid(cases[i].name);

		if (got != cases[i].valid)
			fail_msg("%s(\"%s\") = %d, want %d (%s)", what, cases[i].name,
				 got, cases[i].valid, cases[i].why);
	}
}

/* A string of n copies of c (n < 128). */
static const char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_release_id_hostile(void **state)
{
	static const struct name_case cases[] = {
		{ "../../etc", false, "path traversal" },
		{ "/etc", false, "absolute path" },
		{ "", false, "empty" },
		{ ".", false, "current directory" },
		{ "..", false, "parent directory" },
		{ "a/b", false, "two components" },
		{ "id\nx", false, "newline forges log lines" },
		{ "id\tx", false, "tab" },
		{ "id\x1b[31m", false, "terminal escape" },
		{ "--help", false, "looks like an option" },
		{ "-rf", false, "looks like an option" },
		{ ".hidden", false, "hidden file" },
		{ "_x", false, "leading underscore" },
		{ "a b", false, "space" },
		{ "a\\b", false, "backslash" },
		{ "caf\xc3\xa9", false, "UTF-8" },
		{ "\xc3\xa9t\xc3\xa9", false, "UTF-8 first byte" },
		{ "a*", false, "glob" },
		{ "a:b", false, "colon" },
		{ "20261126T041056Z", true, "plain id" },
		{ "20261126T041056Z-2", true, "collision suffix" },
		{ "20261126T041056Z-v1.4.2", true, "label" },
		{ "a..b", true, "dots inside one component are harmless" },
		{ "x", true, "one character" },
		{ "Z_.-", true, "every allowed punctuation after the first" },
	};

	check_table(release_id_valid, "release_id_valid", cases, ELEMENTSOF(cases));
	assert_false(release_id_valid(NULL));
}

static void test_release_id_length(void **state)
{
	char buf[128];

	assert_true(release_id_valid(repeat(buf, 'a', RELEASE_ID_MAX)));
	assert_int_equal(strlen(buf), 64);
	assert_false(release_id_valid(repeat(buf, 'a', RELEASE_ID_MAX + 1)));
	assert_false(release_id_valid(repeat(buf, '7', 100)));
}

static void test_app_name(void **state)
{
	static const struct name_case cases[] = {
		{ "../x", false, "path traversal" },
		{ "Shop", false, "upper case" },
		{ "a b", false, "space" },
		{ "", false, "empty" },
		{ "-shop", false, "leading dash" },
		{ "_shop", false, "leading underscore" },
		{ "shop.conf", false, "dot" },
		{ "shop/x", false, "slash" },
		{ "shop\n", false, "newline" },
		{ "sh\xc3\xb6p", false, "UTF-8" },
		{ "shop", true, "plain" },
		{ "my-app_2", true, "dash, underscore, digit" },
		{ "2shop", true, "leading digit" },
		{ "a", true, "one character" },
	};
	char buf[128];

	check_table(app_name_valid, "app_name_valid", cases, ELEMENTSOF(cases));
	assert_false(app_name_valid(NULL));
	assert_true(app_name_valid(repeat(buf, 'a', APP_NAME_MAX)));
	assert_int_equal(strlen(buf), 63);
	assert_false(app_name_valid(repeat(buf, 'a', APP_NAME_MAX + 1)));
}

static void test_label(void **state)
{
	static const struct name_case cases[] = {
		{ "v1.4.2", true, "version" },
		{ "Hotfix_3", true, "mixed case" },
		{ "", false, "empty" },
		{ ".v1", false, "leading dot" },
		{ "-v1", false, "leading dash" },
		{ "bad label", false, "space" },
		{ "a/b", false, "slash" },
		{ "..", false, "parent directory" },
		{ "v1\n", false, "newline" },
	};
	char buf[128];

	check_table(label_valid, "label_valid", cases, ELEMENTSOF(cases));
	assert_false(label_valid(NULL));
	assert_true(label_valid(repeat(buf, 'l', LABEL_MAX)));
	assert_false(label_valid(repeat(buf, 'l', LABEL_MAX + 1)));
}

static void test_release_id_given(void **state)
{
	static const struct name_case cases[] = {
		{ "b42", true, "build number" },
		{ "1234", true, "digits only" },
		{ "3f9a1c2d4e5b", true, "short commit" },
		{ "0123456789abcdef0123456789abcdef01234567", true, "SHA-1 commit" },
		{ "v1.4.2-rc_1", true, "version" },
		{ "2026", true, "a year is no generated time" },
		{ "20261207T0015Z", true, "shorter than a generated time" },
		{ "20261207t001500Z", true, "lowercase t: not the generated shape" },
		{ "20261207T001500Z", false, "a generated id" },
		{ "20261207T001500Z-b42", false, "a generated id with a label" },
		{ "20261207T001500Zx", false, "starts with a generated time" },
		{ "auto", false, "reserved" },
		{ "", false, "empty" },
		{ ".", false, "dot" },
		{ "..", false, "parent directory" },
		{ ".b42", false, "leading dot" },
		{ "-b42", false, "leading dash" },
		{ "a/b", false, "slash" },
		{ "b 42", false, "space" },
		{ "b42\n", false, "newline" },
	};
	char buf[128];

	check_table(release_id_given_valid, "release_id_given_valid", cases, ELEMENTSOF(cases));
	assert_false(release_id_given_valid(NULL));
	assert_true(release_id_given_valid(repeat(buf, 'i', RELEASE_ID_MAX)));
	assert_false(release_id_given_valid(repeat(buf, 'i', RELEASE_ID_MAX + 1)));
}

/* 2026-11-26 04:10:56 UTC */
#define T_SAMPLE INT64_C(1795666256)

static void test_release_id_format_attempts(void **state)
{
	char id[RELEASE_ID_MAX + 1];

	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 1, NULL), 0);
	assert_string_equal(id, "20261126T041056Z");
	assert_true(release_id_valid(id));

	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 2, NULL), 0);
	assert_string_equal(id, "20261126T041056Z-2");

	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 1, "v1.4.2"), 0);
	assert_string_equal(id, "20261126T041056Z-v1.4.2");

	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 3, "v1.4.2"), 0);
	assert_string_equal(id, "20261126T041056Z-3-v1.4.2");

	assert_int_equal(release_id_format(id, sizeof(id), 0, 1, NULL), 0);
	assert_string_equal(id, "19700101T000000Z");
}

static void test_release_id_format_errors(void **state)
{
	char id[RELEASE_ID_MAX + 1], label[LABEL_MAX + 1];

	strcpy(id, "untouched");
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 0, NULL), -EINVAL);
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 1, "bad label"), -EINVAL);
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 1, "../x"), -EINVAL);
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 1, ""), -EINVAL);

	/* The longest label fits with a small attempt number: 16 + 1 + 40. */
	memset(label, 'l', LABEL_MAX);
	label[LABEL_MAX] = '\0';
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 2, label), 0);
	assert_int_equal(strlen(id), 16 + 2 + 1 + LABEL_MAX);
	assert_true(release_id_valid(id));

	/* ... but not with a ten-digit attempt: 16 + 11 + 1 + 40 > 64. */
	assert_int_equal(release_id_format(id, sizeof(id), T_SAMPLE, 4000000000u, label),
			 -ENAMETOOLONG);

	/* A buffer too small for the id is an error, not a truncated id. */
	assert_int_equal(release_id_format(id, 16, T_SAMPLE, 1, NULL), -ENAMETOOLONG);
	assert_int_equal(release_id_format(id, 17, T_SAMPLE, 1, NULL), 0);
	assert_string_equal(id, "20261126T041056Z");
	assert_int_equal(release_id_format(id, 20, T_SAMPLE, 1, "v1.4.2"), -ENAMETOOLONG);
}

/* git+URL#REF parts: nothing git could read as an option or refspec syntax. */
static void test_git_source_parts(void **state)
{
	static const char *const good_refs[] = { "main", "v1.4.2", "release/2026-11", "0123456789abcdef0123456789abcdef01234567" };
	static const char *const bad_refs[] = { "", "-x", "--upload-pack=evil", "a:b", "+main", "^main", "ma*", "a b", "a\nb", "a~1" };
	static const char *const good_urls[] = { "https://git.example/app.git", "file:///srv/repo", "git@host:app.git" };
	static const char *const bad_urls[] = { "", "-oProxyCommand=x", "https://x/\n", "a\x7f" };

	for (size_t i = 0; i < sizeof(good_refs) / sizeof(good_refs[0]); i++)
		if (git_ref_problem(good_refs[i]))
			fail_msg("ref '%s' refused: %s", good_refs[i], git_ref_problem(good_refs[i]));
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++)
		if (!git_ref_problem(bad_refs[i]))
			fail_msg("ref '%s' accepted", bad_refs[i]);
	for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++)
		if (git_url_problem(good_urls[i]))
			fail_msg("url '%s' refused", good_urls[i]);
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
		if (!git_url_problem(bad_urls[i]))
			fail_msg("url '%s' accepted", bad_urls[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_source_parts),
		cmocka_unit_test(test_release_id_hostile),
		cmocka_unit_test(test_release_id_given),
		cmocka_unit_test(test_release_id_length),
		cmocka_unit_test(test_app_name),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_release_id_format_attempts),
		cmocka_unit_test(test_release_id_format_errors),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
