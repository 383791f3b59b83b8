#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The systemd test double of the reload = swap tests (lib/swap.sh,
# lib/systemd_double.py), with a trivial ExecStart in place of `cutover
# fpm-exec`: a python3 program that sends READY=1 over NOTIFY_SOCKET from
# its own pid (NotifyAccess=main), records its environment and parent pid,
# logs the signals it gets, and does what a file in the scratch dir says
# (exit 3 at start, never get ready, ignore SIGQUIT).
# start, show, a crash and its restart (NRestarts), the start limit,
# reset-failed, stop (SIGQUIT seen) and stop --no-block, a start that
# fails, an argument vector outside the contract refused, and nothing left
# behind (the double's namespace goes with it).

# shellcheck disable=SC2016 # wait_for eval '...' expands when it runs

. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

scratch_new W
cat >"$W/unit.py" <<'EOF'
import os, signal, socket, sys, time
inst = sys.argv[1]
d = sys.argv[2]
def log(text):
    with open("%s/%s.events" % (d, inst), "a") as f:
        f.write(text + "\n")
mode = open("%s/mode" % d).read().strip() if os.path.exists("%s/mode" % d) else "ok"
log("start pid=%d ppid=%d" % (os.getpid(), os.getppid()))
# As exec'd (python3 adds LC_CTYPE to its own os.environ).
with open("/proc/self/environ") as e, open("%s/%s.env" % (d, inst), "w") as f:
    f.write("\n".join(sorted(v for v in e.read().split("\0") if v)) + "\n")
def on_quit(s, f):
    log("SIGQUIT")
    if mode != "stubborn":
        sys.exit(0)
signal.signal(signal.SIGQUIT, on_quit)
if mode == "fail":
    sys.exit(3)
if mode != "noready":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1\nSTATUS=test unit", os.environ["NOTIFY_SOCKET"])
# A child in the unit's session, as php-fpm's workers are.
if os.fork() == 0:
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    while True:
        time.sleep(1)
while True:
    time.sleep(1)
EOF
chmod 0644 "$W/unit.py"

swap_double_start --stop-timeout 2 --start-timeout 3 \
	--exec-start /usr/bin/python3 "$W/unit.py" %i "$W"

U=cutover-fpm@shop:a.service
Q=(--quiet --no-ask-password --no-pager)
# shellcheck disable=SC2054 # one argument with commas
SHOW=(--no-ask-password --no-pager show --property=ActiveState,SubState,MainPID,NRestarts)

step "show of a unit never started: inactive, no main pid"
assert_ok swap_systemctl "${SHOW[@]}" "$U"
assert_contains "$OUT" "ActiveState=inactive" "a new unit is inactive"
assert_contains "$OUT" "MainPID=0" "a new unit has no main pid"
assert_contains "$OUT" "NRestarts=0"

step "start: returns once the unit sent READY=1"
assert_ok swap_systemctl "${Q[@]}" start "$U"
assert_eq active "$(swap_unit_prop shop a ActiveState)" "active after start"
assert_eq running "$(swap_unit_prop shop a SubState)" "running after start"
PID=$(swap_master_pid shop a)
assert_match "$PID" '^[1-9][0-9]*$' "MainPID is a pid"
assert_contains "$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>&1)" "$W/unit.py shop:a" \
	"MainPID is a host pid: the unit's process as this shell sees it"
assert_contains "$(cat "$W/shop:a.events")" "ppid=1" "the unit's parent is PID 1 of its namespace"
ENV=$(cat "$W/shop:a.env")
assert_contains "$ENV" "NOTIFY_SOCKET=$SWAP_DOUBLE_DIR/notify" "NOTIFY_SOCKET is set"
assert_contains "$ENV" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "systemd's PATH"
assert_not_contains "$ENV" "IT_" "nothing of the test's environment"
assert_eq 4 "$(grep -c '' <<<"$ENV")" "only PATH, INVOCATION_ID, NOTIFY_SOCKET and SYSTEMD_EXEC_PID"
assert_ok swap_systemctl "${Q[@]}" start "$U"
assert_eq "$PID" "$(swap_master_pid shop a)" "start of an active unit starts nothing"

