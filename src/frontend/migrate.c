/* SPDX-License-Identifier: MIT */
#include "migrate.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* A longer statement is not vetted but refused. */
#define MIGRATE_LINE_MAX 65536

/* Patterns over the statement upper-cased, quotes removed and white space
 * folded, with a space added at both ends so " X " matches whole words. */
static const struct {
	const char *pattern;
	const char *kind;
} destructive[] = {
	{ " CREATE TEMPORARY TABLE __TEMP__", "SQLite table rebuild" },
	{ " DROP TABLE ", "DROP TABLE" },
	{ " DROP COLUMN ", "DROP COLUMN" },
	{ " RENAME TABLE ", "RENAME TABLE" },
	{ " RENAME COLUMN ", "RENAME COLUMN" },
	{ " RENAME TO ", "RENAME TO" },
	{ " TRUNCATE ", "TRUNCATE" },
	{ " MODIFY ", "MODIFY" },
	{ " CHANGE COLUMN ", "CHANGE COLUMN" },
};

/* Bytes from s before the first of reject or end (strcspn bounded). */
static size_t span_until(const char *s, const char *end, const char *reject)
{
	const char *p = s;

	while (p < end && !strchr(reject, *p))
		p++;
	return (size_t)(p - s);
}

static void normalise(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	bool space = true;

	if (n < 3)
		return;
	out[o++] = ' ';
	for (size_t i = 0; i < len && o < n - 2; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '`' || c == '[' || c == ']')
			continue;
		/* A NUL must not end the scan early (strstr would stop at it). */
		if (c == '\0' || isspace(c) || c == '(' || c == ')' || c == ',' || c == ';') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		out[o++] = (char)toupper(c);
		space = false;
	}
	if (!space)
		out[o++] = ' ';
	out[o] = '\0';
}

/* "ALTER TABLE t ALTER COLUMN c TYPE ..." (PostgreSQL), and MySQL's
 * "ALTER TABLE t CHANGE old new ...": a type or name change in place. */
static const char *special(const char *up)
{
	const char *p = strstr(up, " ALTER COLUMN ");

	if (p && strstr(p, " TYPE "))
		return "ALTER COLUMN ... TYPE";
	if (strncmp(up, " ALTER TABLE ", 13) == 0 && strstr(up, " CHANGE ") && !strstr(up, " CHANGE COLUMN "))
		return "CHANGE COLUMN";
	/* MySQL's "alter table t drop col" has no COLUMN keyword: any DROP in
	 * an ALTER TABLE that does not drop an index or constraint. */
	if (strncmp(up, " ALTER TABLE ", 13) == 0) {
		static const char *const harmless[] = {
			"INDEX ", "KEY ", "FOREIGN ", "PRIMARY ", "UNIQUE ", "CONSTRAINT ",
			"CHECK ", "DEFAULT ", "NOT ", "IDENTITY ",
		};
		for (const char *d = strstr(up, " DROP "); d; d = strstr(d + 1, " DROP ")) {
			bool ok = false;
			for (size_t i = 0; i < ELEMENTSOF(harmless); i++)
				ok |= strncmp(d + 6, harmless[i], strlen(harmless[i])) == 0;
			if (!ok)
				return "DROP COLUMN";
		}
	}
	return NULL;
}

/* A line holding only a migration's name (Laravel 9+ prints it, then its
 * statements): 2026_01_01_000000_create_notes_table, maybe dots and a
 * time after it, but no "name: statement" colon. */
static bool is_migration_name(const char *s, size_t len)
{
	size_t n;

	if (len < 18)
		return false;
	for (size_t i = 0; i < 17; i++) {
		bool digit = i != 4 && i != 7 && i != 10;
		if (digit ? !isdigit((unsigned char)s[i]) : s[i] != '_')
			return false;
	}
	if (s[17] != '_')
		return false;
	n = span_until(s, s + len, " .:");
	return n >= len || s[n] != ':';
}

int migrate_scan(const char *text, size_t len, struct migrate_finding *ret, size_t max,
		 size_t *ret_n)
{
	char current[128] = "";
	size_t found = 0;

	for (const char *p = text, *end = text + len; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *line_end = nl ? nl : end, *sql, *colon;
		char up[MIGRATE_LINE_MAX + 8], migration[128];
		const char *kind = NULL;

		p = nl ? nl + 1 : end;
		while (line < line_end && isspace((unsigned char)*line))
			line++;
		while (line_end > line && isspace((unsigned char)line_end[-1]))
			line_end--;
		if (line == line_end)
			continue;
		if (is_migration_name(line, (size_t)(line_end - line))) {
			/* Laravel 9+: the migration's name on a line of its own
			 * (followed by dots and a time), its SQL below. */
			size_t n = span_until(line, line_end, " .");
			snprintf(current, sizeof(current), "%.*s", (int)n, line);
			continue;
		}
		/* Laravel 8: "ClassName: statement". */
		sql = line;
		snprintf(migration, sizeof(migration), "%s", current);
		colon = memchr(line, ':', (size_t)(line_end - line));
		if (colon && colon + 1 < line_end && colon[1] == ' ') {
			bool name = colon > line;
			for (const char *q = line; q < colon; q++)
				name &= isalnum((unsigned char)*q) || *q == '_' || *q == '\\';
			if (name) {
				snprintf(migration, sizeof(migration), "%.*s", (int)(colon - line), line);
				sql = colon + 2;
			}
		}
		if ((size_t)(line_end - sql) > MIGRATE_LINE_MAX)
			kind = "a statement too long to vet";
		normalise(sql, (size_t)(line_end - sql), up, sizeof(up));
		/* Laravel prints this, and exits 0, where it cannot show the SQL of
		 * a Doctrine column change: a change we cannot vet is refused. */
		if (!kind && strstr(up, " FAILED TO DUMP QUERIES")) {
			const char *base = NULL;

			kind = "a change --pretend cannot show";
			/* Name it by its file: "…/2026_03_01_x.php:10$95: failed…". */
			for (const char *q = line; q < line_end; q++)
				if (*q == '/')
					base = q + 1;
			if (base) {
				size_t bl = span_until(base, line_end, ".:");
				snprintf(migration, sizeof(migration), "%.*s",
					 (int)(bl < sizeof(migration) - 1 ? bl : sizeof(migration) - 1), base);
			}
		}
		for (size_t i = 0; i < ELEMENTSOF(destructive) && !kind; i++)
			if (strstr(up, destructive[i].pattern))
				kind = destructive[i].kind;
		if (!kind)
			kind = special(up);
		if (!kind)
			continue;
		/* A rebuild drops and renames its temporary table too: report
		 * the rebuild once per migration, not each of its statements. */
		if (found > 0 && found <= max && strcmp(ret[found - 1].migration, migration) == 0 &&
		    strcmp(ret[found - 1].kind, "SQLite table rebuild") == 0 &&
		    (strcmp(kind, "DROP TABLE") == 0 || strcmp(kind, "RENAME TO") == 0))
			continue;
		if (found < max) {
			struct migrate_finding *f = &ret[found];
			snprintf(f->migration, sizeof(f->migration), "%s", migration);
			snprintf(f->kind, sizeof(f->kind), "%s", kind);
			str_escape(f->statement, sizeof(f->statement), sql, (size_t)(line_end - sql));
		}
		found++;
	}
	*ret_n = found;
	return 0;
}
