/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the order of releases (helpers/release.c release_list):
 * newest first by the creation time in each release's state file, never
 * by the id, which a caller may choose (stage --id): "0004" staged after
 * "20261207T001500Z" is the newer, and a "b9" staged before "b10" the
 * older. Ties (the same nanosecond) fall back to the id, for a stable
 * order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "release.h"
#include "util.h"

struct fixture {
	char dir[64];
	struct layout l;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_release_order.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (int *p = &f->l.root_fd; p <= &f->l.entries_fd; p++)
		*p = -EBADF;
	f->l.state_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->l.state_fd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	layout_close(&f->l);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put(struct fixture *f, const char *id, enum release_state st, uint64_t created_s)
{
	struct release_info ri = { .state = st, .created_ns = created_s * 1000000000ull };

	str_copy(ri.id, sizeof(ri.id), id);
	assert_int_equal(state_write(&f->l, &ri), 0);
}

static void expect_order(struct fixture *f, const char *want)
{
	_cleanup_free_ struct release_info *v = NULL;
	char got[512] = "";
	size_t n = 0;

	assert_int_equal(release_list(&f->l, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, v[i].id);
	}
	assert_string_equal(got, want);
}

static void test_order_is_creation_time(void **state)
{
	struct fixture *f = *state;

	/* Created in this order: two generated ids, then the caller's. */
	put(f, "20261207T001500Z", RELEASE_FROZEN, 1000);
	put(f, "20261207T001600Z-rc", RELEASE_FROZEN, 1060);
	put(f, "0003", RELEASE_FROZEN, 1120);
	put(f, "b9", RELEASE_FROZEN, 1180);
	put(f, "b10", RELEASE_FAILED, 1240);
	put(f, "zz-oldest", RELEASE_FROZEN, 10);
	expect_order(f, "b10 b9 0003 20261207T001600Z-rc 20261207T001500Z zz-oldest");
}

static void test_order_ties_by_id(void **state)
{
	struct fixture *f = *state;

	put(f, "a", RELEASE_FROZEN, 5);
	put(f, "c", RELEASE_FROZEN, 5);
	put(f, "b", RELEASE_FROZEN, 5);
	expect_order(f, "c b a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_is_creation_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_ties_by_id, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
