/* SPDX-License-Identifier: MIT */
/*
 * The destructive-migration guard: reads what `php artisan migrate
 * --pretend` prints (the SQL the migrations would run) and finds the
 * statements that can lose data or break the code still running: dropping
 * or renaming tables and columns, changing a column's type, truncating, and
 * SQLite's table rebuilds (how Laravel changes or renames a column there).
 * Pure text processing, no I/O.
 */
#ifndef CUTOVER_MIGRATE_H
#define CUTOVER_MIGRATE_H

#include <stddef.h>

struct migrate_finding {
	char migration[128];    /* the migration that runs it, or "" if not named */
	char kind[40];          /* "DROP COLUMN", "SQLite table rebuild", ... */
	char statement[240];    /* the statement, escaped and shortened */
};

/*
 * Scans pretend output. Understands Laravel 8's "Migration: sql" lines and
 * the later format (a migration name line, then indented SQL). Writes up to
 * max findings; *ret_n is the total found. Returns 0.
 */
int migrate_scan(const char *text, size_t len, struct migrate_finding *ret, size_t max,
		 size_t *ret_n);

#endif
