#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Unhealthy releases under load (8 connections on /, which works in every
# release here):
#
#  1. precheck = no, a release whose /up answers 500: deploy exits 3 with
#     "health check failed: ... rolled back to <previous id>", current is
#     the previous release again, and no visitor request failed.
#  2. precheck = yes, a release whose /up answers 500 in the live pool
#     too: deploy exits 1 naming the pre-switch check; the release was
#     never published (no switch in the history, current unchanged, no
#     visitor got an answer from it) and is gone from releases/.
#
# Staleness, from the switch log: "v1" after the first deploy returned,
# "v2" just before the deploy of the broken release starts (it may go live
# from then on), "v1" after that deploy returned, rolled back. loadgen's
# grace (10 s, longer than a deploy) lets the line of a switch be early:
# between the "v2" line and the rollback's "v1" line both releases may
# answer; before it, only v1; after it, only v1 again, through the refused
# deploy of step 2 and to the end. Requests sent before the first line
# are not judged (no --expect-marker-file).
. "$(dirname "$0")/lib.sh"

# break_up LABEL: the source of LABEL, with /up answering 500 (the rest
# of the app unchanged).
break_up()
{
	app_version "$1"
	sed -i 's|^\techo "OK\\n";$|\thttp_response_code(500);\n\techo "DOWN\\n";|' "$SRCS/$1/public/index.php"
	grep -q 'http_response_code(500)' "$SRCS/$1/public/index.php" ||
		fatal "could not make /up of $1 answer 500 (has integration/testapp/make.sh changed?)"
}

web_app_init
web_app_config health.precheck=no

step "a healthy release"
assert_ok deploy_version v1 -q || fatal "the first deploy failed"
switch_logged v1
GOOD=$(release_of v1)
assert_eq "$GOOD" "$(current_id)" "current after the first deploy"

TSV=$S/load.tsv
load_start LOAD / --connections 8 --switch-log "$SWITCH_LOG" --switch-grace 10000 --out "$TSV"
sleep 1

step "precheck = no: a release whose /up answers 500 is rolled back"
break_up v2
history_before=$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")
switch_logged v2
assert_exit 3 deploy_version v2 -q
((RC == 3)) && switch_logged v1
printf '%s\n' "$ERR"
assert_error_line 3
assert_contains "$ERR" "health check failed: " "the message says the health check failed"
assert_contains "$ERR" "rolled back to $GOOD" "the message names the release rolled back to"
assert_match "$ERR" "returned 500" "the message gives the status /up returned"
assert_eq "$GOOD" "$(current_id)" "current after the rollback"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "the healthy release is served again"
assert_eq "$((history_before + 2))" "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" \
	"history records the switch and the rollback"
BAD=$(release_of v2)
sleep 1

step "precheck = yes: a release broken in the pool too is never published"
web_app_config health.precheck=yes
break_up v3
history_before=$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")
releases_before=$(dir_list "$ROOT/releases")
assert_exit 1 deploy_version v3 -q
assert_error_line 1
printf '%s\n' "$ERR"
assert_contains "$ERR" "pre-switch check" "the message names the pre-switch check"
assert_contains "$ERR" "never published" "the message says the release was never published"
assert_match "$ERR" "returned 500" "the message gives the status /up returned in the pool"
assert_eq "$GOOD" "$(current_id)" "current after the refused deploy"
assert_eq "$history_before" "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "no switch in the history"
assert_eq "" "$(release_of v3)" "the refused release is not in releases/"
assert_eq "$releases_before" "$(dir_list "$ROOT/releases")" "releases/ as before the refused deploy"
sleep 1

load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"

step "what the visitors saw"
assert_load_clean "both unhealthy deploys under load"
assert_eq 3 "$(load_key switches)" "switch log lines loadgen read"
assert_eq 0 "$(awk -F'\t' 'NR > 1 && ($10 == "v3" || $11 == "v3" || $12 == "v3")' "$TSV" | grep -c '')" \
	"responses from the release that failed its pre-switch check"
printf 'responses from %s (live until its rollback): %s\n' "$BAD" \
	"$(awk -F'\t' 'NR > 1 && $10 == "v2"' "$TSV" | grep -c '')"
