/* SPDX-License-Identifier: MIT */
/*
 * Validation of every name that crosses a trust boundary: application
 * names, release ids, labels. These are the only strings from outside that
 * may become path components, so they are checked before any use, by the
 * front end and again by the helper.
 */
#ifndef CUTOVER_NAMES_H
#define CUTOVER_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APP_NAME_MAX 63        /* ^[a-z0-9][a-z0-9_-]{0,62}$ */
#define RELEASE_ID_MAX 64      /* ^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$ */
#define LABEL_MAX 40

/* Exact-match validators: NUL-terminated input, no length slack. */
bool app_name_valid(const char *s);
bool release_id_valid(const char *s);
/* A label is appended to a release id: [0-9A-Za-z._-]{1,40}, not starting
 * with '.' or '-'. */
bool label_valid(const char *s);

/*
 * An id given by the caller (stage/deploy --id, e.g. a CI build number or
 * a commit): a release id (one path component, never "." or "..") that can
 * never be one cutover makes itself, so the two never collide and nothing
 * that reads a generated id's time or label misreads it: it must not start
 * with a generated id's time, eight digits, 'T', six digits, 'Z'
 * (20261207T001500Z...), and "auto" is reserved. Ordering never comes
 * from the id: releases sort by the creation time in their state file.
 */
bool release_id_given_valid(const char *s);

/*
 * A branch name as a label (--label feature/x) or a label in a release
 * selector: each '/' becomes '-', everything else is copied unchanged, so
 * that label_valid() or release_id_valid() still decides (any other
 * character outside [0-9A-Za-z._-] is refused there, not mapped).
 * Returns 0, or -ENAMETOOLONG when the result does not fit in n.
 */
int name_map_slashes(const char *s, char *dst, size_t n);

/*
 * A git source's URL and REF (from --from git+URL#REF), checked the same
 * way by the front end and by the helper that runs the fetch. REF ends up
 * as a refspec: only the characters of ordinary branch, tag and commit
 * names, so nothing with a meaning in a refspec (":" "+" "^" "*") and no
 * leading '-' that git could read as an option. Returns NULL when valid,
 * else what is wrong.
 */
const char *git_url_problem(const char *url);
const char *git_ref_problem(const char *ref);

#endif