step "show through the stand-in prints every property"
assert_ok swap_systemctl "${SHOW[@]}" "$U"
assert_eq "ActiveState=active MainPID=$PID NRestarts=0 SubState=running" \
	"$(printf '%s\n' "$OUT" | LC_ALL=C sort | paste -sd' ' -)" "show's lines"

step "a crash (SIGKILL): restarted after 100 ms, NRestarts counts it"
CHILD=$(pgrep -P "$PID")
assert_match "$CHILD" '^[0-9]+$' "the unit has a child"
swap_kill_master shop a KILL
wait_for 5 eval '[[ $(swap_master_pid shop a) != "$PID" && $(swap_unit_prop shop a ActiveState) == active ]]' ||
	fail "not restarted" "$(swap_unit_show shop a)"
assert_eq 1 "$(swap_unit_prop shop a NRestarts)" "NRestarts after one crash"
assert_eq "" "$(ps -o pid= -p "$CHILD")" "the crashed unit's child was killed (KillMode=mixed)"

step "SIGTERM from outside is a clean exit: inactive, not restarted"
PID=$(swap_master_pid shop a)
# Never "kill 0" (this test's process group) if the unit has no pid.
[[ $PID =~ ^[1-9][0-9]*$ && $PID != 1 ]] && kill -TERM "$PID"
wait_for 5 eval '[[ $(swap_unit_prop shop a ActiveState) != active ]]'
assert_eq inactive "$(swap_unit_prop shop a ActiveState)" "SIGTERM is a clean exit: inactive, not restarted"
assert_ok swap_systemctl "${Q[@]}" start "$U"

step "start limit: more than 5 starts in 30 s fail the unit"
# Starts so far in 30 s: 2 by hand, 1 restart. Two more crashes make 5;
# the third restart would be the sixth start.
for n in 1 2 3; do
	PID=$(swap_master_pid shop a)
	[[ $PID != 0 ]] && swap_kill_master shop a KILL
	wait_for 5 eval '[[ $(swap_master_pid shop a) != "$PID" ]]'
	sleep 0.3
done
assert_eq failed "$(swap_unit_prop shop a ActiveState)" "failed after the start limit"
assert_eq 0 "$(swap_unit_prop shop a MainPID)" "no main pid when failed"
assert_exit 1 swap_systemctl "${Q[@]}" start "$U"
assert_contains "$ERR" "Start request repeated too quickly" "start refused until reset-failed"

step "reset-failed: inactive, NRestarts 0, start works again"
assert_ok swap_systemctl "${Q[@]}" reset-failed "$U"
assert_eq "inactive 0" "$(swap_unit_prop shop a ActiveState) $(swap_unit_prop shop a NRestarts)" "after reset-failed"
assert_ok swap_systemctl "${Q[@]}" start "$U"
PID=$(swap_master_pid shop a)
CHILD=$(pgrep -P "$PID")

step "stop: SIGQUIT to the main pid, returns when it is gone"
assert_ok swap_systemctl "${Q[@]}" stop "$U"
assert_eq inactive "$(swap_unit_prop shop a ActiveState)" "inactive after stop"
assert_eq SIGQUIT "$(tail -n 1 "$W/shop:a.events")" "the unit got SIGQUIT"
assert_eq "" "$(ps -o pid= -p "$PID" -p "$CHILD")" "main and child are gone when stop returns"
assert_eq 0 "$(swap_unit_prop shop a NRestarts)" "a stop is not a crash"
assert_ok swap_systemctl "${Q[@]}" stop "$U"

step "stop of a unit ignoring SIGQUIT: SIGKILL after the stop timeout"
echo stubborn >"$W/mode"
assert_ok swap_systemctl "${Q[@]}" start cutover-fpm@shop:b.service
assert_ok swap_systemctl "${Q[@]}" stop cutover-fpm@shop:b.service
assert_eq inactive "$(swap_unit_prop shop b ActiveState)" "inactive after the SIGKILL"
((ELAPSED_MS >= 1900)) || fail "stop returned after $ELAPSED_MS ms, before the 2 s stop timeout"
assert_contains "$(cat "$SWAP_DOUBLE_DIR/daemon.log")" "stop timed out, SIGKILL"

