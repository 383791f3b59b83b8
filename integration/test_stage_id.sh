#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stage --id ID (issue 12): the caller names the release, the same name on
# every host of a fleet.
#  1. stage --id b42 makes releases/b42 and prints b42; staging the same
#     content again is no change (exit 0, "already staged with the same
#     content", the app root as it was, --json "changed": false); other
#     content under b42 is refused (exit 1, one line naming b42, nothing
#     changed: b42 still holds its first content).
#  2. An id whose build failed may be staged again: the failed record goes.
#  3. deploy --id of the live release with the same content is no change.
#  4. Order with mixed ids is creation time, not the id: list, prune
#     (--keep 2 keeps the two newest, "0004" and "0003", and removes "b43"
#     and the oldest generated one, never the previous release) and
#     rollback (back to the release the current one replaced).
#  5. Ids cutover would make itself, and "auto", are refused.
. "$(dirname "$0")/lib.sh"

APP_KEEP=10
app_init
# test_*_bind.sh: mode = bind; what it mounts goes at exit
[[ ${IT_BIND:-0} == 1 ]] && bind_cleanup_at_exit
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
G1=$(current_id)

step "stage --id b42"
set_index "$SRC" v2
assert_ok co stage --from "$SRC" --id b42 || fatal "stage --id b42 failed"
assert_eq b42 "$OUT" "stage --id prints the id"
assert_eq "frozen false" "$(list_json | jq -r '.[] | select(.id == "b42") | "\(.state) \(.current)"')" "b42 in list --json"
assert_manifest_ok "$ROOT" b42
assert_eq "releases/$G1" "$(readlink "$ROOT/current")" "current after stage --id"

step "the same content under the same id: no change"
before=$(tree_snapshot "$ROOT")
entries=$(cat "$ROOT/.cutover/entries/b42.manifest")
assert_ok co stage --from "$SRC" --id b42
assert_eq b42 "$OUT" "stage prints the id again"
assert_contains "$ERR" "release b42 already staged with the same content" "stage says it was staged before"
assert_tree_same "$before" "$ROOT" "the app root after staging b42 again"
assert_eq "$entries" "$(cat "$ROOT/.cutover/entries/b42.manifest")" "b42's entries after staging it again"
assert_eq "" "$(dir_list "$ROOT/.cutover/staging")" "nothing left staged"
run co --json stage --from "$SRC" --id b42
assert_eq 0 "$RC" "stage --json of the same content exits 0" || printf '%s\n' "$(it_last_output)"
assert_eq "false b42" "$(printf '%s' "$OUT" | jq -r '"\(.changed) \(.release)"')" "--json says changed false"
assert_tree_same "$before" "$ROOT" "the app root after staging b42 again with --json"

step "other content under the same id: refused, nothing changed"
set_index "$SRC" v3
run co stage --from "$SRC" --id b42
assert_error_line 1
assert_contains "$ERR" "release b42 exists already with other content; nothing was changed" "the refusal names b42"
assert_tree_same "$before" "$ROOT" "the app root after the refusal"
assert_file_content "$ROOT/releases/b42/public/index.php" '<?php echo "v2";' "b42 still holds v2"
assert_eq "" "$(dir_list "$ROOT/.cutover/staging")" "nothing left staged after the refusal"
assert_eq "refused b42" "$(tail -n 1 "$ROOT/.cutover/history.jsonl" | jq -r '"\(.event) \(.release)"')" \
	"the refusal is in the history"
run co deploy --from "$SRC" --id b42
assert_error_line 1
assert_contains "$ERR" "release b42 exists already with other content" "deploy --id is refused the same way"
assert_tree_same "$before" "$ROOT" "the app root after the refused deploy"

step "an id whose build failed may be staged again"
cp "$CONF" "$S/good.conf"
app_config "$CONF" "$ROOT" "run = exit 3"
run co stage --from "$SRC" --id b43
assert_error_line 1
assert_eq "failed" "$(list_json | jq -r '.[] | select(.id == "b43") | .state')" "b43 is recorded as failed"
cp "$S/good.conf" "$CONF"
assert_ok co stage --from "$SRC" --id b43
assert_eq "frozen" "$(list_json | jq -r '.[] | select(.id == "b43") | .state')" "b43 is frozen now"
assert_file_content "$ROOT/releases/b43/public/index.php" '<?php echo "v3";' "b43 holds v3"

step "deploy --id of the live release with the same content: no change"
assert_ok co switch b42
set_index "$SRC" v2
before=$(tree_snapshot "$ROOT")
lines=$(grep -c '' "$ROOT/.cutover/history.jsonl")
assert_ok co deploy --from "$SRC" --id b42
assert_contains "$ERR" "release b42 is already live with the same content; nothing was changed" "deploy says so"
assert_tree_same "$before" "$ROOT" "the app root after deploying the live release again"
assert_eq "$lines" "$(grep -c '' "$ROOT/.cutover/history.jsonl")" "no history line"

step "order by creation time with mixed ids"
set_index "$SRC" v4
assert_ok co deploy --from "$SRC" --id 0003 || fatal "deploy --id 0003 failed"
assert_eq 0003 "$(current_id)" "current after deploy --id 0003"
set_index "$SRC" v5
assert_ok co stage --from "$SRC" --id 0004
assert_eq "0004 0003 b43 b42 $G1" "$(co --json list | jq -r '[.releases[].id] | join(" ")')" "list: newest first by creation time"
assert_eq "0004 0003 b42 $G1" "$(co list | awk 'NR > 1 && $2 == "frozen" && $1 != "b43" { print $1 }' | paste -sd' ' -)" \
	"the table of list in the same order"
assert_ok co prune --keep 2
assert_eq "$(sorted 0003 0004 b42)" "$(dir_list "$ROOT/releases")" \
	"prune --keep 2 kept the two newest (0004, 0003) and the previous release (b42)"
assert_ok co rollback
assert_eq b42 "$(current_id)" "rollback goes back to the release 0003 replaced"

step "ids the caller may not choose"
before=$(tree_snapshot "$ROOT")
for id in 20261207T001500Z 20261207T001500Z-b1 auto ..; do
	run co stage --from "$SRC" --id "$id"
	assert_usage_error
done
assert_tree_same "$before" "$ROOT" "the app root after the refused ids"
