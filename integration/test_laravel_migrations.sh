#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Migrations with preset = laravel, on the bundled app's SQLite database:
#
#  1. v1, then v2 (an additive migration: nullable notes.author) under
#     load: exit 0, the column exists, and the old code kept working on the
#     new schema: loadgen on /probe (torn/stale judged against the switch
#     log) and on / (which reads the notes table) sees no failed request,
#     and in the window between v2's migration and its switch v1 answers
#     GET / and stores a note through POST /note. The window is widened
#     by a before_switch hook (sleep 1.5), which runs after the migration.
#  2. v-drop, v-rename, v-change (SQLite table rebuilds) are each refused
#     with exit 1 and one error line that names the migration, says "SQLite
#     table rebuild", explains expand/contract and --allow-destructive;
#     the schema and the migrations table are unchanged, current and
#     releases/ are as before, nothing is left staged.
#  3. deploy --allow-destructive v-drop: exit 0, a warning names the
#     migration, author is gone, v-drop is live.
#  4. A migration that fails when run for real (it alters a table that
#     does not exist; its pretend SQL is additive) and one that throws
#     (already under --pretend): exit 1, current unchanged, the release
#     removed, the schema unchanged. By then the web server has created
#     shared/storage/logs/laravel.log (v1 logged the note stored in the
#     window), as www-data with mode 0644: the case of gotcha 1 in
#     examples/laravel/README.md, where artisan exits 0 after an exception
#     it cannot log.
. "$(dirname "$0")/lib.sh"

# add_migration LABEL NAME PHP_UP: a source LABEL (v-drop's code) with one
# more migration, database/migrations/NAME.php, whose up() runs PHP_UP.
add_migration()
{
	laravel_version "$1" v-drop
	cat >"$SRCS/$1/database/migrations/$2.php" <<-EOF
	<?php

	use Illuminate\Database\Migrations\Migration;
	use Illuminate\Database\Schema\Blueprint;
	use Illuminate\Support\Facades\Schema;

	return new class extends Migration
	{
	    public function up()
	    {
	        $3
	    }

	    public function down()
	    {
	    }
	};
	EOF
}

# squashed_err: the last run's stderr without white space and "|": artisan
# wraps its error box at 80 columns, anywhere in a word.
squashed_err()
{
	printf '%s' "$ERR" | tr -d ' \t\n|'
}

# watch_window TOKEN JAR: waits (up to 60 s) for notes.author to appear,
# then at once: what current is, GET / (status
# and version) and POST /note with TOKEN (the form's CSRF token, cookies
# in JAR) with the body "from-the-window"; one "key=value" a line.
watch_window()
{
	local token=$1 jar=$2 deadline=$(($(now_ms) + 60000))

	until [[ " $(db_columns notes) " == *" author "* ]]; do
		if (($(now_ms) > deadline)); then
			echo "timeout=notes.author did not appear within 60 s"
			return 1
		fi
		sleep 0.05
	done
	echo "current=$(current_id)"
	http_request GET / "$jar"
	echo "get=$HTTP_STATUS $(sed -n 's/.*id="version">\([^<]*\)<.*/\1/p' <<<"$HTTP_BODY")"
	http_request POST /note "$jar" "_token=$token" "body=from-the-window"
	echo "post=$HTTP_STATUS"
	echo "current_after=$(current_id)"
}

# assert_refused_destructive LABEL MIGRATION: deploying LABEL is refused
# before anything is migrated or switched.
assert_refused_destructive()
{
	local label=$1 migration=$2 columns migrations releases page

	columns=$(db_columns notes) migrations=$(db_migrations)
	releases=$(dir_list "$ROOT/releases") page=$(page_version)
	run laravel_deploy "$label" -q
	[[ ${IT_VERBOSE:-0} == 1 ]] && printf '   %s\n' "$ERR"
	assert_error_line 1
	assert_contains "$ERR" "migration $migration would run SQLite table rebuild" \
		"$label: the message names the migration and what it would run"
	assert_contains "$ERR" "expand/contract" "$label: the message explains expand/contract"
	assert_contains "$ERR" "--allow-destructive" "$label: the message says how to run it anyway"
	assert_contains "$ERR" "nothing was migrated" "$label: the message says nothing was migrated"
	assert_eq "$columns" "$(db_columns notes)" "$label: the columns of notes after the refusal"
	assert_eq "$migrations" "$(db_migrations)" "$label: the migrations table after the refusal"
	assert_eq "$releases" "$(dir_list "$ROOT/releases")" "$label: releases/ after the refusal"
	assert_eq "" "$(dir_list "$ROOT/.cutover/staging")" "$label: nothing left staged"
	assert_eq "$page" "$(page_version)" "$label: what GET / shows after the refusal"
}

