#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12: a host unreachable in phase 1 of the cutover.fleet
# collection's deploy.yml (three hosts of integration/lib/fleet.sh, real
# ssh, the CI user with only the project's sudo rule): host 3's sshd
# stopped, a deploy of v2
#   - fails, naming h3, and says nothing was switched;
#   - switches nothing anywhere: every host still serves v1, no history
#     line was added;
#   - leaves v2 staged (frozen, not live) on hosts 1 and 2, nothing on 3;
#   - never runs the migrations (no mark in the shared SQLite).
. "$(dirname "$0")/lib.sh"

fleet_collection_start 3

step "v1 on every host"
fleet_deploy v1
assert_eq 0 "$RC" "deploy.yml of v1 exits 0" || fatal "the first fleet deploy failed" "$(it_last_output)"

step "host 3 unreachable: a deploy of v2 switches nothing"
fleet_sshd_stop 3
for i in 1 2 3; do
	state[i]=$(grep -c '' "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl")
done
fleet_deploy v2
step "deploy.yml took $ELAPSED_MS ms"
assert_eq 2 "$RC" "deploy.yml exits 2 (the gate failed; one host unreachable)" || it_last_output
assert_match "$OUT" "fatal: \[h3\]: UNREACHABLE!" "Ansible says h3 is unreachable"
assert_match "$OUT" "phase 1 failed on h3: nothing was switched, every host serves what it served; v2 stays staged \(not live\) on h1, h2" \
	"the run says what happened"
assert_not_contains "$OUT" "PLAY [Phase 2: switch every host]" "phase 2 never started"
assert_not_contains "$OUT" "TASK [Migrations, once" "the migrations never started"
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is still on v1"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
	assert_eq "${state[i]}" "$(grep -c '' "${FLEET_HOST_DIR[i]}/root/.cutover/history.jsonl")" "host $i: no history line added"
done
for i in 1 2; do
	assert_eq "frozen false" "$(fleet_release "$i" v2 '"\(.state) \(.current)"')" "host $i: v2 staged, not live"
done
assert_eq "" "$(fleet_release 3 v2 .id)" "host 3 has no v2"
assert_eq 0 "$(fleet_db_count migrated-v2)" "v2's migration never ran"
