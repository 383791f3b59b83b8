#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Slow requests through a graceful deploy (process_control_timeout = 10s,
# 8 static workers): 4 requests of /?sleep=2000 are in flight, beside
# steady fast traffic, when a deploy starts. Twice:
#
#  A. as configured (max_inflight_ms = 500), deploying once the slow
#     requests have run 0.6 s: cutover's drain waits until no request has
#     run longer than 500 ms, that is until the slow ones end, and only
#     then signals php-fpm. Its JSON (the run time before the reload and
#     the drain wait) puts the signal after the slow requests ended, and
#     the drain's start well before.
#  B. with max_inflight_ms = 60000 and the deploy started as soon as they
#     run, so that the signal comes while they run: php-fpm's graceful
#     reload lets them finish, and cutover's reload, which waits for the
#     old workers to go, began at least 0.5 s before they ended and the
#     deploy returned after.
#
# Each time, all slow requests answer 200 after their full 2 s with the
# release that was live when they were sent (none cut short or failed),
# and the fast traffic sees no error, torn or stale response.
#
# The timing claims compare wall clocks (loadgen's per-request
# CLOCK_REALTIME times with cutover's own durations) with slack of 0.1 to
# 0.5 s; the slow requests are made to have at least 1 s left when the
# deploy starts (checked), so the claims are not met by accident.
#
# loadgen judges staleness with a 10 s grace: cutover switches before it
# drains and reloads, so the new release answers for the drain's and the
# reload's length (seconds here) before the deploy returns and the switch
# line is written. Every deploy here is a new version that nothing served
# before, so the grace lets no stale answer pass.
. "$(dirname "$0")/lib.sh"

SLOW_MS=2000

web_app_init
assert_ok deploy_version v1 -q || fatal "the first deploy failed"

load_start FAST / --connections 6 --switch-log "$SWITCH_LOG" --switch-grace 10000 \
	--expect-marker-file "$ROOT/current/RELEASE" --per-second
sleep 0.5

# slow_deploy PHASE LABEL OLD AGE_MS: starts 4 slow requests, deploys
# LABEL once they have run AGE_MS, waits for them and checks them. Sets
# DEPLOY_JSON, T0 and T1 (ms since the epoch, around the deploy) and
# SLOW_END (when the last slow response was complete). Fails if the
# deploy did, or if the slow requests had less than 1 s left at T0: the
# timing claims are then not worth checking.
slow_deploy()
{
	local phase=$1 label=$2 old=$3 age_ms=$4 tsv=$S/slow-${1%% *}.tsv slow stats n ok min_ms ids

	step "$phase: 4 requests of ${SLOW_MS} ms in flight, deploy $label"
	app_version "$label"
	load_start slow "/?sleep=$SLOW_MS" --connections 4 --max-requests 4 --duration 10 \
		--timeout 15000 --drain 15 --out "$tsv" --switch-log "$SWITCH_LOG" --switch-grace 10000 \
		--expect-marker-file "$ROOT/current/RELEASE"
	wait_for 5 fpm_running_at_least 4 "sleep=$SLOW_MS" "$age_ms" ||
		fail "$phase: the 4 slow requests never ran together for ${age_ms} ms" "$(web_status "$WEB")"
	T0=$(now_ms)
	run deploy_version "$label" -q --json
	T1=$(now_ms)
	((RC == 0)) && switch_logged "$label"
	DEPLOY_JSON=$OUT
	local deploy_rc=$RC
	assert_eq 0 "$RC" "$phase: deploy $label exit code" || printf '%s\n' "$(it_last_output)"
	assert_eq "$(release_of "$label")" "$(current_id)" "$phase: current after the deploy"
	load_wait "$slow"
	assert_load_clean "$phase: the slow requests"
	# n, 200s without error, shortest latency (ms), last completion (ms
	# since the epoch), and the ids served.
	stats=$(awk -F'\t' 'NR > 1 {
			n++
			if ($8 == 200 && $9 == "none") ok++
			lat = $7 / 1000
			if (min == "" || lat < min) min = lat
			if ($6 > last) last = $6
			ids[$10 "/" $11] = 1
		}
		END {
			s = ""
			for (k in ids) s = s (s == "" ? "" : ",") k
			# %.0f, not %d: mawk clamps %d at 2^31
			printf "%d %d %.0f %.0f %s\n", n, ok, min, last / 1000000, s
		}' "$tsv")
	read -r n ok min_ms SLOW_END ids <<<"$stats"
	assert_eq "4 4" "$n $ok" "$phase: slow requests sent, and answered 200 without error"
	((min_ms >= SLOW_MS)) ||
		fail "$phase: a slow request ended after $min_ms ms, before its ${SLOW_MS} ms (cut short)"
	assert_eq "$old/$old" "$ids" "$phase: the slow requests were served by the release live when they were sent"
	printf '%s: deploy %d ms, slow requests ended %d ms after it started; %s\n' "$phase" \
		$((T1 - T0)) $((SLOW_END - T0)) "$(jq -c .reload <<<"$DEPLOY_JSON" 2>/dev/null)"
	[[ $deploy_rc == 0 && $(jq -r '.reload.seconds | type' <<<"$DEPLOY_JSON" 2>/dev/null) == number ]] ||
		return 1
	((SLOW_END - T0 >= 1000)) ||
		fail "$phase: precondition: the slow requests should have had >= 1 s left when the deploy started" \
			"they ended $((SLOW_END - T0)) ms after it started"
}

