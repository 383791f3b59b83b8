/* SPDX-License-Identifier: MIT */
/* Unit tests: reading `php-fpm -tt` dumps, the process_control_timeout
 * warning, and judging health responses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health.h"
#include "reload.h"

/* As php-fpm 8.2 prints it (trimmed). */
static const char dump[] =
	"[26-Nov-2026 05:34:38] NOTICE: [global]\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tpid = /run/php/php8.2-fpm.pid\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tprocess_control_timeout = 10s\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tdaemonize = yes\n"
	"[26-Nov-2026 05:34:38] NOTICE:  \n"
	"[26-Nov-2026 05:34:38] NOTICE: [www]\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tpm = dynamic\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tprocess_control_timeout = 0s\n"
	"[26-Nov-2026 05:34:38] NOTICE: \trequest_terminate_timeout = 30s\n"
	"[26-Nov-2026 05:34:38] NOTICE:  \n"
	"[26-Nov-2026 05:34:38] NOTICE: [cron]\n"
	"[26-Nov-2026 05:34:38] NOTICE: \tpm = ondemand\n"
	"[26-Nov-2026 05:34:38] NOTICE: \trequest_terminate_timeout = 2m\n"
	"[26-Nov-2026 05:34:38] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful\n";

static void test_facts_parse(void **state)
{
	struct fpm_facts f;

	assert_int_equal(fpm_facts_parse(dump, strlen(dump), &f), 0);
	/* The [global] value counts, not the copy printed in a pool. */
	assert_int_equal(f.process_control_timeout, 10);
	assert_int_equal(f.pools, 2);
	assert_int_equal(f.ondemand_pools, 1);
	assert_int_equal(f.max_request_terminate, 120);
}

static void test_facts_parse_empty(void **state)
{
	struct fpm_facts f;

	assert_int_equal(fpm_facts_parse("", 0, &f), -EINVAL);
	assert_int_equal(fpm_facts_parse("garbage\nmore\n", 13, &f), -EINVAL);
}

static void test_warning(void **state)
{
	struct fpm_facts f = { .process_control_timeout = 0, .pools = 1 };
	char w[600];

	strcpy(f.config, "/etc/php/8.2/fpm/php-fpm.conf");
	fpm_facts_warning(&f, w, sizeof(w));
	assert_non_null(strstr(w, "process_control_timeout = 0"));
	assert_non_null(strstr(w, "add 'process_control_timeout = 10s' to its [global] section"));
	assert_non_null(strstr(w, "/etc/php/8.2/fpm/php-fpm.conf"));

	f.process_control_timeout = 10;
	f.max_request_terminate = 0;
	fpm_facts_warning(&f, w, sizeof(w));
	assert_string_equal(w, "");

	f.max_request_terminate = 30;
	fpm_facts_warning(&f, w, sizeof(w));
	assert_non_null(strstr(w, "shorter than request_terminate_timeout = 30s"));
	assert_non_null(strstr(w, "'process_control_timeout = 30s'"));
}

static void test_health_evaluate(void **state)
{
	struct health_config h = { .expect_status = 200 };
	char why[300];

	assert_int_equal(health_evaluate(&h, 200, "anything", 8, why, sizeof(why)), 0);
	assert_int_equal(health_evaluate(&h, 500, "OK", 2, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "returned 500 (expected 200)"));
	strcpy(h.expect_body, "OK");
	assert_int_equal(health_evaluate(&h, 200, "all OK here", 11, why, sizeof(why)), 0);
	assert_int_equal(health_evaluate(&h, 200, "fine", 4, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "without 'OK'"));
	/* The body is bytes: a NUL before the marker must not hide it. */
	assert_int_equal(health_evaluate(&h, 200, "x\0OK", 4, why, sizeof(why)), 0);
	assert_int_equal(health_evaluate(&h, 200, NULL, 0, why, sizeof(why)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_parse),
		cmocka_unit_test(test_facts_parse_empty),
		cmocka_unit_test(test_warning),
		cmocka_unit_test(test_health_evaluate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
