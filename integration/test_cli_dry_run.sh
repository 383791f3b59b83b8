#!/bin/bash
# SPDX-License-Identifier: MIT
#
# deploy --dry-run (issue 13): import, build, freeze, php-fpm checks,
# [migrate] pretend, then stop: exit 0, no switch, no migration run, no
# hook, no history line, no prune, and the staged release removed (the
# app root as before). A dry run whose build fails exits 1 and also
# leaves the app root as it was. --json prints one document saying so.
. "$(dirname "$0")/lib.sh"

app_init "run = true" \
	"[migrate]" \
	"pretend = echo 'create table widgets (id int)'" \
	"run = echo ran >>storage/migrated.txt" \
	"[hooks]" \
	"before_switch = echo ran >>storage/before.txt" \
	"after_switch = echo ran >>storage/after.txt"
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
OLD=$(current_id)
set_index "$SRC" v2
assert_ok co deploy --from "$SRC" || fatal "second deploy failed"
CUR=$(current_id)
rm -f "$ROOT/shared/storage/migrated.txt" "$ROOT/shared/storage/before.txt" "$ROOT/shared/storage/after.txt"
set_index "$SRC" v3

step "dry run"
before=$(tree_snapshot "$ROOT")
history_before=$(grep -c '' "$ROOT/.cutover/history.jsonl")
assert_ok co deploy --from "$SRC" --dry-run
assert_contains "$ERR" "dry run of $APP" "the dry run says what it was"
assert_contains "$ERR" "migrations (pretend)" "the pretend migration ran"
assert_contains "$ERR" "freeze" "the release was frozen"
assert_not_contains "$ERR" "  switch" "no switch step"
assert_contains "$ERR" "removed; nothing was switched" "the staged release is removed"
assert_eq "$CUR" "$(current_id)" "current after the dry run"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "v2 still served"
assert_file_absent "$ROOT/shared/storage/migrated.txt" "no migration ran"
assert_file_absent "$ROOT/shared/storage/before.txt" "no before_switch hook ran"
assert_file_absent "$ROOT/shared/storage/after.txt" "no after_switch hook ran"
assert_eq "$history_before" "$(grep -c '' "$ROOT/.cutover/history.jsonl")" "no history line"
assert_tree_same "$before" "$ROOT" "the app root after the dry run"
assert_eq "$(sorted "$OLD" "$CUR")" "$(dir_list "$ROOT/releases")" "releases after the dry run"

step "dry run --json"
run co --json deploy --from "$SRC" --dry-run
assert_eq 0 "$RC" "dry run --json exits 0" || printf '%s\n' "$(it_last_output)"
assert_eq "true true" "$(printf '%s' "$OUT" | jq -r '"\(.dry_run) \(.removed)"')" "the JSON document says dry_run and removed"
assert_tree_same "$before" "$ROOT" "the app root after the dry run --json"

step "a dry run whose build fails"
app_config "$CONF" "$ROOT" "run = echo broken-build >&2; exit 4"
run co deploy --from "$SRC" --dry-run
assert_error_line 1
assert_contains "$ERR" "exit code 4" "the failed step is named"
assert_tree_same "$before" "$ROOT" "the app root after a failed dry run (nothing pruned either)"