# assert_failed_migration LABEL MIGRATION WHAT: deploying LABEL fails with
# exit 1 and changes nothing (current, releases/, schema, migrations).
assert_failed_migration()
{
	local label=$1 migration=$2 what=$3 columns migrations releases cur

	columns=$(db_columns notes) migrations=$(db_migrations)
	releases=$(dir_list "$ROOT/releases") cur=$(current_id)
	run laravel_deploy "$label"
	[[ ${IT_VERBOSE:-0} == 1 ]] && printf '%s\n' "$ERR" | grep '^cutover: ' | sed 's/^/   /'
	[[ $RC == 1 ]] || fail "$what: expected exit code 1" "$(it_last_output)"
	assert_contains "$(grep '^cutover: ' <<<"$ERR")" "was not published" "$what: the message says it was not published"
	assert_eq "$cur" "$(current_id)" "$what: current"
	assert_eq "$releases" "$(dir_list "$ROOT/releases")" "$what: releases/ (the release was removed)"
	assert_eq "" "$(dir_list "$ROOT/.cutover/staging")" "$what: nothing left staged"
	assert_eq "$columns" "$(db_columns notes)" "$what: the columns of notes"
	assert_eq "$migrations" "$(db_migrations)" "$what: the migrations table"
	assert_not_contains "$(db_migrations)" "$migration" "$what: $migration is not recorded as run"
	assert_eq "version: v-drop" "$(page_version)" "$what: GET / still shows the live release"
}

laravel_app_init
laravel_config "[hooks]" "before_switch = sleep 1.5"

step "v1: the first migration creates the notes table"
assert_ok laravel_deploy v1 -q || fatal "the first deploy failed"
V1=$(release_of v1)
assert_eq "$V1" "$(current_id)" "current after deploying v1"
assert_eq "id body created_at updated_at" "$(db_columns notes)" "the columns of notes after v1"
assert_eq "2026_01_01_000000_create_notes_table" "$(db_migrations)" "the migrations table after v1"
switch_logged v1

step "v2 (additive) under load; v1 keeps working on v2's schema until the switch"
http_request GET /note window
TOKEN=$(csrf_token)
[[ $HTTP_STATUS == 200 && -n $TOKEN ]] || fatal "GET /note gave no CSRF token (status $HTTP_STATUS)"
echo v1 >"$S/expect"
load_start PROBE /probe --connections 6 --switch-log "$SWITCH_LOG" --switch-grace 4000 \
	--expect-marker-file "$S/expect"
load_start LOAD_HOME / --connections 3
bg WINDOW watch_window "$TOKEN" window
sleep 1
laravel_version v2
run laravel_deploy v2 -q
v2_rc=$RC v2_out=$(it_last_output)
[[ $v2_rc == 0 ]] && switch_logged v2
sleep 1
bg_wait "$WINDOW"
seen=$OUT
load_stop "$PROBE"
printf 'on /probe: %s\n' "$LOAD_SUMMARY"
assert_load_clean "loadgen on /probe through the deploy of v2"
load_stop "$LOAD_HOME"
printf 'on /: %s\n' "$LOAD_SUMMARY"
assert_load_served "loadgen on / (reads the notes table) through the deploy of v2"
[[ $v2_rc == 0 ]] || fail "deploy v2 exited $v2_rc" "$v2_out"
V2=$(release_of v2)
assert_eq "$V2" "$(current_id)" "current after deploying v2"
assert_eq "id body created_at updated_at author" "$(db_columns notes)" "the columns of notes after v2"
printf '%s\n' "$seen" | sed 's/^/   window: /'
assert_contains "$seen" "current=$V1" "v1 was live when v2's migration had run"
assert_contains "$seen" "get=200 version: v1" "v1 answered GET / on v2's schema"
assert_contains "$seen" "post=302" "v1 stored a note on v2's schema (POST /note)"
assert_contains "$seen" "current_after=$V1" "v1 was still live after those requests"
assert_eq "from-the-window|" "$(db_query "SELECT body, author FROM notes WHERE body = 'from-the-window'")" \
	"the note v1 stored in the window (author NULL)"
