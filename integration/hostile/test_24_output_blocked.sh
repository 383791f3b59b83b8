#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 24 (review 2, H1): the CI user stops reading cutover's
# output. The helper used to send a step's output on a blocking socket:
# once the front end stopped reading (its stderr a pipe nobody reads, or
# the front end stopped by SIGTSTP to the CI user's own sudo) the helper
# blocked in that send, and nothing checked the step's deadline, its disk
# budget or cancellation: the step ran on, past its timeout, with the
# app's lock held. Through sudo, a step that writes output continuously:
#   - output to a pipe that is never read, timeout = 3: the step is
#     killed near its deadline while the pipe is still full; once the
#     pipe is drained the deploy fails with the timeout message;
#   - the same, writing 4 MB every 0.2 s under max_size = 20M (and
#     timeout = 60): stopped by the disk budget while nobody reads;
#   - SIGTSTP to sudo, timeout = 3: the step is killed near its deadline
#     while the front end is stopped; after SIGCONT the deploy fails with
#     the timeout message.
# After each the app is as it was, nothing is left running, the lock is
# free (the next deploy works).
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = exec sh step.sh' 'timeout = 3'
cat >"$SRC/step.sh" <<'STEP'
[ -e case ] || exit 0
touch running
line=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
case $(cat case) in
output)
	while :; do echo "$line"; done
	;;
disk)
	( while :; do echo "$line"; done ) &
	i=0
	while [ $i -lt 60 ]; do
		head -c 4194304 /dev/zero >"blob.$i"
		i=$((i + 1))
		sleep 0.2
	done
	;;
esac
STEP
hostile_deploy_good
BEFORE=$(app_state)
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)

set_case()
{
	printf '%s\n' "$1" >"$SRC/case"
	chmod a+r "$SRC/case"
}

# deploy_unread: deploys SRC through sudo with stdout and stderr on a fifo
# that this shell holds open without reading it (DEPLOY_PID, FIFO_FD).
deploy_unread()
{
	local fifo=$S/out.fifo

	rm -f "$fifo"
	mkfifo -m 0600 "$fifo"
	"${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC" </dev/null >"$fifo" 2>&1 &
	DEPLOY_PID=$!
	IT_PIDS+=("$DEPLOY_PID")
	DEPLOY_T0=$(now_ms)
	exec {FIFO_FD}<"$fifo"
}

# drain_unread: reads the fifo to its end (at most 30 s), then waits for
# the deploy: RC, ERR.
drain_unread()
{
	ERR=$(timeout 30 cat <&"$FIFO_FD" | tail -c 4000)
	exec {FIFO_FD}<&-
	if ! wait_for 10 eval "! kill -0 $DEPLOY_PID 2>/dev/null"; then
		fail "the deploy did not end after its output was read" "$(cutover_procs)"
		kill -KILL "$DEPLOY_PID" 2>/dev/null
	fi
	wait "$DEPLOY_PID"
	RC=$?
}

# step_gone_by MS WHAT: no process of the step is left (none working in
# ROOT) within MS of the start of the deploy, while cutover still runs.
step_gone_by()
{
	local left=$(($1 - ($(now_ms) - DEPLOY_T0)))

	((left < 1000)) && left=1000
	if wait_for "$((left / 1000))" no_procs_in_root; then
		assert_lt "$(($(now_ms) - DEPLOY_T0))" "$1" "$2: the step ended near its limit (ms)"
	else
		fail "$2: the step still runs $(($(now_ms) - DEPLOY_T0)) ms after the start" "$(procs_in_root)"
	fi
}

# after_case WHAT: the app is as before and nothing of the run is left.
after_case()
{
	assert_no_cutover_procs "$1" 10
	assert_app_unchanged "$BEFORE" "$1"
	run "$CUTOVER_BIN" --json status "$APP"
	assert_eq null "$(jq -r .lock <<<"$OUT")" "$1: no lock holder afterwards"
}

step "a step writing output continuously, cutover's output a pipe nobody reads, timeout = 3"
set_case output
deploy_unread
wait_for 10 staging_started running || fail "the step did not start"
step_gone_by 6500 "unread pipe"
drain_unread
assert_eq 1 "$RC" "unread pipe: the deploy fails"
assert_contains "$ERR" "timed out after 3 s" "unread pipe: ended by the timeout"
after_case "unread pipe"

step "the same, writing 4 MB every 0.2 s under max_size = 20M, timeout = 60"
etc_conf_write "$APP" "$ROOT" 'run = exec sh step.sh' 'timeout = 60' 'max_size = 20M'
set_case disk
deploy_unread
wait_for 10 staging_started running || fail "the step did not start"
step_gone_by 8000 "unread pipe, disk"
drain_unread
assert_eq 1 "$RC" "unread pipe, disk: the deploy fails"
assert_contains "$ERR" "was stopped after writing more than max_size" "unread pipe, disk: stopped by the disk budget"
after_case "unread pipe, disk"
etc_conf_write "$APP" "$ROOT" 'run = exec sh step.sh' 'timeout = 3'

step "a step writing output continuously, SIGTSTP to the CI user's sudo, timeout = 3"
set_case output
bg sudo_pid "${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
DEPLOY_T0=$(now_ms)
wait_for 10 staging_started running || fail "the step did not start"
"${CI_RUN[@]}" kill -TSTP "$sudo_pid" || fail "the CI user cannot signal its sudo"
sleep 0.5
stopped=$(ps -o stat= -p "$(cutover_procs | awk '$3 != 0 { print $1; exit }')" 2>/dev/null)
[[ $stopped == T* ]] || fail "SIGTSTP: the front end is not stopped (state '$stopped')" "$(cutover_procs)"
step_gone_by 6500 "SIGTSTP"
"${CI_RUN[@]}" kill -CONT "$sudo_pid"
for p in $(cutover_procs | awk '{ print $1 }'); do
	kill -CONT "$p" 2>/dev/null
done
bg_wait "$sudo_pid"
assert_eq 1 "$RC" "SIGTSTP: the deploy fails after SIGCONT"
assert_contains "$ERR" "timed out after 3 s" "SIGTSTP: ended by the timeout"
after_case "SIGTSTP"

step "the lock is free: the next deploy works"
rm -f "$SRC/case"
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "the next deploy succeeds" || it_last_output
assert_no_cutover_procs "the next deploy" 10
