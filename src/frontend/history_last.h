/* SPDX-License-Identifier: MIT */
#ifndef CUTOVER_HISTORY_LAST_H
#define CUTOVER_HISTORY_LAST_H

#include "history.h"

/* Finds the newest parsable entry in the history file open at fd (the
 * helper hands the front end a read-only descriptor). Returns 1 if found,
 * 0 if the history is empty, -errno on error. */
int history_last(int fd, struct history_entry *ret);

#endif
