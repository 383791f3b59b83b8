/* SPDX-License-Identifier: MIT */
/*
 * migrate_scan(), the destructive-migration guard, on arbitrary text as the
 * output of `php artisan migrate --pretend`. Three scans per input:
 *
 *   - the text in a buffer of exactly its length, no terminator: the
 *     function takes (text, len), so it may not read past len;
 *   - the text NUL-terminated, as the front end passes it, with a small
 *     findings array: findings are well-formed, the count is the total;
 *   - the same text followed by one more destructive statement of a
 *     migration of its own: the guard must find exactly one more, whatever
 *     came before (no earlier line may hide a later statement).
 */
#include "fuzz.h"

#include <stdio.h>

#include "migrate.h"

#define FZ_MIGRATE_MAX 4

static const char *const fz_migrate_kinds[] = {
	"SQLite table rebuild", "DROP TABLE", "DROP COLUMN", "RENAME TABLE",
	"RENAME COLUMN", "RENAME TO", "TRUNCATE", "MODIFY", "CHANGE COLUMN",
	"ALTER COLUMN ... TYPE", "a change --pretend cannot show",
};

static void fz_migrate_check(const struct migrate_finding *f, size_t n)
{
	for (size_t i = 0; i < n && i < FZ_MIGRATE_MAX; i++) {
		bool known = false;

		FUZZ_CHECK(fuzz_terminated(f[i].migration, sizeof(f[i].migration)));
		FUZZ_CHECK(fuzz_terminated(f[i].kind, sizeof(f[i].kind)));
		FUZZ_CHECK(fuzz_terminated(f[i].statement, sizeof(f[i].statement)));
		for (size_t k = 0; k < sizeof(fz_migrate_kinds) / sizeof(fz_migrate_kinds[0]); k++)
			known |= strcmp(f[i].kind, fz_migrate_kinds[k]) == 0;
		FUZZ_CHECK(known);
		/* The statement is shown to the user: escaped, one line. */
		FUZZ_CHECK(!strchr(f[i].statement, '\n') && !strchr(f[i].statement, '\033'));
	}
}

int fuzz_migrate(const uint8_t *data, size_t size)
{
	struct migrate_finding f[FZ_MIGRATE_MAX];
	size_t n_exact = 0, n = 0, n_probe = 0, plen;
	char *exact, *text, *probed, probe[80], name[32];
	unsigned k = 0;

	/* The front end captures at most 4 MiB; keep inputs small and fast. */
	if (size > 256 * 1024)
		return 0;
	/* The probe's migration must not share a name with one in the input
	 * (the guard reports a table rebuild once per migration). */
	do
		snprintf(name, sizeof(name), "CutoverProbe%u", k++);
	while (size && memmem(data, size, name, strlen(name)));
	plen = (size_t)snprintf(probe, sizeof(probe), "\n%s: drop table \"probe\"\n", name);
	exact = malloc(size ? size : 1);
	text = fuzz_strndup(data, size);
	probed = malloc(size + plen + 1);
	if (!exact || !text || !probed)
		goto out;

	if (size)
		memcpy(exact, data, size);
	memset(f, 0xa5, sizeof(f));
	FUZZ_CHECK(migrate_scan(exact, size, f, FZ_MIGRATE_MAX, &n_exact) == 0);

	memset(f, 0xa5, sizeof(f));
	FUZZ_CHECK(migrate_scan(text, size, f, FZ_MIGRATE_MAX, &n) == 0);
	fz_migrate_check(f, n);

	if (size)
		memcpy(probed, data, size);
	memcpy(probed + size, probe, plen + 1);
	FUZZ_CHECK(migrate_scan(probed, size + plen, f, FZ_MIGRATE_MAX, &n_probe) == 0);
	FUZZ_CHECK(n_probe == n + 1);
out:
	free(exact);
	free(text);
	free(probed);
	return 0;
}

FUZZ_ENTRY(fuzz_migrate)
