#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12: fleet-wide rollback with the cutover.fleet collection, on
# three hosts of integration/lib/fleet.sh (over real ssh, the CI user with
# only the project's sudo rule):
#   - host 2's health check fails v2 right after its switch (cutover's
#     own check, [health] of its config): deploy.yml fails and every host
#     is back on v1, under load on every host with 0 failed, torn or
#     unparsed responses; the summary says h2 failed and where each host
#     is; the migration ran once, before any switch;
#   - the same in canary batches (cutover_serial=1): host 1 switched and
#     went back, host 2 failed, host 3 never switched;
#   - with host 2 healthy, v2 everywhere; then rollback.yml back to the
#     named release v1 on every host at once; a rollback to a release one
#     host lacks switches nothing.
. "$(dirname "$0")/lib.sh"

fleet_collection_start 3

step "v1 on every host"
fleet_deploy v1
assert_eq 0 "$RC" "deploy.yml of v1 exits 0" || fatal "the first fleet deploy failed" "$(it_last_output)"

step "host 2 fails its health check after switching to v2: the fleet goes back, under load"
fleet_app_config 2 "health.url=?fail=v2"
fleet_load_start 1 2 3
fleet_deploy v2
deploy_rc=$RC deploy_out=$OUT deploy_ms=$ELAPSED_MS
fleet_load_stop_check 1 2 3
RC=$deploy_rc OUT=$deploy_out
step "deploy.yml took $deploy_ms ms"
assert_eq 2 "$RC" "deploy.yml fails" || it_last_output
assert_match "$OUT" "phase 2 failed on h2; every host went back to the release it had" "the run says what happened"
assert_match "$OUT" "health check failed: GET [^ ]*/health.php\?fail=v2 returned 500" "host 2's health check is the reason"
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is back on v1"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
	assert_eq "v1 true" "$(jq -r --arg h "h$i" '.hosts[$h] | "\(.now) \(.rolled_back)"' "$SUMMARY")" "host $i in the summary: on v1, rolled back"
	# Switched to v2 and back: two history lines of this run.
	assert_eq "switch v2 rollback v1" "$(tail -n 2 "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl" | jq -r '"\(.verb) \(.to // .release)"' | paste -sd' ' -)" \
		"host $i: switched to v2, then rolled back to v1"
done
assert_eq "true [\"h2\"] failed switched" "$(jq -c -r '"\(.fleet_rolled_back) \(.failed) \(.hosts.h2.phase2) \(.hosts.h1.phase2)"' "$SUMMARY")" "the summary"
assert_eq 1 "$(fleet_db_count migrated-v2)" "v2's migration ran once"

step "canaries: one host at a time (cutover_serial=1)"
fleet_deploy v2 -e cutover_serial=1
assert_eq 2 "$RC" "deploy.yml fails" || it_last_output
assert_eq "switched failed not switched" "$(jq -r '[.hosts.h1.phase2, .hosts.h2.phase2, .hosts.h3.phase2] | join(" ")' "$SUMMARY")" \
	"h1 switched, h2 failed, h3 never switched"
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is on v1"
done
assert_eq "rollback v1" "$(tail -n 1 "${FLEET_HOST_DIR[1]}/root/.cutover/history.jsonl" | jq -r '"\(.verb) \(.to)"')" "host 1 went back"
assert_eq "rollback v1" "$(tail -n 1 "${FLEET_HOST_DIR[3]}/root/.cutover/history.jsonl" | jq -r '"\(.verb) \(.to)"')" \
	"host 3: no switch in this run (its last line is the previous run's)"

step "host 2 healthy again: v2 everywhere"
fleet_app_config 2
fleet_deploy v2
assert_eq 0 "$RC" "deploy.yml of v2 exits 0" || it_last_output
for i in 1 2 3; do
	assert_eq "a=v2 b=v2 i=v2" "$(fleet_page "$i")" "host $i serves v2"
done

step "fleet rollback to v1"
rm -f "$SUMMARY"
run fleet_ansible -i "$INV" "$PLAYBOOKS/rollback.yml" -e cutover_release=v1 -e "cutover_summary_file=$SUMMARY"
step "rollback.yml took $ELAPSED_MS ms; mixed window $(fleet_mixed_window 1 2 3) s"
assert_eq 0 "$RC" "rollback.yml exits 0" || it_last_output
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is on v1"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
	assert_eq "switched v1" "$(jq -r --arg h "h$i" '.hosts[$h] | "\(.phase2) \(.now)"' "$SUMMARY")" "host $i in the summary"
done

step "a rollback to a release one host lacks switches nothing"
for i in 1 2; do
	run fleet_exec "$i" "$FLEET_BIN" stage "$FLEET_APP" --from "$FLEET_ART/v2.tar.gz" --id v9
	assert_eq 0 "$RC" "host $i: v9 staged (as root, not through the playbook)" || it_last_output
done
for i in 1 2 3; do
	state[i]=$(fleet_state "$i")
done
run fleet_ansible -i "$INV" "$PLAYBOOKS/rollback.yml" -e cutover_release=v9
assert_eq 2 "$RC" "rollback.yml to v9 fails" || it_last_output
assert_match "$OUT" "h3 has no frozen release v9" "host 3 says why"
assert_match "$OUT" "h3 cannot roll back to v9: nothing was switched" "the run says so"
for i in 1 2 3; do
	assert_eq "${state[i]}" "$(fleet_state "$i")" "host $i: releases and history unchanged"
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is on v1"
done
assert_not_contains "$OUT" "PLAY [Phase 2: roll every host back]" "phase 2 never started"
