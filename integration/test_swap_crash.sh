#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap, what keeps the live pool up: a SIGKILLed master is
# restarted by its unit (Restart=on-failure, here the systemd double) on
# the same socket path, so the live socket is right again by itself; a
# master that keeps crashing leaves its unit failed, which status shows,
# and `cutover fpm-start` brings the live release's pool back. After a
# simulated reboot (units gone, /run/cutover empty) fpm-start starts the
# current release's pool and points the live socket at it; a second
# fpm-start changes nothing; a pool kept warm past keep_warm is stopped by
# fpm-start (what the trim timer runs).
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=300)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"

step "SIGKILL of the live master: the unit restarts it"
pid=$(swap_master_pid demo a)
swap_kill_master demo a KILL
wait_for 10 eval '[[ $(swap_master_pid demo a) != 0 && $(swap_master_pid demo a) != '"$pid"' ]]' ||
	fail "no new master after the crash" "$(swap_unit_show demo a)"
wait_for 10 eval '[[ $(served /) == *"a=v0 b=v0 i=v0"* ]]' || fail "the site did not come back after the crash"
assert_eq 1 "$(swap_unit_prop demo a NRestarts)" "the unit counted the restart"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the live socket was never touched"
run co --json status
assert_eq live "$(jq -r '.pools[] | select(.slot == "a") | .state' <<<"$OUT")" "status: slot a is live again"

step "a master that keeps crashing: the unit fails, status says so"
for i in 1 2 3 4 5 6; do
	p=$(swap_master_pid demo a)
	[[ $p == 0 ]] && break
	swap_kill_master demo a KILL
	wait_for 5 eval '[[ $(swap_master_pid demo a) != '"$p"' ]]' || true
done
swap_wait_state demo a failed 10 || fail "the unit did not fail after repeated crashes" "$(swap_unit_show demo a)"
run co --json status
assert_eq failed "$(jq -r '.pools[] | select(.slot == "a") | .state' <<<"$OUT")" "status: slot a failed"
run co status
assert_match "$OUT$ERR" "pool a:.*failed" "status prints the failed pool"
assert_ne 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/")" "the site is down"

step "fpm-start brings the live release back"
assert_ok co fpm-start
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is served again"
assert_eq live "$(co --json status | jq -r '.pools[] | select(.state == "live") | .state')" "a live pool"

step "a reboot: units gone, /run/cutover empty"
assert_ok deploy_version v1 -q
swap_double_stop
rm -rf /run/cutover
swap_double_start || fatal "the double did not start again"
assert_ne 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/")" "nothing serves after the reboot"
assert_ok co --json fpm-start
assert_eq "$(release_of v1)" "$(jq -r .release <<<"$OUT")" "fpm-start started the current release"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is served after fpm-start"
[[ -L $LIVE_SOCK ]] || fail "the live socket is not a symlink after fpm-start"
pid=$(swap_master_pid demo "$(live_target | sed 's/^demo\.\(.\).*/\1/')")

step "fpm-start again: nothing changes"
assert_ok co --json fpm-start
assert_eq true "$(jq -r .pool.already_warm <<<"$OUT")" "the second fpm-start started nothing"
assert_eq "$pid" "$(swap_master_pid demo "$(live_target | sed 's/^demo\.\(.\).*/\1/')")" "the same master"

step "a pool kept warm past keep_warm is stopped by fpm-start"
swap_app_config fpm.keep_warm=1
assert_ok deploy_version v2 -q
warm=$(co --json status | jq -r '.pools[] | select(.state == "warm") | .slot')
[[ $warm == [ab] ]] || fail "no warm pool after the deploy"
sleep 2.2
assert_ok co --json fpm-start
assert_eq "[\"$warm\"]" "$(jq -c .stopped <<<"$OUT")" "fpm-start stopped the expired warm pool"
swap_wait_state demo "$warm" inactive 10 || fail "the expired pool's unit did not stop"
assert_contains "$(served /)" "a=v2 b=v2 i=v2" "v2 is served"
