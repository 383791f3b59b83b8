/* SPDX-License-Identifier: MIT */
/* Unit tests: the destructive-migration scanner on pretend output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "migrate.h"

static size_t scan(const char *text, struct migrate_finding *f, size_t max)
{
	size_t n = 99;

	assert_int_equal(migrate_scan(text, strlen(text), f, max, &n), 0);
	return n;
}

static void test_additive_passes(void **state)
{
	struct migrate_finding f[4];
	static const char text[] =
		"CreateNotesTable: create table \"notes\" (\"id\" integer not null primary key autoincrement, \"body\" text not null)\n"
		"AddAuthorToNotes: alter table \"notes\" add column \"author\" varchar\n"
		"AddIndex: create index \"notes_author_index\" on \"notes\" (\"author\")\n"
		"Nothing to migrate.\n";

	assert_int_equal(scan(text, f, 4), 0);
}

static void test_each_kind(void **state)
{
	static const struct {
		const char *line;
		const char *kind;
		const char *migration;
	} cases[] = {
		{ "DropAuthor: alter table \"notes\" drop column \"author\"", "DROP COLUMN", "DropAuthor" },
		{ "DropNotes: drop table \"notes\"", "DROP TABLE", "DropNotes" },
		{ "X: DROP TABLE IF EXISTS `notes`", "DROP TABLE", "X" },
		{ "RenameBody: alter table \"notes\" rename column \"body\" to \"text\"", "RENAME COLUMN", "RenameBody" },
		{ "RenameNotes: alter table \"notes\" rename to \"memos\"", "RENAME TO", "RenameNotes" },
		{ "RenameNotes: rename table `notes` to `memos`", "RENAME TABLE", "RenameNotes" },
		{ "PgType: alter table \"notes\" alter column \"body\" type varchar(50)", "ALTER COLUMN ... TYPE", "PgType" },
		{ "MyModify: alter table `notes` modify `body` varchar(50) not null", "MODIFY", "MyModify" },
		{ "MyChange: alter table `notes` change `body` `text` varchar(255)", "CHANGE COLUMN", "MyChange" },
		{ "MyChange2: ALTER TABLE notes CHANGE COLUMN body text VARCHAR(255)", "CHANGE COLUMN", "MyChange2" },
		{ "Wipe: truncate table \"notes\"", "TRUNCATE", "Wipe" },
		{ "MyDrop: alter table `notes` drop `author`", "DROP COLUMN", "MyDrop" },
		{ "MyDrop2: alter table `notes` drop `a`, drop `b`", "DROP COLUMN", "MyDrop2" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct migrate_finding f[2];
		size_t n = scan(cases[i].line, f, 2);

		if (n != 1)
			fail_msg("'%s': %zu findings", cases[i].line, n);
		assert_string_equal(f[0].kind, cases[i].kind);
		assert_string_equal(f[0].migration, cases[i].migration);
	}
}

/* How Laravel 8 + doctrine/dbal changes a column on SQLite: one finding
 * for the whole rebuild, naming the migration. */
static void test_sqlite_rebuild_once(void **state)
{
	struct migrate_finding f[8];
	static const char text[] =
		"ChangeBody: CREATE TEMPORARY TABLE __temp__notes AS SELECT id, body, created_at, updated_at FROM notes\n"
		"ChangeBody: DROP TABLE notes\n"
		"ChangeBody: CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, body VARCHAR(50) NOT NULL)\n"
		"ChangeBody: INSERT INTO notes (id, body) SELECT id, body FROM __temp__notes\n"
		"ChangeBody: DROP TABLE __temp__notes\n";

	assert_int_equal(scan(text, f, 8), 1);
	assert_string_equal(f[0].kind, "SQLite table rebuild");
	assert_string_equal(f[0].migration, "ChangeBody");
	assert_non_null(strstr(f[0].statement, "__temp__notes"));
}

/* Captured from Laravel 8.83 + doctrine/dbal 3.6 on SQLite (examples/laravel/README.md):
 * file-named migrations, upper-case unquoted rebuild statements. */
