/* SPDX-License-Identifier: MIT */
/*
 * ROOT/.cutover/history.jsonl: one JSON object per line, appended by the
 * helper only. Two kinds of lines share the file:
 *
 *  - switches (a deploy or switch made `to` current, a rollback went back
 *    to it): event "deploy", "switch", "rollback" or "auto-rollback", or
 *    no event at all (lines written before events existed);
 *  - other attempts: event "failed", "refused" or "unhealthy", with "to"
 *    null (so older readers, which require a release in "to", skip them)
 *    and the release concerned, if any, in "release".
 *
 * The fields come in a fixed order, the validated ones (time, verb, event,
 * ids) first, free text (who, source, reason, client) escaped after them.
 * Fields a front end reported rather than the helper saw are marked with
 * "reported":true; "client" is the SSH client address the caller's
 * environment claimed, never verified.
 */
#ifndef CUTOVER_HISTORY_H
#define CUTOVER_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

#define HISTORY_REASON_MAX 255
#define HISTORY_LINE_MAX 2048

struct history_entry {
	char time[32];
	char verb[16];
	char event[16];                /* "" in lines older than events */
	char from[RELEASE_ID_MAX + 1];
	char to[RELEASE_ID_MAX + 1];
	char who[64];
	unsigned long long duration_ms;
	char source[256];
	char release[RELEASE_ID_MAX + 1];   /* the release a failure concerns */
	char reason[HISTORY_REASON_MAX + 1];
	char client[64];               /* claimed by the caller's environment */
	bool reported;                 /* by the front end, not seen by the helper */
};

/* Parses any well-formed history line (a flat JSON object of strings,
 * numbers, null and booleans; unknown keys ignored). Requires time and
 * verb; every id present must be a valid release id; a line without an
 * event must be a switch (a valid "to"). 0, or -EINVAL; *ret is written
 * only on success. */
int history_parse_event(const char *line, struct history_entry *ret);

/* Parses a switch line only (what rollback-to-previous and status read):
 * -EINVAL for anything else, including the other attempts. */
int history_parse_line(const char *line, struct history_entry *ret);

/* Did the line make e->to current? Did it go back (rollback)? */
bool history_entry_is_switch(const struct history_entry *e);
bool history_entry_is_rollback(const struct history_entry *e);

/* Only these event names are written. */
bool history_event_name_valid(const char *event);

/* Formats e as one line ending in '\n', fields in the fixed order, free
 * text escaped and cut at its field's size. Returns the length, or
 * -EINVAL when a validated field (verb, event, an id) is not valid. */
int history_format(char *buf, size_t n, const struct history_entry *e);

#endif
