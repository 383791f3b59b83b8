#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Releases that failed their health check (issue 13):
#  1. an automatic rollback marks the release it left as unhealthy, with
#     the reason, in list, list --json and the history ("auto-rollback",
#     reported by the front end);
#  2. with rollback = no, the unhealthy release stays live and is marked
#     (an "unhealthy" line); after a good deploy over it, `rollback`
#     without an id skips it and goes to the healthy one before it;
#  3. naming an unhealthy release still switches to it.
. "$(dirname "$0")/lib.sh"

# break_up LABEL: the source of LABEL, with /up answering 500.
break_up()
{
	app_version "$1"
	sed -i 's|^\techo "OK\\n";$|\thttp_response_code(500);\n\techo "DOWN\\n";|' "$SRCS/$1/public/index.php"
	grep -q 'http_response_code(500)' "$SRCS/$1/public/index.php" ||
		fatal "could not make /up of $1 answer 500 (has integration/testapp/make.sh changed?)"
}

web_app_init
web_app_config health.precheck=no health.retries=1
hist=$ROOT/.cutover/history.jsonl

step "two healthy releases"
assert_ok deploy_version v1 -q || fatal "the first deploy failed"
assert_ok deploy_version v2 -q || fatal "the second deploy failed"
V2=$(release_of v2)

step "an automatic rollback marks the release unhealthy"
break_up v3
assert_exit 3 deploy_version v3 -q
V3=$(release_of v3)
assert_eq "$V2" "$(current_id)" "rolled back to v2"
run co --json list
assert_eq "unhealthy" "$(jq -r --arg id "$V3" '.releases[] | select(.id == $id) | .state' <<<"$OUT")" "list --json: v3 unhealthy"
assert_contains "$(jq -r --arg id "$V3" '.releases[] | select(.id == $id) | .reason' <<<"$OUT")" "health check failed" "list --json: the reason"
assert_eq "frozen" "$(jq -r --arg id "$V2" '.releases[] | select(.id == $id) | .state' <<<"$OUT")" "list --json: v2 frozen"
run co list
assert_match "$(grep "^$V3 " <<<"$OUT")" " unhealthy " "list: v3 unhealthy"
assert_match "$(grep -F "health=failed" "$ROOT/.cutover/state/$V3")" "health=failed" "the state file records it"
last=$(tail -n 1 "$hist")
assert_eq "rollback auto-rollback $V3 $V2 true" "$(jq -r '"\(.verb) \(.event) \(.from) \(.to) \(.reported)"' <<<"$last")" \
	"the history's automatic rollback line"
assert_contains "$(jq -r .reason <<<"$last")" "returned 500" "its reason"

step "rollback = no: the unhealthy release stays live, marked"
web_app_config health.precheck=no health.retries=1 health.rollback=no
break_up v4
assert_exit 1 deploy_version v4 -q
V4=$(release_of v4)
assert_eq "$V4" "$(current_id)" "v4 stays live"
assert_eq "unhealthy $V4 true" "$(tail -n 1 "$hist" | jq -r '"\(.event) \(.release) \(.reported)"')" "an unhealthy line"
assert_eq "unhealthy" "$(list_json | jq -r --arg id "$V4" '.[] | select(.id == $id) | .state')" "list: v4 unhealthy"

step "rollback without an id skips unhealthy releases"
assert_ok deploy_version v5 -q || fatal "the deploy of v5 failed"
V5=$(release_of v5)
run co --json status
assert_eq "$V2" "$(jq -r .previous <<<"$OUT")" "status: previous is the healthy v2, not v4"
assert_ok co rollback
assert_eq "$V2" "$(current_id)" "rollback went to v2, past the unhealthy v4"
assert_contains "$(served /)" "a=v2" "v2 is served"

step "an unhealthy release can still be named"
assert_exit 1 co switch "$V4"
assert_contains "$ERR" "health check failed" "the switch says its health check failed"
assert_eq "$V4" "$(current_id)" "switch to the named unhealthy release"
assert_ok co rollback "$V2"
assert_eq "$V2" "$(current_id)" "rollback to a named release"
run co --json history
assert_eq 0 "$RC" "history"
assert_eq "rollback unhealthy switch rollback deploy unhealthy deploy auto-rollback deploy deploy deploy" \
	"$(jq -r '.events[].event' <<<"$OUT" | paste -sd' ' -)" "history --json: every attempt, newest first"
