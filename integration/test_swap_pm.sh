#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap with each process manager: the pool file is read again at
# every slot start, so one app goes through pm = static, dynamic and
# ondemand, a deploy under load each, with 0 failed, torn or stale
# responses. Each new pool has the workers its pm gives it: static all of
# pm.max_children, dynamic pm.start_servers, ondemand one per request
# (here: the pre-switch check's and the warm-up's).
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=0 "fpm.warm_urls=/ /up" fpm.warm_requests=2)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"

# workers SLOT: the children of the slot's master.
workers()
{
	pgrep -c -P "$(swap_master_pid demo "$1")" || true
}

# deploy_under_load LABEL: a deploy of LABEL beside loadgen, which must
# see nothing wrong; prints the new slot.
deploy_under_load()
{
	local label=$1

	load_start LOAD / --connections 6 --switch-log "$SWITCH_LOG" --switch-grace 1000 \
		--expect-marker-file "$ROOT/current/RELEASE"
	sleep 0.7
	run deploy_version "$label" -q --json
	((RC == 0)) && switch_logged "$label"
	((RC == 0)) || fail "deploy $label exited $RC" "$(it_last_output)"
	sleep 0.7
	load_stop "$LOAD"
	assert_load_clean "deploy $label"
	assert_contains "$(served /)" "a=$label b=$label i=$label" "$label is served"
}

for pm in dynamic ondemand static; do
	step "pm = $pm"
	case $pm in
	dynamic) swap_pool_template "$POOL" pm=dynamic pm.max_children=6 pm.start_servers=2 \
		pm.min_spare_servers=1 pm.max_spare_servers=3 ;;
	ondemand) swap_pool_template "$POOL" pm=ondemand pm.max_children=6 pm.process_idle_timeout=30s ;;
	static) swap_pool_template "$POOL" pm=static pm.max_children=5 ;;
	esac
	deploy_under_load "v-$pm"
	slot=$(live_target); slot=${slot%%/*}; slot=${slot##*.}
	n=$(workers "$slot")
	case $pm in
	dynamic) ((n >= 2 && n <= 6)) || fail "pm = dynamic: $n workers (expected 2 to 6)" ;;
	ondemand) ((n >= 1 && n <= 6)) || fail "pm = ondemand: $n workers (expected 1 to 6)" ;;
	static) assert_eq 5 "$n" "pm = static: every worker" ;;
	esac
	grep -q "^pm = $pm" "$POOL" || fail "the pool file was not rewritten"
done
