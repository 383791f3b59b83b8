/* SPDX-License-Identifier: MIT */
/* Reading ROOT/.cutover/history.jsonl (written by the helper) for status. */
#ifndef CUTOVER_HISTORY_H
#define CUTOVER_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

struct history_entry {
	char time[32];
	char verb[16];
	char from[RELEASE_ID_MAX + 1];
	char to[RELEASE_ID_MAX + 1];
	char who[64];
	unsigned long long duration_ms;
};

/* Parses one history line. 0, or -EINVAL if a required field is missing. */
int history_parse_line(const char *line, struct history_entry *ret);

#endif
