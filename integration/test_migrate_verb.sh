#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover migrate APP RELEASE (issue 12): a staged release's migrations as
# a step of their own, without switching. The app's [migrate] commands
# keep a toy database in shared/storage: pretend prints, Laravel 8 style
# ("Migration: SQL"), the migrations of the release not yet applied; run
# applies them and counts its runs.
#  1. migrate --pretend lists the pending SQL on stdout and changes nothing.
#  2. A destructive migration is refused without --allow-destructive
#     (exit 1, one line, nothing migrated; --pretend too, as deploy
#     --dry-run), runs with it.
#  3. migrate runs the migrations once, nothing is switched; switch then
#     publishes the release and runs no migration.
#  4. Refused: an unknown id, a failed build, a release whose state is not
#     frozen (exit 1, nothing migrated).
. "$(dirname "$0")/lib.sh"

app_init "run = true" \
	"[migrate]" \
	"pretend = sh db/pretend.sh" \
	"run = sh db/run.sh"
# test_*_bind.sh: mode = bind; what it mounts goes at exit
[[ ${IT_BIND:-0} == 1 ]] && bind_cleanup_at_exit

# migrations_source LINE...: the source's db/: each LINE "NAME|SQL" is a
# migration; pretend.sh prints the pending ones, run.sh applies them.
migrations_source()
{
	mkdir -p "$SRC/db"
	printf '%s\n' "$@" >"$SRC/db/migrations.txt"
	cat >"$SRC/db/pretend.sh" <<-'EOS'
	touch storage/applied.txt
	while IFS='|' read -r name sql; do
		grep -qx "$name" storage/applied.txt || printf '%s: %s\n' "$name" "$sql"
	done <db/migrations.txt
	EOS
	cat >"$SRC/db/run.sh" <<-'EOS'
	touch storage/applied.txt
	while IFS='|' read -r name sql; do
		grep -qx "$name" storage/applied.txt || echo "$name" >>storage/applied.txt
	done <db/migrations.txt
	echo run >>storage/runs.txt
	EOS
}
applied() { paste -sd' ' - <"$ROOT/shared/storage/applied.txt" 2>/dev/null; }
runs() { grep -c '' "$ROOT/shared/storage/runs.txt" 2>/dev/null || echo 0; }

migrations_source "2026_01_01_000000_create_widgets|create table widgets (id integer)"
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
G1=$(current_id)
assert_eq "2026_01_01_000000_create_widgets" "$(applied)" "the first deploy migrated"
assert_eq 1 "$(runs)" "one run of [migrate] run"

step "migrate --pretend lists the pending migrations and changes nothing"
set_index "$SRC" v2
migrations_source "2026_01_01_000000_create_widgets|create table widgets (id integer)" \
	"2026_02_01_000000_add_colour|alter table widgets add column colour varchar"
assert_ok co stage --from "$SRC" --id b2 || fatal "stage --id b2 failed"
before=$(tree_snapshot "$ROOT")
assert_ok co migrate b2 --pretend
assert_eq "2026_02_01_000000_add_colour: alter table widgets add column colour varchar" "$OUT" \
	"stdout is the pending SQL"
assert_contains "$ERR" "pretend migrations of $APP in release b2: 0 destructive" "stderr says it was a pretend run"
assert_eq "2026_01_01_000000_create_widgets" "$(applied)" "nothing applied by --pretend"
assert_eq 1 "$(runs)" "no run by --pretend"
assert_tree_same "$before" "$ROOT" "the app root after migrate --pretend"
run co --json migrate b2 --pretend
assert_eq "0 true false 0" "$(printf '%s' "$OUT" | jq -r '"\('"$RC"') \(.pretend) \(.changed) \(.destructive | length)"')" \
	"--json: pretend, not changed, nothing destructive"

step "migrate runs them once, without switching"
assert_ok co migrate b2
assert_contains "$ERR" "migrated $APP in release b2; nothing was switched" "migrate says it did not switch"
assert_eq "2026_01_01_000000_create_widgets 2026_02_01_000000_add_colour" "$(applied)" "b2's migration applied"
assert_eq 2 "$(runs)" "one more run of [migrate] run"
assert_eq "$G1" "$(current_id)" "current after migrate"
run co migrate b2 --pretend
assert_eq "" "$OUT" "nothing pending after the run"
assert_ok co switch b2
assert_eq b2 "$(current_id)" "switch publishes b2"
assert_eq 2 "$(runs)" "switch runs no migration"

step "a destructive migration is refused without --allow-destructive"
set_index "$SRC" v3
migrations_source "2026_01_01_000000_create_widgets|create table widgets (id integer)" \
	"2026_02_01_000000_add_colour|alter table widgets add column colour varchar" \
	"2026_03_01_000000_drop_colour|alter table widgets drop column colour"
assert_ok co stage --from "$SRC" --id b3 || fatal "stage --id b3 failed"
before=$(tree_snapshot "$ROOT")
run co migrate b3
assert_error_line 1
assert_contains "$ERR" "migration 2026_03_01_000000_drop_colour would run DROP COLUMN" "the refusal names the migration"
assert_contains "$ERR" "nothing was migrated" "the refusal says nothing was migrated"
assert_eq 2 "$(runs)" "no run after the refusal"
assert_tree_same "$before" "$ROOT" "the app root after the refusal"
run co migrate b3 --pretend
assert_error_line 1
assert_contains "$ERR" "would run DROP COLUMN" "--pretend is refused the same way (as deploy --dry-run)"
run co --json migrate b3 --pretend --allow-destructive
assert_eq "0 DROP COLUMN false" "$RC $(printf '%s' "$OUT" | jq -r '"\(.destructive[0].kind) \(.changed)"')" \
	"--pretend --allow-destructive --json lists the destructive statement"
assert_eq 2 "$(runs)" "no run after --pretend"
assert_ok co migrate b3 --allow-destructive
assert_contains "$ERR" "destructive migration allowed: 2026_03_01_000000_drop_colour" "a warning names it"
assert_eq 3 "$(runs)" "the run with --allow-destructive"
assert_eq b2 "$(current_id)" "current after migrating b3"

step "refused: unknown id, failed build, not frozen"
cp "$CONF" "$S/good.conf"
app_config "$CONF" "$ROOT" "run = exit 3" "[migrate]" "pretend = sh db/pretend.sh" "run = sh db/run.sh"
run co stage --from "$SRC" --id b4
assert_error_line 1
cp "$S/good.conf" "$CONF"
for id in b99 b4; do
	before=$(tree_snapshot "$ROOT")
	run co migrate "$id"
	assert_error_line 1
	assert_contains "$ERR" "release $id is not a frozen release of $APP" "migrate $id is refused"
	assert_eq 3 "$(runs)" "no run for $id"
	assert_tree_same "$before" "$ROOT" "the app root after migrate $id"
done
sed -i 's/^state=frozen$/state=building/' "$ROOT/.cutover/state/b3"
run co migrate b3
assert_error_line 1
assert_contains "$ERR" "release b3 is not a frozen release" "a release not frozen is refused"
assert_eq 3 "$(runs)" "no run for a release not frozen"
