/* SPDX-License-Identifier: MIT */
/* cutover history and cutover log: what the helper's records say. */
#ifndef CUTOVER_HISTORY_VIEW_H
#define CUTOVER_HISTORY_VIEW_H

#include "frontend.h"
#include "history.h"
#include "output.h"

/* The verbs: every attempt newest first (-n N of them), and a release's
 * build log. Exit codes as frontend_run. */
int history_view(struct frontend *fe);
int log_view(struct frontend *fe);

/* The newest failure, refusal, unhealthy release or automatic rollback in
 * the history open at fd. 1 if found, 0 if none, -errno. */
int history_view_last_failure(int fd, struct history_entry *ret);

/* One event as a JSON object, and as one line of text (escaped). */
void history_view_json(struct json *j, const struct history_entry *e);
void history_view_line(char *buf, size_t n, const struct history_entry *e);

#endif
