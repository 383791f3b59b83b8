#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap end to end, under load: the first deploy starts the first
# pool (slot a) and points the live socket at it; each later deploy starts
# the other slot for its release, checks the release inside that new pool,
# renames `current` and the live socket, and keeps the old pool warm
# (keep_warm); a rollback goes back to the warm pool by renames only
# (nothing started). loadgen on 12 keep-alive connections sees 0 failed,
# 0 torn, 0 stale responses through 6 deploys and 2 rollbacks. The live
# socket is only ever a symlink to a slot's socket: no master listens on
# it. status shows both pools; a deploy with keep_warm = 0 stops the old
# master once its queue is empty.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=300)
swap_app_init

step "first deploy: the first pool"
run deploy_version v0 -q --json
[[ $RC == 0 ]] || fatal "the first deploy failed" "$(it_last_output)"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the live socket names slot a"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "the first release is served"
assert_eq a "$(jq -r .pool.slot <<<"$OUT")" "JSON: the pool's slot"
assert_eq false "$(jq -r .pool.already_warm <<<"$OUT")" "JSON: a new pool was started"
assert_ne 0 "$(swap_master_pid demo a)" "slot a's unit has a master"

step "second deploy: slot b, the old pool kept warm"
old_pid=$(swap_master_pid demo a)
run deploy_version v1 -q --json
[[ $RC == 0 ]] || fatal "the second deploy failed" "$(it_last_output)"
assert_eq "demo.b/fpm.sock" "$(live_target)" "the live socket names slot b"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is served"
assert_eq b "$(jq -r .pool.slot <<<"$OUT")" "JSON: the new pool's slot"
assert_eq a "$(jq -r .pool.previous_slot <<<"$OUT")" "JSON: the previous slot"
assert_eq 300 "$(jq -r .pool.kept_warm_seconds <<<"$OUT")" "JSON: the old pool is kept warm"
assert_eq "$old_pid" "$(swap_master_pid demo a)" "slot a's master still runs (warm)"
[[ -S /run/cutover/fpm/demo.a/fpm.sock ]] || fail "slot a's socket is gone"

step "status shows a live and a warm pool"
assert_ok co --json status
assert_eq "live" "$(jq -r '.pools[] | select(.slot == "b") | .state' <<<"$OUT")" "slot b is live"
assert_eq "warm" "$(jq -r '.pools[] | select(.slot == "a") | .state' <<<"$OUT")" "slot a is warm"
assert_eq "$(release_of v0)" "$(jq -r '.pools[] | select(.slot == "a") | .release' <<<"$OUT")" "slot a runs v0"
assert_ok co status
assert_match "$ERR$OUT" "pool b.*live" "status prints the live pool"

step "rollback to the warm pool: renames only"
assert_ok co -q --json rollback
assert_eq true "$(jq -r .pool.already_warm <<<"$OUT")" "the rollback started nothing"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the live socket names slot a again"
assert_eq "$old_pid" "$(swap_master_pid demo a)" "the same master serves again"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is served again"

step "deploys and a rollback under load"
load_start LOAD / --connections 12 --switch-log "$SWITCH_LOG" --switch-grace 1000 \
	--expect-marker-file "$ROOT/current/RELEASE" --per-second
sleep 1
for label in v2 v3 v4; do
	run deploy_version "$label" -q
	[[ $RC == 0 ]] && switch_logged "$label"
	((RC == 0)) || fail "deploy $label under load exited $RC" "$(it_last_output)"
	sleep 0.5
done
sleep 1.5
run co -q rollback
[[ $RC == 0 ]] && switch_logged v3
((RC == 0)) || fail "rollback under load exited $RC" "$(it_last_output)"
sleep 0.5
run deploy_version v5 -q
[[ $RC == 0 ]] && switch_logged v5
((RC == 0)) || fail "deploy v5 under load exited $RC" "$(it_last_output)"
sleep 1
load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"
assert_load_clean "4 deploys and a rollback with reload = swap"

step "the live socket is a symlink; no master listens on it"
[[ -L $LIVE_SOCK ]] || fail "$LIVE_SOCK is not a symlink"
assert_eq "" "$(ss -xlH | awk -v p="$LIVE_SOCK" '$5 == p')" "nothing listens on the live path itself"

step "keep_warm = 0: the old master stops once its queue is empty"
SWAP_FPM=(fpm.keep_warm=0)
swap_app_config
live=$(live_target)
live_slot=${live%%/*}; live_slot=${live_slot##*.}
assert_ok deploy_version v6 -q --json
assert_eq 0 "$(jq -r .pool.kept_warm_seconds <<<"$OUT")" "JSON: not kept warm"
swap_wait_state demo "$live_slot" inactive 15 || fail "the old pool's unit did not stop"
[[ -e /run/cutover/fpm/demo.$live_slot/fpm.sock ]] && fail "the old pool's socket is still there"
assert_contains "$(served /)" "a=v6 b=v6 i=v6" "v6 is served"
