/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mode = bind: the kernel version gate (Linux 6.5 brought
 * MOVE_MOUNT_BENEATH; the tests cannot change the running kernel, so the
 * comparison is tested on release strings), the validation of live and
 * its companions in src/common/config.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "util.h"

#define APP_BIND "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\nmode = bind\n"

static int parse(struct config *c, const char *text, char *err, size_t errlen)
{
	config_init(c);
	err[0] = '\0';
	return config_parse_string(c, text, err, errlen);
}

/* ---- the kernel gate ------------------------------------------------ */

static void test_kernel_release_at_least(void **state)
{
	static const struct {
		const char *release;
		bool ok;
	} cases[] = {
		{ "6.5.0", true },
		{ "6.5", true },
		{ "6.5.0-21-amd64", true },
		{ "6.6.13+bpo-amd64", true },
		{ "6.18.44-fc-v769", true },
		{ "6.10.0", true },            /* 10 > 5 as numbers, not as text */
		{ "7.0.0", true },
		{ "10.1", true },
		{ "6.4.16", false },
		{ "6.4.0-99-generic", false },
		{ "6.1.0-28-amd64", false },   /* Debian 12's own kernel */
		{ "5.15.0-91-generic", false },
		{ "5.19.17", false },
		{ "4.19.0", false },
		{ "6", false },
		{ "6.", false },
		{ "6.x", false },
		{ "", false },
		{ "v6.5", false },
		{ "-6.5", false },
		{ "99999999999999999999999.1", false },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		if (kernel_release_at_least(cases[i].release, 6, 5) != cases[i].ok)
			fail_msg("kernel_release_at_least('%s', 6, 5) should be %s", cases[i].release,
				 cases[i].ok ? "true" : "false");
	}
	assert_false(kernel_release_at_least(NULL, 6, 5));
	assert_true(kernel_release_at_least("6.5.0", 6, 0));
	assert_false(kernel_release_at_least("5.99", 6, 0));
}

static void test_check_kernel(void **state)
{
	struct config c;
	char err[512];

	assert_int_equal(parse(&c, APP_BIND "live = /srv/shop/live\n", err, sizeof(err)), 0);
	assert_int_equal(config_check_kernel(&c, "6.5.0-1-amd64", err, sizeof(err)), 0);
	assert_int_equal(config_check_kernel(&c, "6.18.44-fc-v769", err, sizeof(err)), 0);
	assert_int_equal(config_check_kernel(&c, "6.1.0-28-amd64", err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "mode = bind needs Linux 6.5 or later"));
	assert_non_null(strstr(err, "6.1.0-28-amd64"));
	assert_non_null(strstr(err, "MOVE_MOUNT_BENEATH"));
	config_free(&c);

	/* symlink mode runs anywhere */
	assert_int_equal(parse(&c, "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n",
			       err, sizeof(err)), 0);
	assert_int_equal(config_check_kernel(&c, "4.19.0", err, sizeof(err)), 0);
	config_free(&c);
}

/* ---- live ----------------------------------------------------------- */

static void test_live_valid(void **state)
{
	struct config c;
	char err[512];

	assert_int_equal(parse(&c, APP_BIND "live = /srv/shop/live\n", err, sizeof(err)), 0);
	assert_int_equal(c.mode, PUBLISH_BIND);
	assert_string_equal(c.live, "/srv/shop/live");
	config_free(&c);

	/* live may come before root, and reload may be anything but none */
	assert_int_equal(parse(&c, "[app]\nlive = /srv/shop/www\nmode = bind\nroot = /srv/shop\nuser = nobody\n"
			       "group = nogroup\nweb_group = www-data\n[fpm]\npid_file = /run/php/fpm.pid\nreload = graceful\n",
			       err, sizeof(err)), 0);
	assert_string_equal(c.live, "/srv/shop/www");
	config_free(&c);
	assert_int_equal(parse(&c, APP_BIND "live = /srv/shop/live\n[fpm]\nsocket = /run/php/fpm.sock\nreload = opcache-reset\n",
			       err, sizeof(err)), 0);
	config_free(&c);
}

static void test_live_refused(void **state)
{
	static const struct {
		const char *what, *text, *reason;
	} cases[] = {
		{ "bind without live", APP_BIND, "mode = bind needs live" },
		{ "live without bind",
		  "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\nlive = /srv/shop/live\n",
		  "live is only used with mode = bind" },
		{ "relative", APP_BIND "live = live\n", "live = 'live' must be an absolute path" },
		{ "trailing slash", APP_BIND "live = /srv/shop/live/\n", "must be an absolute path" },
		{ "dot dot", APP_BIND "live = /srv/shop/../etc\n", "must be an absolute path" },
		{ "double slash", APP_BIND "live = /srv/shop//live\n", "must be an absolute path" },
		{ "root itself", APP_BIND "live = /srv/shop\n", "must be directly inside root" },
		{ "outside root", APP_BIND "live = /var/www/live\n", "must be directly inside root" },
		{ "sibling prefix", APP_BIND "live = /srv/shoplive\n", "must be directly inside root" },
		{ "prefix sibling child", APP_BIND "live = /srv/shop2/live\n", "must be directly inside root" },
		{ "two levels down", APP_BIND "live = /srv/shop/www/live\n", "must be directly inside root" },
		{ "parent of root", APP_BIND "live = /srv\n", "must be directly inside root" },
		{ "releases", APP_BIND "live = /srv/shop/releases\n", "a name cutover uses itself" },
		{ "shared", APP_BIND "live = /srv/shop/shared\n", "a name cutover uses itself" },
		{ "current", APP_BIND "live = /srv/shop/current\n", "a name cutover uses itself" },
		{ ".cutover", APP_BIND "live = /srv/shop/.cutover\n", "a name cutover uses itself" },
		{ "reload none", APP_BIND "live = /srv/shop/live\n[fpm]\nreload = none\n",
		  "reload = none cannot be used with mode = bind" },
		{ "twice", APP_BIND "live = /srv/shop/live\nlive = /srv/shop/www\n", "live is set twice" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct config c;
		char err[512];
		int r = parse(&c, cases[i].text, err, sizeof(err));

		config_free(&c);
		if (r != -EINVAL)
			fail_msg("%s: config_parse_string returned %d, want -EINVAL (err '%s')", cases[i].what, r, err);
		if (strncmp(err, "config:", 7) != 0 || !strstr(err, cases[i].reason))
			fail_msg("%s: error '%s' does not say '%s'", cases[i].what, err, cases[i].reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_release_at_least),
		cmocka_unit_test(test_check_kernel),
		cmocka_unit_test(test_live_valid),
		cmocka_unit_test(test_live_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
