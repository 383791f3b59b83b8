#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap with a long request in flight: a 4 s request started on
# the old release 1 s before a deploy finishes with 200, on the old code,
# after its full time; the deploy itself returns without waiting for it
# (well under the 4 s), the short requests of loadgen meanwhile never wait
# behind it (max latency under 1 s), and the old master, stopped with
# keep_warm = 0, exits only once the long request is done. A rollback
# to a pool that is still stopping waits for it to stop and starts it again.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=0)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
old_pid=$(swap_master_pid demo a)

step "a 4 s request in flight on v0, then a deploy under load"
load_start LOAD / --connections 8 --switch-log "$SWITCH_LOG" --switch-grace 1000 \
	--expect-marker-file "$ROOT/current/RELEASE"
curl -s -o "$S/long.body" -w '%{http_code} %{time_total}\n' --max-time 20 "$URL/?sleep=4000" > "$S/long.txt" &
long_pid=$!
sleep 1
t0=$(now_ms)
run deploy_version v1 -q --json
deploy_ms=$(($(now_ms) - t0))
((RC == 0)) && switch_logged v1
((RC == 0)) || fail "the deploy exited $RC" "$(it_last_output)"
assert_lt "$deploy_ms" 3000 "the deploy returned before the long request ended (ms)"
assert_eq "demo.b/fpm.sock" "$(live_target)" "the live socket names the new pool"
assert_eq deactivating "$(swap_unit_prop demo a ActiveState)" "the old unit is stopping (SIGQUIT sent)"
[[ -d /proc/$old_pid ]] || fail "the old master exited before its long request was done"
wait "$long_pid"
sleep 0.5
load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"

step "what the long request and the visitors saw"
read -r code secs < "$S/long.txt"
assert_eq 200 "$code" "the long request's status"
assert_match "$secs" '^(4|5)\.' "the long request ran its full 4 s"
assert_contains "$(cat "$S/long.body")" "a=v0 b=v0 i=v0" "the long request ran on the old release"
assert_load_clean "a deploy beside a long request"
max_ms=$(load_key max_ms); max_ms=${max_ms%.*}
assert_lt "$max_ms" 1000 "the short requests' max latency (ms): nothing waited behind the long one"
swap_wait_state demo a inactive 10 || fail "the old pool did not stop after its long request"
[[ -d /proc/$old_pid ]] && fail "the old master $old_pid still runs"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is served"

step "a rollback to the pool that is still finishing a long request"
# keep_warm = 0 retires v1's pool at once; its unit stays deactivating
# while the 4 s request runs. A rollback to v1 must not take that dying
# pool as warm (the switch would refuse it): it waits for the stop and
# starts v1 again.
curl -s -o "$S/long2.body" -w '%{http_code}\n' --max-time 20 "$URL/?sleep=4000" > "$S/long2.txt" &
long_pid=$!
sleep 1
assert_ok deploy_version v2 -q
assert_eq "demo.a/fpm.sock" "$(live_target)" "v2 is live in slot a"
assert_eq deactivating "$(swap_unit_prop demo b ActiveState)" "v1's unit is stopping"
assert_ok co --json status
assert_eq stopping "$(jq -r '.pools[] | select(.slot == "b") | .state' <<<"$OUT")" "status shows v1's pool stopping"
assert_ok co -q --json rollback
assert_eq false "$(jq -r .pool.already_warm <<<"$OUT")" "the rollback started v1's pool again"
assert_eq "demo.b/fpm.sock" "$(live_target)" "the live socket names slot b again"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "the rollback serves v1"
wait "$long_pid"
assert_eq 200 "$(cat "$S/long2.txt")" "the long request on the retired pool"
assert_contains "$(cat "$S/long2.body")" "a=v1 b=v1 i=v1" "it ran on v1 to its end"

step "an interrupted rollback that was waiting for a stopping pool starts nothing"
# sudo relays SIGINT to cutover alone: the helper still waits for the
# stop; when it ends, the caller is gone, so no pool is started for it.
curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 "$URL/?sleep=4000" > "$S/long3.txt" &
long_pid=$!
sleep 1
assert_ok deploy_version v3 -q
assert_eq deactivating "$(swap_unit_prop demo b ActiveState)" "v1's unit is stopping again"
calls_before=$(swap_calls | wc -l)
"$CUTOVER_BIN" -c "$CONF" rollback "$APP" </dev/null >"$S/rb.out" 2>&1 &
rb_pid=$!
sleep 1
kill -INT "$rb_pid"
wait "$rb_pid"; rc=$?
((rc != 0)) || fail "the interrupted rollback exited 0" "$(cat "$S/rb.out")"
assert_contains "$(cat "$S/rb.out")" "cutover: interrupted; the live site is unchanged" \
	"the interrupted rollback says nothing changed"
wait "$long_pid"
assert_eq 200 "$(cat "$S/long3.txt")" "the long request on the stopping pool"
swap_wait_state demo b inactive 10
new_calls=$(swap_calls | tail -n +$((calls_before + 1)))
assert_not_contains "$(jq -c '.argv[-2:]' <<<"$new_calls")" '["start","cutover-fpm@demo:b.service"]' \
	"no pool was started for the interrupted rollback"
assert_eq "demo.a/fpm.sock" "$(live_target)" "v3 stays live"
assert_contains "$(served /)" "a=v3 b=v3 i=v3" "v3 is served"
assert_ok co -q rollback
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "the lock was freed: the next rollback serves v1"
