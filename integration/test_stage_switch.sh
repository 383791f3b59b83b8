#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stage prints exactly the new release id on stdout and changes nothing
# live; switch then publishes it (history "switch"); switch to an unknown
# id exits 1; switch and rollback refuse (exit 1) to replace a current
# that is a real directory or a symlink to /, and leave it as it was.
. "$(dirname "$0")/lib.sh"

app_init
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
OLD=$(current_id)

step "stage"
set_index "$SRC" v2
releases_before=$(dir_list "$ROOT/releases")
assert_ok co stage --from "$SRC" || fatal "stage failed"
NEW=$(new_release_id "$releases_before")
assert_match "$NEW" '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' "stage made one new release"
assert_eq "$NEW" "$OUT" "stage's stdout is exactly the new id"
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c '')" "stage prints one line on stdout"
assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after stage"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content served after stage"
assert_eq "frozen false" "$(list_json | jq -r --arg id "$NEW" '.[] | select(.id == $id) | "\(.state) \(.current)"')" "the staged release in list --json"
assert_manifest_ok "$ROOT" "$NEW"
assert_eq 1 "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "stage adds no history line"

step "switch"
assert_ok co switch "$NEW"
assert_eq "releases/$NEW" "$(readlink "$ROOT/current")" "current after switch"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "content served after switch"
assert_eq "switch $OLD $NEW" "$(tail -n 1 "$ROOT/.cutover/history.jsonl" | jq -r '"\(.verb) \(.from) \(.to)"')" "history line of the switch"
assert_eq "$(sorted "$OLD:previous" "$NEW:current")" \
	"$(list_json | jq -r '.[] | "\(.id):\(if .current then "current" elif .previous then "previous" else "-" end)"' | LC_ALL=C sort | paste -sd' ' -)" \
	"list --json flags after switch"

step "switch to a release that does not exist"
before=$(tree_snapshot "$ROOT")
assert_exit 1 co switch 20000101T000000Z
assert_error_line 1
assert_contains "$ERR" 20000101T000000Z "the refusal names the id"
assert_tree_same "$before" "$ROOT" "the app root after switching to a missing release"

step "a third release to switch to"
set_index "$SRC" v3
run co stage --from "$SRC"
NEXT=$OUT
assert_match "$NEXT" '^[0-9]{8}T' "stage of a third release" || fatal "stage failed" "$(it_last_output)"

# refuse_with_current WHAT: switch and rollback must leave current as is.
refuse_with_current()
{
	local before

	before=$(tree_snapshot "$ROOT")
	assert_exit 1 co switch "$NEXT"
	assert_error_line 1
	assert_contains "$ERR" current "the refusal to switch over $1 mentions current"
	assert_tree_same "$before" "$ROOT" "the app root after refusing to switch over $1"
	assert_exit 1 co rollback
	assert_error_line 1
	assert_tree_same "$before" "$ROOT" "the app root after refusing to roll back over $1"
}

step "current is a real directory"
rm "$ROOT/current" && mkdir "$ROOT/current" && echo hand-made >"$ROOT/current/marker" || fatal "setup"
refuse_with_current "a directory"
assert_file_content "$ROOT/current/marker" hand-made "the hand-made current directory is kept"
[[ -d $ROOT/current && ! -L $ROOT/current ]] || fail "current is no longer the real directory"

step "current is a symlink to /"
rm -r "$ROOT/current" && ln -s / "$ROOT/current" || fatal "setup"
refuse_with_current "a symlink to /"
assert_eq / "$(readlink "$ROOT/current")" "current still points to /"

step "with current repaired, switch works again"
ln -sfn "releases/$NEW" "$ROOT/current"
assert_ok co switch "$NEXT"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v3";' "content served after the last switch"
