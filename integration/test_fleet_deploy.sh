#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12: the cutover.fleet collection's two-phase deploy
# (ansible/.../playbooks/deploy.yml) on three hosts of
# integration/lib/fleet.sh, over real ssh as the CI user with only the
# project's sudo rule:
#   - a first deploy: every host serves v1, under the same release id
#     "v1" (stage --id), and the migrations ran once (one mark in the
#     shared SQLite);
#   - v2 under load on every host (a loadgen per host): 0 failed, torn or
#     unparsed responses; every host on v2; migrations once; the mixed
#     window (first host's switch to the last's) reported; the summary
#     says every host switched;
#   - the same deploy again: nothing changes (no release built, no
#     switch, no history line);
#   - a destructive migration (DROP TABLE): refused by cutover's guard
#     before any switch: every host still on v2, the migration never ran,
#     v3 stays staged (not live) on every host; with
#     cutover_allow_destructive=true sudo refuses it (the shipped rule
#     keeps --allow-destructive to root);
#   - v4, then prune on every host (prune.yml): v3 (staged, never live)
#     and v1 go.
. "$(dirname "$0")/lib.sh"

fleet_collection_start 3

step "first fleet deploy: v1"
fleet_deploy v1
assert_eq 0 "$RC" "deploy.yml of v1 exits 0" || fatal "the first fleet deploy failed" "$(it_last_output)"
for i in 1 2 3; do
	assert_eq v1 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i: the current release is v1 (the id stage --id gave)"
	assert_eq "a=v1 b=v1 i=v1" "$(fleet_page "$i")" "host $i serves v1"
done
assert_eq 1 "$(fleet_db_count migrated-v1)" "v1's migration ran once for the fleet"

step "v2 under load on every host"
fleet_load_start 1 2 3
fleet_deploy v2
deploy_rc=$RC deploy_out=$OUT deploy_ms=$ELAPSED_MS
fleet_load_stop_check 1 2 3
RC=$deploy_rc OUT=$deploy_out
assert_eq 0 "$RC" "deploy.yml of v2 exits 0" || it_last_output
step "deploy.yml took $deploy_ms ms; mixed window $(fleet_mixed_window 1 2 3) s"
for i in 1 2 3; do
	assert_eq v2 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i: the current release is v2"
	assert_eq "a=v2 b=v2 i=v2" "$(fleet_page "$i")" "host $i serves v2"
	assert_eq "switched v2" "$(jq -r --arg h "h$i" '.hosts[$h] | "\(.phase2) \(.now)"' "$SUMMARY")" "host $i in the summary"
done
assert_eq 1 "$(fleet_db_count migrated-v2)" "v2's migration ran once for the fleet"
assert_eq "false []" "$(jq -c -r '"\(.fleet_rolled_back) \(.failed)"' "$SUMMARY")" "the summary: no failure, no fleet rollback"
# The hosts were told one moment to switch at: far less than Ansible's
# own spread between hosts (hundreds of ms on a loaded machine).
window=$(fleet_mixed_window 1 2 3)
assert_eq 1 "$(awk -v w="$window" 'BEGIN { print (w < 1.0) }')" "the mixed window ($window s) is under 1 s"

step "the same deploy again changes nothing"
for i in 1 2 3; do
	before[i]=$(fleet_state "$i")
done
fleet_deploy v2
assert_eq 0 "$RC" "deploy.yml of v2 again exits 0" || it_last_output
assert_eq "ok ok ok" "$(fleet_task_lines "Stage it" | cut -d: -f1 | paste -sd' ' -)" "stage is not a change on any host"
for i in 1 2 3; do
	assert_eq "${before[i]}" "$(fleet_state "$i")" "host $i: releases and history unchanged"
done
assert_eq 2 "$(fleet_db_count migrated-v2)" "the rerun ran the (idempotent) migrations once more, once"

step "a destructive migration is refused before any switch"
fleet_deploy v3 --destructive
assert_eq 2 "$RC" "deploy.yml of v3 fails" || it_last_output
assert_match "$OUT" "cutover migrate shop: migration FleetMarkv3 would run DROP TABLE" "the module reports cutover's refusal"
assert_match "$OUT" '"code": "migration_refused"' "the module reports cutover's error code"
for i in 1 2 3; do
	assert_eq v2 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is still on v2"
	assert_eq "frozen false" "$(fleet_release "$i" v3 '"\(.state) \(.current)"')" "host $i: v3 stays staged, not live"
done
assert_eq 0 "$(fleet_db_count migrated-v3)" "v3's migration never ran"
assert_not_contains "$OUT" "PLAY [Phase 2: switch every host]" "phase 2 never started"

# The project's rule keeps --allow-destructive to root (docs/FLEET.md):
# then sudo refuses cutover_allow_destructive=true; a rule that allows it
# runs the migration and switches.
if grep -v '^[[:space:]]*#' "$FLEET_RULE_SRC" | grep -E 'cutover .*migrate' | grep -q -- '--allow-destructive'; then
	step "cutover_allow_destructive=true: the sudo rule allows it"
	fleet_deploy v3 -e cutover_allow_destructive=true
	assert_eq 0 "$RC" "deploy.yml of v3 with --allow-destructive exits 0" || it_last_output
	assert_eq v3 "$(current_id "${FLEET_HOST_DIR[1]}/root")" "host 1 is on v3"
	fleet_deploy v2
	assert_eq 0 "$RC" "back to v2" || it_last_output
else
	step "cutover_allow_destructive=true: the sudo rule keeps it to root"
	fleet_deploy v3 -e cutover_allow_destructive=true
	assert_eq 2 "$RC" "deploy.yml of v3 with --allow-destructive fails" || it_last_output
	assert_match "$OUT" '"code": "not_permitted"' "sudo refused it: not_permitted"
	for i in 1 2 3; do
		assert_eq v2 "$(current_id "${FLEET_HOST_DIR[i]}/root")" "host $i is still on v2"
	done
fi

step "prune on every host"
fleet_deploy v4
assert_eq 0 "$RC" "deploy.yml of v4 exits 0" || it_last_output
run fleet_ansible -i "$INV" "$PLAYBOOKS/prune.yml" -e cutover_keep=1
assert_eq 0 "$RC" "prune.yml exits 0" || it_last_output
for i in 1 2 3; do
	# The newest (v4, current) and the previous one (v2) are kept.
	assert_eq "v4 v2" "$(fleet_release_ids "$i")" "host $i: the releases left"
	assert_match "$OUT" "h$i: removed (v3, v1|v1, v3)\"" "prune.yml says what went on host $i"
done
