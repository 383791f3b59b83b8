/* SPDX-License-Identifier: MIT */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool app_name_valid(const char *s)
{
	size_t i;

	if (!s || !is_lower_alnum(s[0]))
		return false;
	for (i = 1; s[i]; i++) {
		if (i >= APP_NAME_MAX)
			return false;
		if (!is_lower_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

static bool id_chars_valid(const char *s, size_t max)
{
	size_t i;

	if (!s || !is_alnum(s[0]))
		return false;
	for (i = 1; s[i]; i++) {
		if (i >= max)
			return false;
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

bool release_id_valid(const char *s)
{
	/* The first character is alphanumeric, so "." and ".." cannot pass,
	 * and '/' is never allowed: an id is always one path component. */
	return id_chars_valid(s, RELEASE_ID_MAX);
}

bool label_valid(const char *s)
{
	return id_chars_valid(s, LABEL_MAX);
}

/* Does s start like a generated id, YYYYMMDDTHHMMSSZ (helpers/release_id.c)? */
static bool has_time_prefix(const char *s)
{
	static const char shape[] = "00000000T000000Z";

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == '0' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

bool release_id_given_valid(const char *s)
{
	return release_id_valid(s) && !has_time_prefix(s) && strcmp(s, "auto") != 0;
}

int name_map_slashes(const char *s, char *dst, size_t n)
{
	size_t len = strlen(s);

	if (len >= n)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= len; i++)
		dst[i] = s[i] == '/' ? '-' : s[i];
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

const char *git_ref_problem(const char *ref)
{
	if (!*ref)
		return "REF after '#' is empty";
	if (ref[0] == '-')
		return "REF starts with '-'";
	if (strlen(ref) > 255)
		return "REF is too long";
	for (const char *p = ref; *p; p++)
		if (!(is_alnum(*p) || *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return "REF may only contain letters, digits, '.', '_', '-' and '/'";
	return NULL;
}

const char *git_url_problem(const char *url)
{
	if (!*url)
		return "the URL is empty";
	if (url[0] == '-')
		return "the URL starts with '-'";
	if (has_control(url))
		return "the URL contains control characters";
	if (strlen(url) > 900)
		return "the URL is too long";
	return NULL;
}
