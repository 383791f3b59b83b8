#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 19 (issue 10, item 1): a build step that detaches
# from its output, deployed through sudo by the CI user (the step's script
# ships in the artifact). At EOF on the output pipe the helper used to
# treat the step as exited and wait for it without a deadline, so a step
# that closed its output escaped the timeout, the disk budget and
# cancellation. Each case must hold until every process of the step is
# gone, however it detaches:
#   - closed output, then sleeps past timeout = 2: ended by the timeout;
#   - closed output in a double-forked setsid daemon that keeps the step
#     waiting: ended by the timeout, nothing left running;
#   - closed output, then writes 4 MB every 0.2 s under max_size = 20M:
#     stopped by the disk budget while it runs, not at the freeze;
#   - closed output, then sleeps: SIGTERM to the CI user's sudo ends the
#     run at once, not when the step ends on its own.
# After each the known-good release is still served, nothing is left
# running and no half-built release remains.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = exec sh step.sh' 'timeout = 2'
cat >"$SRC/step.sh" <<'STEP'
[ -e case ] || exit 0
case $(cat case) in
closed)
	exec >/dev/null 2>&1
	touch running
	sleep 8
	;;
daemon)
	# The daemon holds no output; the step waits for it.
	( setsid sh -c 'exec >/dev/null 2>&1 </dev/null; sleep 8; touch daemon-ran' & )
	exec >/dev/null 2>&1
	while [ ! -e daemon-ran ]; do sleep 0.1; done
	;;
disk)
	exec >/dev/null 2>&1
	i=0
	while [ $i -lt 20 ]; do
		head -c 4194304 /dev/zero >"blob.$i"
		i=$((i + 1))
		sleep 0.2
	done
	;;
esac
STEP
hostile_deploy_good
BEFORE=$(app_state)

# deploy_case CASE: deploys SRC with the step doing CASE, through sudo.
deploy_case()
{
	printf '%s\n' "$1" >"$SRC/case"
	chmod a+r "$SRC/case"
	run ci_cutover deploy "$APP" --from "$SRC"
}

# after_case WHAT: the app is as before and nothing of the run is left.
after_case()
{
	assert_no_cutover_procs "$1" 10
	assert_app_unchanged "$BEFORE" "$1"
}

step "a step that closes its output and sleeps past timeout = 2"
deploy_case closed
assert_eq 1 "$RC" "closed output: the deploy fails"
assert_contains "$ERR" "timed out after 2 s" "closed output: ended by the timeout"
assert_lt "$ELAPSED_MS" 6000 "closed output: ended near the deadline (ms)"
after_case "closed output"

step "a step that waits for a detached setsid daemon with no output"
deploy_case daemon
assert_eq 1 "$RC" "daemon: the deploy fails"
assert_contains "$ERR" "timed out after 2 s" "daemon: ended by the timeout"
assert_lt "$ELAPSED_MS" 6000 "daemon: ended near the deadline (ms)"
after_case "daemon"

step "a step that closes its output and then fills the disk past max_size = 20M"
# (the budget counts every writer of the filesystem: not smaller, other
# tests may run at the same time; the step writes 80 MB in 4 s)
etc_conf_write "$APP" "$ROOT" 'run = exec sh step.sh' 'timeout = 60' 'max_size = 20M'
deploy_case disk
assert_eq 1 "$RC" "disk: the deploy fails"
assert_contains "$ERR" "was stopped after writing more than max_size" "disk: stopped by the disk budget while running"
after_case "disk"

step "SIGTERM to sudo while a step with closed output sleeps"
printf 'closed\n' >"$SRC/case"
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)
bg sudo_pid "${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
wait_for 10 staging_started running || fail "the step did not start"
sleep 0.3
t0=$(now_ms)
kill -TERM "$sudo_pid"
bg_wait "$sudo_pid"
assert_ne 0 "$RC" "SIGTERM: the deploy fails"
assert_lt "$(($(now_ms) - t0))" 4000 "SIGTERM: the run ended soon after the signal (ms)"
after_case "SIGTERM"

