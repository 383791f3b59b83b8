#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind under constant load: 12 keep-alive connections on the test
# app, served by nginx from ROOT/live/public, while cutover makes 10
# deploys, each a new version, with graceful php-fpm reloads. Every deploy
# exits 0 and leaves exactly one mount at live, the new release; loadgen
# counts 0 non-2xx, 0 socket errors, 0 unparsed and 0 stale responses
# (judged against a switch log written when each deploy returns, as in
# test_fpm_zero_downtime.sh).
#
# Torn responses are counted and reported, not asserted: in bind mode the
# path never changes, so a request in flight at the swap that loads a file
# after it (b.php, 20 ms after a.php) gets it from the new tree, unless
# OPcache already holds that path; docs/BIND.md states the trade-off.
# IT_BIND_OPCACHE=0 runs the pool without OPcache, to see the torn
# window itself.
IT_OWN_MOUNT_NS=1
IT_BIND=1
. "$(dirname "$0")/lib.sh"

GRACE_MS=4000

web_app_init opcache="${IT_BIND_OPCACHE:-1}"

step "first release, before any load"
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_live "$(release_of v0)" "after the first deploy"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "the first release is served"

step "10 deploys under load"
load_start LOAD / --connections 12 --switch-log "$SWITCH_LOG" \
	--switch-grace "$GRACE_MS" --expect-marker-file "$ROOT/live/RELEASE" --per-second
sleep 1
for i in $(seq 1 10); do
	run deploy_version "v$i" -q --json
	((RC == 0)) && switch_logged "v$i"
	if ((RC != 0)); then
		fail "deploy v$i exited $RC" "$(it_last_output)"
		continue
	fi
	assert_live "$(release_of "v$i")" "after deploy v$i"
	printf '   v%-2s swap %.3f ms, publish with checks %.1f ms, reload %.0f ms\n' "$i" \
		"$(jq -r .publish_ms <<<"$OUT")" "$(jq -r .durable_ms <<<"$OUT")" "$(jq -r '.reload.seconds * 1000' <<<"$OUT")"
	sleep 0.5
done
sleep 1
load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"

step "what the visitors saw"
if [[ $LOAD_SUMMARY != "summary "* ]]; then
	fail "loadgen printed no summary (exit code $RC)" "$ERR"
else
	[[ $(load_key ok) =~ ^[1-9] ]] || fail "no request succeeded: ok=$(load_key ok)"
	for key in non2xx errors unparsed stale; do
		assert_eq 0 "$(load_key "$key")" "$key responses under load" ||
			printf '%s\n' "$OUT" | tail -n 40
	done
	printf '   torn responses (reported, not asserted; OPcache %s): %s of %s\n' \
		"$([[ ${IT_BIND_OPCACHE:-1} == 1 ]] && echo on || echo off)" "$(load_key torn)" "$(load_key requests)"
fi
assert_eq 10 "$(load_key switches)" "switch log lines loadgen read"

step "live ends on the last release"
assert_live "$(release_of v10)" "at the end"
assert_eq "$(release_of v10)" "$(current_id)" "current at the end"
assert_contains "$(served /)" "a=v10 b=v10 i=v10" "the last release is served"
