/* SPDX-License-Identifier: MIT */
/* The names of reload = swap's slots (src/common/fpm_slot.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fpm_slot.h"

static void test_instance(void **state)
{
	char app[APP_NAME_MAX + 1];
	char slot = 0;

	(void)state;
	assert_int_equal(fpm_slot_parse_instance("shop:a", app, &slot), 0);
	assert_string_equal(app, "shop");
	assert_int_equal(slot, 'a');
	assert_int_equal(fpm_slot_parse_instance("my-app_2:b", app, &slot), 0);
	assert_string_equal(app, "my-app_2");
	assert_int_equal(slot, 'b');
	static const char *const bad[] = {
		"shop", "shop:", "shop:c", "shop:ab", ":a", "Shop:a", "../x:a", "sh/op:a", "shop:a\n",
		"a:b:a", "shop :a", "",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:a",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slot = 0;
		if (fpm_slot_parse_instance(bad[i], app, &slot) != -EINVAL)
			fail_msg("instance '%s' was accepted", bad[i]);
		assert_int_equal(slot, 0);
	}
	assert_int_equal(fpm_slot_parse_instance(NULL, app, &slot), -EINVAL);
}

static void test_paths(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(fpm_slot_path(buf, sizeof(buf), "shop", 'b', FPM_SLOT_SOCK), 0);
	assert_string_equal(buf, "/run/cutover/fpm/shop.b/fpm.sock");
	assert_int_equal(fpm_slot_path(buf, sizeof(buf), "shop", 'a', NULL), 0);
	assert_string_equal(buf, "/run/cutover/fpm/shop.a");
	assert_int_equal(fpm_slot_dir_name(buf, sizeof(buf), "shop", 'b'), 0);
	assert_string_equal(buf, "shop.b");
	assert_int_equal(fpm_slot_unit(buf, sizeof(buf), "shop", 'a'), 0);
	assert_string_equal(buf, "cutover-fpm@shop:a.service");
	assert_int_equal(fpm_slot_name(buf, sizeof(buf), "shop", 'b'), 0);
	assert_string_equal(buf, "shop:b");
	assert_int_equal(fpm_slot_unit(buf, sizeof(buf), "shop", 'c'), -EINVAL);
	assert_int_equal(fpm_slot_path(buf, sizeof(buf), "../etc", 'a', NULL), -EINVAL);
	assert_int_equal(fpm_slot_other('a'), 'b');
	assert_int_equal(fpm_slot_other('b'), 'a');
	/* The longest app name still fits a unix socket address. */
	char app[APP_NAME_MAX + 1];
	memset(app, 'a', APP_NAME_MAX);
	app[APP_NAME_MAX] = '\0';
	assert_int_equal(fpm_slot_path(buf, sizeof(buf), app, 'a', FPM_SLOT_SOCK), 0);
	assert_true(strlen(buf) < 108);
}

static void test_binary_configured(void **state)
{
	struct fpm_config f;
	char buf[256];

	(void)state;
	memset(&f, 0, sizeof(f));
	strcpy(f.binary, "/opt/php/sbin/php-fpm");
	assert_int_equal(fpm_slot_binary(&f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/opt/php/sbin/php-fpm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_binary_configured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
