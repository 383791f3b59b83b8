#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12: a host unreachable during the cutover.fleet collection's
# deploy.yml (three hosts of integration/lib/fleet.sh, real ssh, the CI
# user with only the project's sudo rule).
# In phase 2: host 3's sshd stopped while the hosts wait for their
# moment to switch to v2:
#   - the run fails; hosts 1 and 2 switched to v2 and went back to v1;
#     host 3, cut off before its moment, never switched (the module does
#     not switch once its controller is gone); the summary says h3 was
#     unreachable and its state unknown.
# In phase 1 (host 3 still unreachable), a deploy of v3
#   - fails, naming h3, and says nothing was switched;
#   - switches nothing anywhere: every host still serves v1, no history
#     line was added;
#   - leaves v3 staged (frozen, not live) on hosts 1 and 2, nothing on 3;
#   - never runs the migrations (no mark in the shared SQLite).
. "$(dirname "$0")/lib.sh"

fleet_collection_start 3

step "v1 on every host"
fleet_deploy v1
assert_eq 0 "$RC" "deploy.yml of v1 exits 0" || fatal "the first fleet deploy failed" "$(it_last_output)"

step "host 3 unreachable in phase 2: hosts 1 and 2 go back, host 3 never switched"
fleet_artifact "$FLEET_ART/v2.tar.gz" v2
for i in 1 2 3; do
	lines[i]=$(grep -c '' "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl")
done
# The hosts are told to switch 4 s after the switch task starts: host 3's
# sshd (and the session waiting in it) stops in between.
bg play fleet_ansible -i "$INV" "$PLAYBOOKS/deploy.yml" -e "cutover_artifact=$FLEET_ART/v2.tar.gz" \
	-e cutover_release_id=v2 -e "cutover_summary_file=$SUMMARY" -e cutover_switch_delay=4
play_out=$IT_TMP/bg.${IT_BG_SEQ[$play]}.out
wait_for 60 grep -q 'TASK \[Switch to the release\]' "$play_out" ||
	fatal "deploy.yml never reached the switch" "$(tail -n 30 "$play_out")"
t0=$(now_ms)
fleet_sshd_stop 3
step "host 3's sshd stopped $(($(now_ms) - t0)) ms after the switch task started"
bg_wait "$play"
assert_eq 2 "$RC" "deploy.yml fails" || it_last_output
assert_match "$OUT" "phase 2 failed on h3; every host went back to the release it had" "the run says what happened"
assert_eq "unreachable unknown" "$(jq -r '.hosts.h3 | "\(.phase2) \(.now)"' "$SUMMARY")" "the summary: h3 unreachable, its state unknown"
for i in 1 2; do
	assert_eq "v1 true" "$(jq -r --arg h "h$i" '.hosts[$h] | "\(.now) \(.rolled_back)"' "$SUMMARY")" "host $i in the summary: rolled back to v1"
	assert_eq "switch v2 rollback v1" "$(tail -n 2 "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl" | jq -r '"\(.verb) \(.to)"' | paste -sd' ' -)" \
		"host $i: switched to v2, then rolled back to v1"
done
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is on v1"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
done
assert_eq "${lines[3]}" "$(grep -c '' "${FLEET_HOST_DIR[3]}/root/.cutover/history.jsonl")" "host 3 never switched"

step "host 3 unreachable in phase 1: a deploy of v3 switches nothing"
for i in 1 2 3; do
	state[i]=$(grep -c '' "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl")
done
fleet_deploy v3
step "deploy.yml took $ELAPSED_MS ms"
assert_eq 2 "$RC" "deploy.yml exits 2 (the gate failed; one host unreachable)" || it_last_output
assert_match "$OUT" "fatal: \[h3\]: UNREACHABLE!" "Ansible says h3 is unreachable"
assert_match "$OUT" "phase 1 failed on h3: nothing was switched, every host serves what it served; v3 stays staged \(not live\) on h1, h2" \
	"the run says what happened"
assert_not_contains "$OUT" "PLAY [Phase 2: switch every host]" "phase 2 never started"
assert_not_contains "$OUT" "TASK [Migrations, once" "the migrations never started"
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is still on v1"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
	assert_eq "${state[i]}" "$(grep -c '' "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl")" "host $i: no history line added"
done
for i in 1 2; do
	assert_eq "frozen false" "$(fleet_release "$i" v3 '"\(.state) \(.current)"')" "host $i: v3 staged, not live"
done
assert_eq "" "$(fleet_release 3 v3 .id)" "host 3 has no v3"
assert_eq 0 "$(fleet_db_count migrated-v3)" "v3's migration never ran"
