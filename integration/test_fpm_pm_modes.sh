#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Deploy and rollback with each php-fpm process manager: pm = static,
# dynamic and ondemand (a fresh stack each, 4 connections of load on /).
# In each: two deploys and a rollback exit 0, each with its health check
# passed (the progress line), current and the page served are the
# release expected after each, and loadgen sees no failed, torn or stale
# response. With ondemand, a reload may leave no worker running until
# the next request: the reload must not wait for one.
#
# Staleness is judged with a 4 s grace (a switch's line is written when
# cutover returns, up to about 2 s after the rename on a machine whose
# PID 1 reaps orphans late); the rollback comes 4.5 s after the deploy
# before it, so a stale v1 answer right after that deploy is caught.
. "$(dirname "$0")/lib.sh"

# run_mode PM: the whole scenario on a new stack with pm = PM.
run_mode()
{
	local pm=$1 op label

	step "pm = $pm"
	web_app_init "pm=$pm"
	assert_match "$(web_status "$WEB" | sed -n 's/^process manager: *//p')" "^$pm\$" "$pm: the pool's process manager"
	assert_ok deploy_version v1 -q || { fail "$pm: the first deploy failed"; return 1; }
	load_start LOAD / --connections 4 --switch-log "$SWITCH_LOG" --switch-grace 4000 \
		--expect-marker-file "$ROOT/current/RELEASE"
	sleep 0.5
	for op in "deploy v2" "rollback v1" "deploy v3"; do
		label=${op#* }
		if [[ $op == deploy* ]]; then
			run deploy_version "$label"
		else
			sleep 4
			run co rollback
		fi
		((RC == 0)) && switch_logged "$label"
		assert_eq 0 "$RC" "$pm: $op exit code" || printf '%s\n' "$(it_last_output)"
		assert_match "$ERR" $'(^|\n)  health check +[0-9.]+s' "$pm: $op passed its health check"
		assert_match "$ERR" $'(^|\n)  reload php-fpm +[0-9.]+s  graceful' "$pm: $op reloaded php-fpm gracefully"
		assert_eq "$(release_of "$label")" "$(current_id)" "$pm: current after $op"
		assert_contains "$(served /)" "a=$label b=$label i=$label" "$pm: served after $op"
		sleep 0.5
	done
	load_stop "$LOAD"
	printf '%s\n' "$LOAD_SUMMARY"
	assert_load_clean "$pm: requests through two deploys and a rollback"
	assert_eq 3 "$(load_key switches)" "$pm: switch log lines loadgen read"
	web_stop "$WEB" || fail "$pm: web_stop failed"
}

for pm in static dynamic ondemand; do
	run_mode "$pm"
done
