/* SPDX-License-Identifier: MIT */
#include "history.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "util.h"

/* Values of our own, fixed-format lines: "key":"value" or "key":123 or
 * "key":null. Strings with escapes are taken up to the first quote, which
 * is all we need for ids, verbs, users and times (none hold quotes). */
static bool field(const char *line, const char *key, char *out, size_t n)
{
	char pat[40];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (*p == '"') {
		p++;
		end = strchr(p, '"');
	} else {
		end = p + strcspn(p, ",}");
	}
	if (!end || (size_t)(end - p) >= n)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	if (strcmp(out, "null") == 0)
		out[0] = '\0';
	return true;
}

int history_parse_line(const char *line, struct history_entry *ret)
{
	struct history_entry e = { 0 };
	char num[32];
	unsigned long long v;

	if (!field(line, "time", e.time, sizeof(e.time)) ||
	    !field(line, "verb", e.verb, sizeof(e.verb)) ||
	    !field(line, "from", e.from, sizeof(e.from)) ||
	    !field(line, "to", e.to, sizeof(e.to)))
		return -EINVAL;
	if ((e.from[0] && !release_id_valid(e.from)) || !release_id_valid(e.to))
		return -EINVAL;
	(void)field(line, "who", e.who, sizeof(e.who));
	if (field(line, "duration_ms", num, sizeof(num)) && parse_uint(num, 0, UINT64_MAX, &v) == 0)
		e.duration_ms = v;
	*ret = e;
	return 0;
}
