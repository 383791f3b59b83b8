/* SPDX-License-Identifier: MIT */
/*
 * The name validators against reference models written from their
 * documented grammars (names.h), and release_id_format() on labels the
 * validator accepts. The input, up to its first NUL, is the name; a hash
 * of it picks the time, attempt number and buffer size for the formatter.
 */
#include "fuzz.h"

#include <errno.h>
#include <time.h>

#include "names.h"
#include "release.h"

#define FZ_ALNUM "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* 1000-01-01T00:00:00Z to 9999-12-31T23:59:59Z: four-digit years. */
#define FZ_T_MIN (-30610224000LL)
#define FZ_T_MAX 253402300799LL

static bool fz_in(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* first char in first, the rest in rest, length 1..max. */
static bool fz_match(const char *s, const char *first, const char *rest, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && fz_in(s[0], first) && strspn(s + 1, rest) == n - 1;
}

static bool fz_app_model(const char *s)
{
	return fz_match(s, "abcdefghijklmnopqrstuvwxyz0123456789",
			"abcdefghijklmnopqrstuvwxyz0123456789_-", APP_NAME_MAX);
}

static bool fz_id_model(const char *s)
{
	return fz_match(s, FZ_ALNUM, FZ_ALNUM "._-", RELEASE_ID_MAX);
}

/* names.h says "not starting with '.' or '-'"; the code also refuses a
 * leading '_' (same rule as a release id), which is stricter and fine. */
static bool fz_label_model(const char *s)
{
	return fz_match(s, FZ_ALNUM, FZ_ALNUM "._-", LABEL_MAX);
}

static bool fz_ref_model(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 255 && s[0] != '-' && strspn(s, FZ_ALNUM "._-/") == n;
}

static bool fz_url_model(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 900 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

static uint64_t fz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static size_t fz_digits(unsigned v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* What release_id_format must do for (t, attempt, label) into n bytes. */
static void fz_check_format(int64_t t, unsigned attempt, const char *label, size_t n)
{
	char *dst = malloc(n ? n : 1);   /* exact size: ASan sees an overflow */
	size_t want;
	int r;

	if (!dst)
		return;
	r = release_id_format(dst, n, t, attempt, label);
	if (attempt == 0 || (label && !label_valid(label))) {
		FUZZ_CHECK(r == -EINVAL);
		free(dst);
		return;
	}
	want = 16 + (attempt > 1 ? 1 + fz_digits(attempt) : 0) +
	       (label ? 1 + strlen(label) : 0);
	if (want < n && want <= RELEASE_ID_MAX)
		FUZZ_CHECK(r == 0);
	else
		FUZZ_CHECK(r == -ENAMETOOLONG);
	if (r == 0) {
		struct tm tm = { 0 };
		char expect[RELEASE_ID_MAX + 1];
		time_t tt = (time_t)t;

		FUZZ_CHECK(strlen(dst) == want);
		FUZZ_CHECK(release_id_valid(dst));
		FUZZ_CHECK(!strchr(dst, '/'));
		/* The id spells the time it was given: parse it back. */
		gmtime_r(&tt, &tm);
		snprintf(expect, sizeof(expect), "%04d%02d%02dT%02d%02d%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
		FUZZ_CHECK(strncmp(dst, expect, 16) == 0);
		if (label)
			FUZZ_CHECK(strlen(dst) > strlen(label) &&
				   strcmp(dst + strlen(dst) - strlen(label), label) == 0 &&
				   dst[strlen(dst) - strlen(label) - 1] == '-');
	}
	free(dst);
}

int fuzz_names(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	uint64_t h = fz_hash(data, size);
	bool app, id, label;
	int64_t t;
	unsigned attempt;
	size_t n;

	if (!s)
		return 0;
	app = app_name_valid(s);
	id = release_id_valid(s);
	label = label_valid(s);

	FUZZ_CHECK(app == fz_app_model(s));
	FUZZ_CHECK(id == fz_id_model(s));
	FUZZ_CHECK(label == fz_label_model(s));
	if (id) {
		/* An id is one path component, never a way out of releases/. */
		FUZZ_CHECK(strlen(s) <= RELEASE_ID_MAX);
		FUZZ_CHECK(!strchr(s, '/'));
		FUZZ_CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
		FUZZ_CHECK(s[0] != '-' && s[0] != '.');
	}
	if (app)
		FUZZ_CHECK(id);
	if (label)
		FUZZ_CHECK(id);

	FUZZ_CHECK((git_ref_problem(s) == NULL) == fz_ref_model(s));
	FUZZ_CHECK((git_url_problem(s) == NULL) == fz_url_model(s));

	t = FZ_T_MIN + (int64_t)(h % (uint64_t)(FZ_T_MAX - FZ_T_MIN + 1));
	attempt = (h >> 56) % 4 == 0 ? (unsigned)(h >> 24) : 1 + (unsigned)((h >> 32) % 20);
	n = (h >> 48) % 8 == 0 ? (size_t)((h >> 40) % 80) : RELEASE_ID_MAX + 1;
	fz_check_format(t, attempt, label ? s : NULL, n);
	/* A valid label always fits at the full size with a small attempt. */
	if (label) {
		fz_check_format(t, 1, s, RELEASE_ID_MAX + 1);
		fz_check_format(t, 99, s, RELEASE_ID_MAX + 1);
	} else if (s[0]) {
		fz_check_format(t, 1, s, RELEASE_ID_MAX + 1);   /* -EINVAL */
	}
	free(s);
	return 0;
}

FUZZ_ENTRY(fuzz_names)
