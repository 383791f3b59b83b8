#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Labels from branch names and releases by prefix or label (issue 13):
# --label feature/x makes the label feature-x; switch and rollback take a
# unique id prefix or label, resolved to the whole id; an ambiguous one is
# a usage error (exit 2, one line naming the candidates) that changes
# nothing; a well-formed name of no release still fails with exit 1.
. "$(dirname "$0")/lib.sh"

app_init

step "deploy with a branch name as label"
assert_ok co deploy --from "$SRC" --label feature/x || fatal "first deploy failed"
A=$(current_id)
assert_match "$A" '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?-feature-x$' "feature/x became the label feature-x"
step "labels that stay refused"
run co deploy --from "$SRC" --label 'feature/x y'
assert_usage_error
assert_contains "$ERR" "'/' becomes '-'" "the refusal says how '/' is mapped"
run co deploy --from "$SRC" --label /x
assert_usage_error
sleep 1

set_index "$SRC" v2
assert_ok co deploy --from "$SRC" --label v2 || fatal "second deploy failed"
B=$(current_id)
sleep 1
set_index "$SRC" v3
assert_ok co deploy --from "$SRC" --label v3 || fatal "third deploy failed"
C=$(current_id)

step "rollback by label"
assert_ok co rollback feature-x
assert_eq "$A" "$(current_id)" "rollback feature-x went to $A"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "v1 served after rollback by label"

step "switch by a unique id prefix"
prefix=${C:0:17}
# the three ids differ in their seconds at most: take what only C has
for n in $(seq 17 ${#C}); do
	p=${C:0:n}
	[[ $A == "$p"* || $B == "$p"* ]] || { prefix=$p; break; }
done
assert_ok co switch "$prefix"
assert_eq "$C" "$(current_id)" "switch $prefix went to $C"
assert_eq "switch $A $C" "$(tail -n 1 "$ROOT/.cutover/history.jsonl" | jq -r '"\(.verb) \(.from) \(.to)"')" \
	"history names the whole id"

step "switch by label"
assert_ok co switch v2
assert_eq "$B" "$(current_id)" "switch v2 went to $B"

step "an ambiguous prefix"
before=$(tree_snapshot "$ROOT")
run co switch "${A:0:4}"
assert_usage_error
assert_contains "$ERR" "matches 3 releases" "the refusal counts the candidates"
assert_contains "$ERR" "$A" "the refusal lists $A"
assert_contains "$ERR" "$C" "the refusal lists $C"
assert_tree_same "$before" "$ROOT" "the app root after an ambiguous prefix"
run co rollback "${A:0:4}"
assert_usage_error
assert_eq "$B" "$(current_id)" "current after an ambiguous rollback"

step "a name of no release: exit 1, as before"
assert_exit 1 co switch nosuchlabel
assert_error_line 1
assert_contains "$ERR" "nosuchlabel" "the refusal names it"
assert_eq "$B" "$(current_id)" "current after a name of no release"