static void test_laravel8_sqlite_capture(void **state)
{
	struct migrate_finding f[8];
	static const char additive[] =
		"2026_02_01_000000_add_author_to_notes_table: alter table \"notes\" add column \"author\" varchar\n";
	static const char drop[] =
		"2026_03_01_000000_drop_author_from_notes_table: CREATE TEMPORARY TABLE __temp__notes AS SELECT id, body, created_at, updated_at, author FROM notes\n"
		"2026_03_01_000000_drop_author_from_notes_table: DROP TABLE notes\n"
		"2026_03_01_000000_drop_author_from_notes_table: CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, body CLOB NOT NULL COLLATE \"BINARY\", created_at DATETIME DEFAULT NULL, updated_at DATETIME DEFAULT NULL)\n"
		"2026_03_01_000000_drop_author_from_notes_table: INSERT INTO notes (id, body, created_at, updated_at) SELECT id, body, created_at, updated_at FROM __temp__notes\n"
		"2026_03_01_000000_drop_author_from_notes_table: DROP TABLE __temp__notes\n";
	static const char unshowable[] =
		"Illuminate\\Database\\Migrations\\Migration@anonymous\\/srv/x/database/migrations/2026_03_01_000000_drop_author_from_notes_table.php:10$95: "
		"failed to dump queries. This may be due to changing database columns using Doctrine, which is not supported while pretending to run migrations.\n";

	assert_int_equal(scan(additive, f, 8), 0);
	assert_int_equal(scan(drop, f, 8), 1);
	assert_string_equal(f[0].kind, "SQLite table rebuild");
	assert_string_equal(f[0].migration, "2026_03_01_000000_drop_author_from_notes_table");
	assert_int_equal(scan(unshowable, f, 8), 1);
	assert_string_equal(f[0].kind, "a change --pretend cannot show");
	assert_string_equal(f[0].migration, "2026_03_01_000000_drop_author_from_notes_table");
	assert_int_equal(scan("Nothing to migrate.\n", f, 8), 0);
}

/* Laravel 9+ prints the migration's name, then indented statements. */
static void test_new_format(void **state)
{
	struct migrate_finding f[4];
	static const char text[] =
		"\n  2026_02_01_000000_drop_author ............................ 2ms DONE\n"
		"  ⇂ alter table \"notes\" drop column \"author\"\n"
		"  2026_02_02_000000_add_index ............................... 1ms DONE\n"
		"  ⇂ create index \"i\" on \"notes\" (\"body\")\n";

	assert_int_equal(scan(text, f, 4), 1);
	assert_string_equal(f[0].migration, "2026_02_01_000000_drop_author");
	assert_string_equal(f[0].kind, "DROP COLUMN");
}

/* Words inside identifiers or values are not statements. */
static void test_no_false_positives(void **state)
{
	struct migrate_finding f[4];
	static const char text[] =
		"AddDropColumnFlag: alter table \"settings\" add column \"drop_column_hint\" varchar\n"
		"Seed: insert into \"settings\" (\"key\") values ('rename to later')\n"
		"Idx: create index \"truncated_at_index\" on \"logs\" (\"truncated_at\")\n";

	/* Keywords glued to identifiers (drop_column_hint, truncated_at) or
	 * to a quote ('rename ...') are not matched. */
	assert_int_equal(scan(text, f, 4), 0);
}

/* Dropping an index or a constraint loses no data. */
static void test_drop_index_passes(void **state)
{
	struct migrate_finding f[2];

	assert_int_equal(scan("I: alter table `notes` drop index `notes_author_index`\n"
			      "F: alter table `notes` drop foreign key `notes_user_id_foreign`\n"
			      "P: alter table \"notes\" drop constraint \"notes_pkey\"\n", f, 2), 0);
}

static void test_escaped_and_bounded(void **state)
{
	struct migrate_finding f[1];
	static const char text[] =
		"A: drop table \"a\x1b[31m\"\nB: drop table b\nC: drop table c\n";

	assert_int_equal(scan(text, f, 1), 3);
	assert_null(strchr(f[0].statement, '\x1b'));
	assert_non_null(strstr(f[0].statement, "\\x1b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_additive_passes),
		cmocka_unit_test(test_each_kind),
		cmocka_unit_test(test_sqlite_rebuild_once),
		cmocka_unit_test(test_new_format),
		cmocka_unit_test(test_laravel8_sqlite_capture),
		cmocka_unit_test(test_no_false_positives),
		cmocka_unit_test(test_escaped_and_bounded),
		cmocka_unit_test(test_drop_index_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