assert_eq "version: v2" "$(page_version)" "GET / after deploying v2"

step "destructive migrations are refused (expand/contract)"
assert_refused_destructive v-drop 2026_03_01_000000_drop_author_from_notes_table
assert_refused_destructive v-rename 2026_03_01_000000_rename_body_to_text_on_notes_table
assert_refused_destructive v-change 2026_03_01_000000_change_body_to_string_on_notes_table
assert_eq "$V2" "$(current_id)" "current after the refusals"
assert_eq "id body created_at updated_at author" "$(db_columns notes)" "author is still there"

step "deploy --allow-destructive v-drop"
run laravel_deploy v-drop -q --allow-destructive
[[ $RC == 0 ]] || fail "deploy --allow-destructive v-drop exited $RC" "$(it_last_output)"
assert_contains "$ERR" "destructive migration allowed: 2026_03_01_000000_drop_author_from_notes_table" \
	"a warning names the destructive migration"
VDROP=$(release_of v-drop)
assert_eq "$VDROP" "$(current_id)" "current after deploying v-drop"
assert_eq "id body created_at updated_at" "$(db_columns notes)" "the columns of notes after v-drop"
assert_contains "$(db_migrations)" "2026_03_01_000000_drop_author_from_notes_table" "v-drop's migration is recorded"
assert_eq "version: v-drop" "$(page_version)" "GET / after deploying v-drop"
assert_eq 1 "$(db_query "SELECT count(*) FROM notes WHERE body = 'from-the-window'")" "the notes survived the rebuild"

# Shown, not asserted (the fix may lie elsewhere): the web server
# (www-data, umask 022) created laravel.log when v1 logged the note stored
# in the window. An artisan command whose exception cannot be logged exits
# 0 (examples/laravel/README.md, gotcha 1), so unless the deploy user, who
# runs migrations with the group www-data, can append to it, a failing
# migration exits 0 and only cutover's own checks can catch it.
LOG=$ROOT/shared/storage/logs/laravel.log
www=$(getent group www-data | cut -d: -f3)
if setpriv --reuid=nobody --regid=nogroup --groups="$www" -- test -w "$LOG"; then
	printf '   laravel.log: %s, writable by the deploy user\n' "$(stat -c '%U:%G %a' "$LOG" 2>&1)"
else
	printf '   laravel.log: %s, NOT writable by the deploy user: a failing artisan command exits 0\n' \
		"$(stat -c '%U:%G %a' "$LOG" 2>&1)"
fi

step "a migration that fails when run (its table does not exist)"
add_migration v-missing 2026_04_01_000000_alter_missing_table \
	"Schema::table('no_such_table', function (Blueprint \$table) { \$table->string('x')->nullable(); });"
assert_failed_migration v-missing 2026_04_01_000000_alter_missing_table "a migration on a missing table"
assert_contains "$(squashed_err)" "nosuchtable:no_such_table" "the output shows SQLite's error"

step "a migration that throws"
add_migration v-throw 2026_04_01_000000_throwing_migration \
	"throw new RuntimeException('this migration fails on purpose');"
assert_failed_migration v-throw 2026_04_01_000000_throwing_migration "a migration that throws"
assert_contains "$(squashed_err)" "thismigrationfailsonpurpose" "the output shows the exception"
