/* SPDX-License-Identifier: MIT */
/*
 * Replays every saved fuzz input through its harness, so that a crash once
 * found by fuzz/run.sh (saved under fuzz/regress/HARNESS/) and the seed
 * corpora (fuzz/corpus/HARNESS/) keep running in `make unit`, without
 * clang or libFuzzer. The harness sources are compiled into this test with
 * FUZZ_REGRESS defined: the same code libFuzzer runs, minus its entry
 * point, and with invariant violations reported here instead of trapping.
 * A memory error still needs a sanitizer build to be seen reliably:
 * `make BUILD=build-asan SANITIZE=address,undefined unit`.
 *
 * The inputs are found under $CUTOVER_SOURCE_DIR, or else relative to this
 * file's path as compiled (the repository root when built by the Makefile
 * from the repository root).
 */
#define FUZZ_REGRESS 1

/* The harnesses, before cmocka.h, whose macros they should not meet. */
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_names.c"
#include "../fuzz/fuzz_proto.c"
#include "../fuzz/fuzz_member.c"
#include "../fuzz/fuzz_extract.c"
#include "../fuzz/fuzz_fpm_status.c"
#include "../fuzz/fuzz_fcgi.c"
#include "../fuzz/fuzz_migrate.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define THIS_FILE "tests/test_fuzz_regress.c"

static const char *current_input;
static unsigned violations;

void fuzz_violation(const char *file, int line, const char *expr)
{
	violations++;
	print_error("%s:%d: invariant violated: %s\n  input: %s\n", file, line, expr,
		    current_input ? current_input : "?");
}

/* The repository root: $CUTOVER_SOURCE_DIR, or this file's path without
 * its last two components ("." when compiled as a relative path). */
static void source_dir(char *dst, size_t n)
{
	const char *env = getenv("CUTOVER_SOURCE_DIR");
	const char *file = __FILE__;
	size_t len = strlen(file), tail = strlen(THIS_FILE);

	if (env && *env) {
		snprintf(dst, n, "%s", env);
		return;
	}
	if (len >= tail && strcmp(file + len - tail, THIS_FILE) == 0) {
		len -= tail;
		if (len == 0)
			snprintf(dst, n, ".");
		else
			snprintf(dst, n, "%.*s", (int)(len - 1), file);
		return;
	}
	snprintf(dst, n, ".");
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file into a fresh buffer; NULL with errno on failure. */
static uint8_t *read_input(const char *path, size_t *ret_size)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && off < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);

		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	*ret_size = off;
	return buf;
}

/*
 * Runs fn on every regular file in dir (sorted, so failures read the same
 * on every run). Returns the number of inputs run; adds the inputs that
 * violated an invariant to *failed. A missing directory runs nothing.
 */
static size_t replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t),
			 unsigned *failed)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0, run = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = realloc(names, cap * sizeof(*names));
			assert_non_null(names);
		}
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);

	for (size_t i = 0; i < n; i++) {
		uint8_t *data;
		size_t size = 0;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			fail_msg("%s/%s: path too long", dir, names[i]);
		data = read_input(path, &size);
		if (data) {
			current_input = path;
			violations = 0;
			(void)fn(data, size);
			if (violations > 0)
				(*failed)++;
			run++;
			free(data);
		}
		free(names[i]);
	}
	current_input = NULL;
	free(names);
	return run;
}

static void replay(const char *harness, int (*fn)(const uint8_t *, size_t))
{
	char root[PATH_MAX], dir[PATH_MAX];
	unsigned failed = 0;
	size_t seeds, regress;

	source_dir(root, sizeof(root));
	if (snprintf(dir, sizeof(dir), "%s/fuzz/corpus/%s", root, harness) >= (int)sizeof(dir))
		fail_msg("source directory %s: path too long", root);
	seeds = replay_dir(dir, fn, &failed);
	/* No seeds means the inputs were not found, not that all is well. */
	if (seeds == 0)
		fail_msg("no inputs in %s; run from the repository root or set CUTOVER_SOURCE_DIR",
			 dir);
	if (snprintf(dir, sizeof(dir), "%s/fuzz/regress/%s", root, harness) >= (int)sizeof(dir))
		fail_msg("source directory %s: path too long", root);
	regress = replay_dir(dir, fn, &failed);
	if (failed > 0)
		fail_msg("%s: %u of %zu inputs violated an invariant (see above)", harness,
			 failed, seeds + regress);
}

static void test_replay_config(void **state) { replay("config", fuzz_config); }
static void test_replay_names(void **state) { replay("names", fuzz_names); }
static void test_replay_proto(void **state) { replay("proto", fuzz_proto); }
static void test_replay_member(void **state) { replay("member", fuzz_member); }
static void test_replay_extract(void **state) { replay("extract", fuzz_extract); }
static void test_replay_fpm_status(void **state) { replay("fpm_status", fuzz_fpm_status); }
static void test_replay_fcgi(void **state) { replay("fcgi", fuzz_fcgi); }
static void test_replay_migrate(void **state) { replay("migrate", fuzz_migrate); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_config),
		cmocka_unit_test(test_replay_names),
		cmocka_unit_test(test_replay_proto),
		cmocka_unit_test(test_replay_member),
		cmocka_unit_test(test_replay_extract),
		cmocka_unit_test(test_replay_fpm_status),
		cmocka_unit_test(test_replay_fcgi),
		cmocka_unit_test(test_replay_migrate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
