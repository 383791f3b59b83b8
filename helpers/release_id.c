/* SPDX-License-Identifier: MIT */
/* Release ids are made by the helper only; everyone else validates them
 * (src/common/names.c). */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "names.h"
#include "release.h"

int release_id_format(char *dst, size_t n, int64_t t, unsigned attempt,
		      const char *label)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char base[32], suffix[16] = "";
	int r;

	if (attempt == 0 || (label && !label_valid(label)))
		return -EINVAL;
	if (!gmtime_r(&tt, &tm))
		return -EINVAL;
	if (strftime(base, sizeof(base), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -EINVAL;
	if (attempt > 1)
		snprintf(suffix, sizeof(suffix), "-%u", attempt);
	r = snprintf(dst, n, "%s%s%s%s", base, suffix, label ? "-" : "",
		     label ? label : "");
	if (r < 0 || (size_t)r >= n)
		return -ENAMETOOLONG;
	if (!release_id_valid(dst))
		return -ENAMETOOLONG;
	return 0;
}
