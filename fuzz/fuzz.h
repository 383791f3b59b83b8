/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses and by tests/test_fuzz_regress.c.
 *
 * Each fuzz/fuzz_X.c defines `int fuzz_X(const uint8_t *, size_t)`, the
 * whole harness, and (unless FUZZ_REGRESS is defined) the libFuzzer entry
 * point that calls it. The regression test defines FUZZ_REGRESS, includes
 * every harness source and replays fuzz/corpus/ and fuzz/regress/ through
 * the same functions, so a saved crash input keeps running in `make unit`
 * without clang.
 *
 * FUZZ_CHECK states an invariant of the code under test. Under libFuzzer a
 * violation prints the expression and traps, which libFuzzer reports as a
 * crash and saves the input. Under FUZZ_REGRESS it calls
 * fuzz_violation(), which the test records and turns into a failure after
 * the harness has returned (and cleaned up after itself).
 */
#ifndef CUTOVER_FUZZ_H
#define CUTOVER_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fuzz_config(const uint8_t *data, size_t size);
int fuzz_names(const uint8_t *data, size_t size);
int fuzz_proto(const uint8_t *data, size_t size);
int fuzz_dispatch(const uint8_t *data, size_t size);
int fuzz_member(const uint8_t *data, size_t size);
int fuzz_extract(const uint8_t *data, size_t size);
int fuzz_fpm_status(const uint8_t *data, size_t size);
int fuzz_fcgi(const uint8_t *data, size_t size);
int fuzz_migrate(const uint8_t *data, size_t size);

#ifdef FUZZ_REGRESS
void fuzz_violation(const char *file, int line, const char *expr);
#define FUZZ_CHECK(cond) do { \
		if (!(cond)) \
			fuzz_violation(__FILE__, __LINE__, #cond); \
	} while (0)
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define FUZZ_CHECK(cond) do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", \
				__FILE__, __LINE__, #cond); \
			__builtin_trap(); \
		} \
	} while (0)
#endif

/* Defines the libFuzzer entry point for harness function fn. */
#ifdef FUZZ_REGRESS
#define FUZZ_ENTRY(fn)
#else
#define FUZZ_ENTRY(fn) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) \
	{ \
		(void)fn(data, size); \
		return 0; \
	}
#endif

/* A NUL-terminated copy of size bytes (embedded NULs kept); NULL on ENOMEM. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return NULL;
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* True if the n-byte array holds a NUL: a C string that ends inside it. */
static inline bool fuzz_terminated(const char *a, size_t n)
{
	return memchr(a, '\0', n) != NULL;
}

/* True if some '/'-separated component of s is exactly comp. */
static inline bool fuzz_has_component(const char *s, const char *comp)
{
	size_t clen = strlen(comp);

	for (const char *p = s; ; ) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == clen && memcmp(p, comp, clen) == 0)
			return true;
		if (!slash)
			return false;
		p = slash + 1;
	}
}

/*
 * Resolves symlink target lexically from the directory of the member at
 * path (both relative to the release root, path already free of "." and
 * ".." components) and returns true if the result stays inside the root.
 * This is the reference model the member and extract harnesses hold the
 * production check to: a stack of components, ".." pops, "." and empty
 * components do nothing, and popping past the root escapes. It knows
 * nothing about symlinks met on the way; the extract harness asks the
 * kernel (openat2 RESOLVE_BENEATH) for that.
 */
static inline bool fuzz_symlink_stays_inside(const char *path, const char *target)
{
	size_t depth = 0;

	if (target[0] == '/')
		return false;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			depth++;
	for (const char *p = target; ; ) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				return false;
			depth--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			depth++;
		}
		if (!slash)
			return true;
		p = slash + 1;
	}
}

#endif