step "stop --no-block returns at once; the unit stops meanwhile"
assert_ok swap_systemctl "${Q[@]}" start cutover-fpm@shop:b.service
assert_ok swap_systemctl "${Q[@]}" --no-block stop cutover-fpm@shop:b.service
assert_lt "$ELAPSED_MS" 1500 "stop --no-block did not wait for the unit"
assert_eq deactivating "$(swap_unit_prop shop b ActiveState)" "deactivating right after stop --no-block"
swap_wait_state shop b inactive 10
rm -f "$W/mode"

step "start right after stop --no-block waits for the stop, then starts (a queued job)"
echo stubborn >"$W/mode"
assert_ok swap_systemctl "${Q[@]}" start cutover-fpm@shop:b.service
rm -f "$W/mode"
PID=$(swap_master_pid shop b)
assert_ok swap_systemctl "${Q[@]}" --no-block stop cutover-fpm@shop:b.service
assert_ok swap_systemctl "${Q[@]}" start cutover-fpm@shop:b.service
((ELAPSED_MS >= 1500)) || fail "start returned after $ELAPSED_MS ms, before the stop (2 s timeout) ended"
assert_eq active "$(swap_unit_prop shop b ActiveState)" "active after the queued start"
assert_ne "$PID" "$(swap_master_pid shop b)" "a new main pid"
assert_ok swap_systemctl "${Q[@]}" stop cutover-fpm@shop:b.service

step "a start whose process exits before READY=1: exit 1, failed"
echo fail >"$W/mode"
assert_exit 1 swap_systemctl "${Q[@]}" start "$U"
assert_eq failed "$(swap_unit_prop shop a ActiveState)" "failed after a failed start"
echo noready >"$W/mode"
assert_ok swap_systemctl "${Q[@]}" reset-failed "$U"
assert_exit 1 swap_systemctl "${Q[@]}" start "$U"
assert_contains "$ERR" "timeout" "no READY=1 within TimeoutStartSec"
assert_eq failed "$(swap_unit_prop shop a ActiveState)" "failed after a start timeout"
rm -f "$W/mode"

step "argument vectors outside the contract are refused with exit 2"
for argv in "start $U" "${Q[*]} restart $U" "${Q[*]} start cutover-fpm@shop:c.service" \
	"${Q[*]} start nginx.service" "--no-ask-password --no-pager show $U" \
	"${Q[*]} --job-mode=fail start $U" "${Q[*]} start $U extra"; do
	# shellcheck disable=SC2086 # one word per argument
	assert_exit 2 swap_systemctl $argv
	assert_contains "$ERR" "unexpected arguments" "refused: $argv"
done

step "every call was logged with its argument vector, uid and environment"
assert_eq "$(swap_calls | wc -l)" "$(swap_calls | jq -r '.argv | length' | grep -c .)" "calls.log is JSON lines"
assert_contains "$(swap_calls | tail -n 1 | jq -c .argv)" '"extra"'
assert_eq 0 "$(swap_calls | tail -n 1 | jq .uid)" "the caller's uid"

step "nothing left behind: stopping the double stops every unit"
echo stubborn >"$W/mode"
assert_ok swap_systemctl "${Q[@]}" start "$U"
assert_ok swap_systemctl "${Q[@]}" reset-failed cutover-fpm@shop:b.service
assert_ok swap_systemctl "${Q[@]}" start cutover-fpm@shop:b.service
swap_double_stop
assert_eq "" "$(procs_on "$W")" "no unit process is left"
assert_eq "" "$(procs_on "$SWAP_DOUBLE_DIR")" "the double is gone"
assert_exit 1 swap_systemctl "${SHOW[@]}" "$U"
assert_contains "$ERR" "cannot connect" "the stand-in says the double is gone"
