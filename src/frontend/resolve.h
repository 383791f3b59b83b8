/* SPDX-License-Identifier: MIT */
/*
 * switch and rollback take a release id, a unique prefix of one, or a
 * unique label: resolved here, in the front end, from the helper's list;
 * the helper still gets (and validates) a whole id.
 */
#ifndef CUTOVER_RESOLVE_H
#define CUTOVER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

/* Does release id match selector: the id itself, a prefix of it, or its
 * label (what follows the time and an optional "-N" attempt number)? 2
 * for the id itself, 1 for a prefix or the label, 0 for no match. */
int release_selector_match(const char *id, const char *selector);

/*
 * Picks the one id that selector names among ids[0..n): the id itself
 * first, else the only prefix or label match. Returns the index, -ENOENT
 * when nothing matches, -ENOTUNIQ when more than one
 * does (a one-line list of them in err).
 */
int release_select(const char *const *ids, size_t n, const char *selector, char *err, size_t errlen);

struct frontend;
/* Resolves fe->cli.release in place (release_buf). EXIT_OK (also when
 * nothing matches: the helper then says that the release does not exist),
 * or EXIT_USAGE after printing why (ambiguous). */
int frontend_resolve_release(struct frontend *fe);

#endif
