/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for helpers/store.c (object names and garbage collection)
 * and helpers/manifest.c (the entries file's lines). Run as any user.
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
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "store.h"

static void test_object_name(void **state)
{
	unsigned char d[STORE_DIGEST_LEN], back[STORE_DIGEST_LEN];
	char name[STORE_NAME_MAX];
	mode_t mode = 0;

	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		d[i] = (unsigned char)(0xab + i);
	assert_int_equal(store_object_name(name, sizeof(name), d, 0440), 0);
	assert_int_equal(strlen(name), STORE_NAME_MAX - 1);
	assert_memory_equal(name, "ab/abacadae", 11);
	assert_string_equal(name + strlen(name) - 5, "-0440");
	assert_int_equal(store_object_parse(name, back, &mode), 0);
	assert_memory_equal(back, d, sizeof(d));
	assert_int_equal(mode, 0440);
	assert_int_equal(store_object_parse(name + 3, back, &mode), 0);
	assert_int_equal(store_object_name(name, sizeof(name), d, 0550), 0);
	assert_string_equal(name + strlen(name) - 5, "-0550");
	/* Only the two modes objects have; no truncated names. */
	assert_int_equal(store_object_name(name, sizeof(name), d, 0644), -EINVAL);
	assert_int_equal(store_object_name(name, 10, d, 0440), -ENAMETOOLONG);
	assert_int_equal(store_object_mode(0100644), 0440);
	assert_int_equal(store_object_mode(0100744), 0550);
	assert_int_equal(store_object_mode(0100601), 0550);
}

static void test_object_parse_rejects(void **state)
{
	unsigned char d[STORE_DIGEST_LEN];
	char good[STORE_NAME_MAX], bad[STORE_NAME_MAX];
	mode_t mode;

	memset(d, 0x11, sizeof(d));
	assert_int_equal(store_object_name(good, sizeof(good), d, 0440), 0);
	strcpy(bad, good);
	bad[1] = '2';   /* directory does not match the hash */
	assert_int_equal(store_object_parse(bad, d, &mode), -EINVAL);
	strcpy(bad, good);
	bad[10] = 'G';
	assert_int_equal(store_object_parse(bad, d, &mode), -EINVAL);
	strcpy(bad, good);
	strcpy(bad + strlen(bad) - 4, "0777");
	assert_int_equal(store_object_parse(bad, d, &mode), -EINVAL);
	assert_int_equal(store_object_parse("", d, &mode), -EINVAL);
	assert_int_equal(store_object_parse("../../etc/passwd", d, &mode), -EINVAL);
}

static void test_manifest_line(void **state)
{
	char esc[256], line[512];
	struct manifest_entry e;

	manifest_escape(esc, sizeof(esc), "a b\\c\nd");
	assert_string_equal(esc, "a\\x20b\\x5cc\\x0ad");
	snprintf(line, sizeof(line), "l 0777 0:33 %s %s", esc, "dir/with\\x20space");
	assert_int_equal(manifest_parse_line(line, &e), 0);
	assert_int_equal(e.type, 'l');
	assert_int_equal(e.mode, 0777);
	assert_int_equal(e.uid, 0);
	assert_int_equal(e.gid, 33);
	assert_string_equal(e.value, "a b\\c\nd");
	assert_string_equal(e.path, "dir/with space");
	strcpy(line, "x 0440 0:33 - a");
	assert_int_equal(manifest_parse_line(line, &e), -EBADMSG);
	strcpy(line, "f 0440 0:33 abc");
	assert_int_equal(manifest_parse_line(line, &e), -EBADMSG);
	strcpy(line, "f 0440 0:33 abc p\\x0");
	assert_int_equal(manifest_parse_line(line, &e), -EBADMSG);
	strcpy(line, "f 0440 0:33 abc p\\x00");
	assert_int_equal(manifest_parse_line(line, &e), -EBADMSG);
}

/* GC: an object only the store links goes; one a "release" links stays;
 * temporary files and empty directories go. */
static void test_gc(void **state)
{
	char dir[] = "/tmp/test_store.XXXXXX", p[256];
	uint64_t n = 0, bytes = 0;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/objects", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects/aa", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects/bb", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects/aa/garbage", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0440);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "12345", 5), 5);
	close(fd);
	snprintf(p, sizeof(p), "%s/objects/bb/kept", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0440);
	assert_true(fd >= 0);
	close(fd);
	char rel[256];
	snprintf(rel, sizeof(rel), "%s/release-file", dir);
	assert_int_equal(link(p, rel), 0);
	snprintf(p, sizeof(p), "%s/objects/.tmp-1-1", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);

	snprintf(p, sizeof(p), "%s/objects", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	/* Twice on one fd: the second walk must see the directory again. */
	assert_int_equal(store_gc(fd, &n, &bytes), 0);
	assert_int_equal(store_gc(fd, &n, &bytes), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/objects/aa", dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/objects/bb/kept", dir);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/objects/.tmp-1-1", dir);
	assert_int_equal(access(p, F_OK), -1);

	assert_int_equal(unlink(rel), 0);
	snprintf(p, sizeof(p), "%s/objects", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_int_equal(store_gc(fd, &n, &bytes), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/objects/bb", dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/objects", dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_name),
		cmocka_unit_test(test_object_parse_rejects),
		cmocka_unit_test(test_manifest_line),
		cmocka_unit_test(test_gc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
