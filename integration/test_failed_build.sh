#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A failing build step (exit 3) leaves the live site alone: current keeps
# its target and content, no release, staging directory or state is left,
# exit code 1 and one error line naming the step; what stays is the failed
# build's record (its state "failed" with the reason, its build log, one
# history line: issue 13). With --keep-failed the
# tree is kept under .cutover/failed/ID, listed as failed, and cannot be
# switched to.
. "$(dirname "$0")/lib.sh"

app_init
step "a good deploy first"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
OLD=$(current_id)

app_config "$CONF" "$ROOT" 'run = echo step-one-ran' 'run = exit 3' 'run = echo must-not-run'
set_index "$SRC" broken

# check_untouched WHAT: the live site and app root are as before WHAT.
check_untouched()
{
	assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after $1"
	assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content served after $1"
	assert_eq "$OLD" "$(dir_list "$ROOT/releases")" "releases/ after $1"
	assert_dir_empty "$ROOT/.cutover/staging" "staging/ is empty after $1"
	assert_eq "$(sorted "$OLD" "$failed_id")" "$(dir_list "$ROOT/.cutover/state")" "state files after $1"
	assert_eq "$OLD.sha256" "$(dir_list "$ROOT/.cutover/manifest")" "manifests after $1"
	assert_eq "$(sorted "$OLD.log" "$failed_id.log")" "$(dir_list "$ROOT/.cutover/logs")" "logs after $1"
	assert_dir_empty "$ROOT/.cutover/trash" "trash/ is empty after $1"
	assert_manifest_ok "$ROOT" "$OLD"
}

step "failing build step"
before=$(tree_snapshot "$ROOT")
assert_exit 1 co deploy --from "$SRC"
err_line=$(grep '^cutover: ' <<<"$ERR")
assert_eq 1 "$(grep -c '' <<<"$err_line")" "exactly one 'cutover:' error line"
assert_contains "$err_line" "build step 2 'exit 3'" "the error names the failing step"
assert_contains "$err_line" "exit code 3" "the error gives the step's exit code"
assert_not_contains "$ERR" "must-not-run" "steps after the failing one do not run"
failed_id=$(sed -n "s/.*release \([^ ]*\) removed.*/\1/p" <<<"$err_line")
assert_match "$failed_id" '^[0-9]{8}T' "the error names the removed release"
assert_file_content "$ROOT/.cutover/state/$failed_id" "$(grep -v '^reason=' "$ROOT/.cutover/state/$failed_id")
reason=build step 2 'exit 3' failed with exit code 3" "the failed release's state keeps the reason"
assert_contains "$(cat "$ROOT/.cutover/state/$failed_id")" "state=failed" "the failed release's state says failed"
assert_file_absent "$ROOT/releases/$failed_id" "no releases/ entry for the failed release"
check_untouched "a failed build"
assert_eq "$before" "$(tree_snapshot "$ROOT" | grep -vF -e ".cutover/state/$failed_id " -e ".cutover/logs/$failed_id.log " )" \
	"the app root after a failed build (but its record)"
assert_eq "$(sorted "$OLD:frozen" "$failed_id:failed")" "$(list_json | jq -r '.[] | "\(.id):\(.state)"' | LC_ALL=C sort | paste -sd' ' -)" "list after a failed build"
assert_eq 1 "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "a failed build adds no switch line"
assert_eq "failed $failed_id" "$(tail -n 1 "$ROOT/.cutover/history.jsonl" | jq -r '"\(.event) \(.release)"')" "a failed build adds a failed line"

step "failing build step with --keep-failed"
assert_exit 1 co deploy --keep-failed --from "$SRC"
assert_contains "$ERR" "build step 2 'exit 3'" "the error names the failing step"
kept=$(dir_list "$ROOT/.cutover/failed")
assert_match "$kept" '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' "one failed release kept in .cutover/failed/"
assert_contains "$ERR" "$kept" "the messages name the kept release"
# Whatever else it says, it must not claim the kept tree was removed.
assert_not_contains "$ERR" "release $kept removed" "with --keep-failed the error must not say the release was removed"
assert_file_content "$ROOT/.cutover/failed/$kept/public/index.php" '<?php echo "broken";' "the kept tree is the failed build's"
assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after a kept failed build"
assert_eq "$OLD" "$(dir_list "$ROOT/releases")" "releases/ after a kept failed build"
assert_dir_empty "$ROOT/.cutover/staging" "staging/ after a kept failed build"
assert_eq "$(sorted "$OLD:frozen" "$failed_id:failed" "$kept:failed")" \
	"$(list_json | jq -r '.[] | "\(.id):\(.state)"' | LC_ALL=C sort | paste -sd' ' -)" "list --json shows the kept release as failed"

step "switch to the failed release"
assert_exit 1 co switch "$kept"
assert_contains "$ERR" "$kept" "the refusal names the release"
assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after refusing to switch to a failed release"
assert_file_absent "$ROOT/releases/$kept" "no releases/ entry for the failed release"

step "the next deploy still works"
app_config "$CONF" "$ROOT"
set_index "$SRC" v2
assert_ok co deploy --from "$SRC"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "content served after the next deploy"