# fpm_running_at_least N PATTERN MIN_MS
fpm_running_at_least()
{
	(($(fpm_running "$2" "$3") >= $1))
}

# json_ms EXPR: a number from DEPLOY_JSON (seconds * 1000 for seconds),
# rounded down to ms.
json_ms()
{
	jq -r "($1) | floor" <<<"$DEPLOY_JSON"
}

# drain_began: when the reload (its drain first) began, in ms since the
# epoch: the deploy's run time before the reload, counted from T0 (cutover
# starts a few ms after T0; the health check and prune after the reload
# are counted in, a few ms too).
drain_began()
{
	printf '%d' $((T0 + $(json_ms '(.seconds - .reload.seconds) * 1000')))
}

if slow_deploy "A (drain)" v2 v1 600; then
	began=$(drain_began)
	drain_ms=$(json_ms .reload.drain_wait_ms)
	((began <= SLOW_END - 500)) ||
		fail "A: the drain should have begun while the slow requests ran" \
			"began at T0 + $((began - T0)) ms; slow requests ended at T0 + $((SLOW_END - T0)) ms"
	# SIGUSR2 follows the drain (after php-fpm -t, which only adds time).
	((began + drain_ms >= SLOW_END - 250)) ||
		fail "A: cutover signalled php-fpm before the slow requests ended" \
			"drain from T0 + $((began - T0)) ms for ${drain_ms} ms; slow requests ended at T0 + $((SLOW_END - T0)) ms"
fi

web_app_config fpm.max_inflight_ms=60000
if slow_deploy "B (graceful reload)" v3 v2 0; then
	began=$(drain_began)
	drain_ms=$(json_ms .reload.drain_wait_ms)
	((began + drain_ms <= SLOW_END - 500)) ||
		fail "B: the reload should have started while the slow requests ran" \
			"drain ended at T0 + $((began + drain_ms - T0)) ms; slow requests ended at T0 + $((SLOW_END - T0)) ms"
	((T1 >= SLOW_END - 100)) ||
		fail "B: the deploy returned before the slow requests ended: its reload did not wait for them" \
			"returned at T0 + $((T1 - T0)) ms; slow requests ended at T0 + $((SLOW_END - T0)) ms"
fi

step "fast traffic through both deploys"
sleep 0.5
load_stop "$FAST"
printf '%s\n' "$LOAD_SUMMARY"
assert_load_clean "fast requests through both deploys"
assert_eq 2 "$(load_key switches)" "switch log lines loadgen read"
assert_contains "$(served /)" "a=v3 b=v3 i=v3" "the last release is served"
