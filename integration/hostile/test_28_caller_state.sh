#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 28: process state the CI user sets before sudo, other
# than limits (group 17). Signal dispositions survive execve, and sudo hands
# the caller's back before it runs cutover; niceness, scheduling policy,
# CPU mask, I/O class and the OOM score are inherited too.
#
#  1. SIGCHLD ignored: children are reaped behind the helper's back, and a
#     failed waitpid used to read as exit status 0: a build step that exits
#     3 deployed. It must fail, the live release unchanged.
#  2. SIGTERM and SIGALRM ignored and blocked, SIGCHLD blocked: a step that
#     sleeps past `timeout = 2` is still stopped at the timeout.
#  3. nice 19, SCHED_IDLE, one CPU, ionice idle, oom_score_adj 1000: the
#     helper and the front end run at nice 0, SCHED_OTHER, no I/O class,
#     every CPU the test itself may use, and an OOM score of 0.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh' 'timeout = 2'
printf 'if [ -e fail ]; then exit 3; fi\nif [ -e slow ]; then touch started; sleep 30; fi\n' >"$SRC/step.sh"
hostile_deploy_good
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)
NOBODY=$(id -u nobody)
cases=0

# deploy_as PREFIX: deploys SRC through sudo from a bash set up by PREFIX.
deploy_as()
{
	run "${CI_RUN[@]}" bash -c "$1 exec sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\"" \
		"$CUTOVER_BIN" "$APP" "$SRC"
}

step "a failing build step with SIGCHLD ignored before sudo"
touch "$SRC/fail"
set_index "$SRC" v2
before=$(app_state)
run "${CI_RUN[@]}" env --ignore-signal=CHLD sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
assert_refused 1 "step 1" "SIGCHLD ignored: the failing step fails the deploy"
SERVING='<?php echo "v1";' assert_app_unchanged "$before" "SIGCHLD ignored"
cases=$((cases + 1))
rm -f "$SRC/fail"

step "a step past its timeout with SIGTERM, SIGALRM ignored and blocked, SIGCHLD blocked"
touch "$SRC/slow"
before=$(app_state)
run "${CI_RUN[@]}" env --ignore-signal=TERM,ALRM --block-signal=TERM,ALRM,CHLD,INT,HUP \
	sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
assert_refused 1 "timed out after 2 s" "signals ignored and blocked: the timeout holds"
assert_lt "$ELAPSED_MS" 15000 "the deploy ended at the timeout, not after the 30 s sleep"
SERVING='<?php echo "v1";' assert_app_unchanged "$before" "signals ignored and blocked"
assert_no_cutover_procs
cases=$((cases + 1))

step "nice 19, SCHED_IDLE, one CPU, ionice idle, oom_score_adj 1000 before sudo"
want_cpus=$(taskset -cp $$ | sed 's/.*: //')
prefix='echo 1000 >/proc/self/oom_score_adj; exec nice -n 19 taskset -c 0 chrt --idle 0 ionice -c 3'
# An unprivileged process may raise its OOM score and lower it again down
# to where a privileged write last put it: the launcher needs no
# CAP_SYS_RESOURCE to undo what the caller did.
rm -f "$ROOT"/.cutover/staging/*/started 2>/dev/null
bg pid "${CI_RUN[@]}" bash -c "$prefix sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\"" \
	"$CUTOVER_BIN" "$APP" "$SRC"
wait_for 20 staging_started started || fatal "the build step never started" "$(cutover_procs)"
procs=$(cutover_procs)
front=$(awk -v u="$NOBODY" '$4 == "cutover" && $3 == u { print $1 }' <<<"$procs")
helper=$(awk -v f="$front" '$4 == "cutover-helper" && $2 == f { print $1 }' <<<"$procs")
[[ $front =~ ^[0-9]+$ && $helper =~ ^[0-9]+$ ]] || fatal "cannot find the front end and the helper" "$procs"
for p in "$helper" "$front"; do
	what=$([[ $p == "$helper" ]] && echo helper || echo "front end")
	assert_eq 0 "$(ps -o ni= -p "$p" | tr -d ' ')" "$what: nice value"
	assert_match "$(chrt -p "$p" | head -n 1)" "SCHED_OTHER" "$what: scheduling policy"
	assert_eq "$want_cpus" "$(taskset -cp "$p" | sed 's/.*: //')" "$what: CPUs"
	assert_eq 0 "$(cat "/proc/$p/oom_score_adj")" "$what: oom_score_adj"
	assert_match "$(ionice -p "$p")" "^none" "$what: I/O class"
	cases=$((cases + 1))
done
bg_wait "$pid"
assert_eq 1 "$RC" "the slow step still ends by its timeout"
echo "cases: $cases"
