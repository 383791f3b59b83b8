#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap: fpm-start run while the live master is being restarted
# by its unit after a crash (the trim timer can hit that moment) points
# the live socket at a new pool in the other slot; the unit then brings
# the old slot's master back, a pool nothing serves. fpm-start's trim
# must stop it once keep_warm has passed, like any pool kept warm
# (review 14c: it had no warm-since mark, so it stayed "warm for 0 s"
# until the next deploy).
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=2)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_ok deploy_version v1 -q || fatal "the second deploy failed"
assert_eq "demo.b/fpm.sock" "$(live_target)" "v1 is live in slot b"

step "SIGKILL of the live master, fpm-start before the unit restarted it"
pid=$(swap_master_pid demo b)
swap_kill_master demo b KILL
assert_ok co -q --json fpm-start
assert_eq "demo.a/fpm.sock" "$(live_target)" "fpm-start pointed the live socket at slot a"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is served from slot a"
wait_for 10 eval '[[ $(swap_master_pid demo b) != 0 && $(swap_master_pid demo b) != '"$pid"' ]]' ||
	fail "the unit did not restart slot b's master" "$(swap_unit_show demo b)"
swap_wait_state demo b active 10 || fail "slot b did not come back" "$(swap_unit_show demo b)"
assert_ok co --json status
assert_eq warm "$(jq -r '.pools[] | select(.slot == "b") | .state' <<<"$OUT")" "status: slot b runs, not live"

step "past keep_warm, fpm-start's trim stops it"
sleep 3
assert_ok co --json fpm-start
assert_eq '["b"]' "$(jq -c .stopped <<<"$OUT")" "the trim stopped slot b"
swap_wait_state demo b inactive 10 || fail "slot b still runs after the trim" "$(swap_unit_show demo b)"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the live socket still names slot a"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is still served"
