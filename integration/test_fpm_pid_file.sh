#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover signals only a genuine php-fpm master named by a trusted pid
# file. deploy exits 2, removes the new release and leaves current as it
# was, when [fpm] pid_file:
#
#  1. names an unrelated process (a shell running `sleep 60`, started by
#     the test, pid in a root-owned file): the message says "nothing
#     signalled"; the process is still alive and got no signal (it traps
#     every catchable signal cutover could send and would write a marker);
#  2. names a php-fpm worker of the live pool (the right binary, but not
#     a master): "nothing signalled", the worker still runs;
#  3. holds pid 1;
#  4. names the real php-fpm master but sits in a group-writable
#     directory: the master is not reloaded (same pid, no reload logged).
. "$(dirname "$0")/lib.sh"

web_app_init
assert_ok deploy_version v1 -q || fatal "the first deploy failed"
GOOD=$(release_of v1)
MASTER=$(fpm_master_pid) || fatal "no php-fpm master for $WEB"
RUN=$S/run
mkdir -m 0755 "$RUN" || fatal "cannot create $RUN"

reloads()
{
	grep -c 'Reloading in progress' "$WEB/fpm.log"
}

# refused_deploy LABEL WHAT: deploy LABEL exits 2 with one error line,
# and changes nothing: current, releases/, history, the real pool.
refused_deploy()
{
	local label=$1 what=$2 releases_before history_before reloads_before

	releases_before=$(dir_list "$ROOT/releases")
	history_before=$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")
	reloads_before=$(reloads)
	assert_exit 2 deploy_version "$label" -q
	printf '%s\n' "$ERR"
	assert_error_line 2
	assert_eq "$GOOD" "$(current_id)" "$what: current after the refused deploy"
	assert_eq "" "$(release_of "$label")" "$what: the refused release is not in releases/"
	assert_eq "$releases_before" "$(dir_list "$ROOT/releases")" "$what: releases/ after the refused deploy"
	assert_eq "$history_before" "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "$what: no switch in the history"
	assert_eq "$MASTER" "$(fpm_master_pid)" "$what: the real php-fpm master's pid"
	assert_eq "$reloads_before" "$(reloads)" "$what: reloads the real php-fpm logged"
}

step "pid file names an unrelated process"
MARKER=$S/signalled
# Records every catchable signal cutover might send; TERM (the test's
# cleanup) also ends it. `wait` returns as soon as a trapped signal comes.
# shellcheck disable=SC2016 # the script is for the stranger's shell
bg STRANGER bash -c '
	for sig in USR1 USR2 HUP INT QUIT ALRM CONT; do
		trap "echo $sig >>\"$1\"" "$sig"
	done
	trap "echo TERM >>\"$1\"; kill \$child 2>/dev/null; exit 0" TERM
	while :; do
		sleep 60 &
		child=$!
		wait "$child"
	done' stranger "$MARKER"
wait_for 5 pgrep -P "$STRANGER" -x sleep >/dev/null || fatal "the stranger's sleep did not start"
printf '%s\n' "$STRANGER" >"$RUN/stranger.pid"
chmod 0644 "$RUN/stranger.pid"
web_app_config "fpm.pid_file=$RUN/stranger.pid"
refused_deploy v2 "unrelated process"
assert_contains "$ERR" "nothing signalled" "the message says nothing was signalled"
assert_contains "$ERR" "$RUN/stranger.pid" "the message names the pid file"
sleep 0.5
assert_file_absent "$MARKER" "the unrelated process got no signal"
kill -0 "$STRANGER" 2>/dev/null || fail "the unrelated process is no longer running"

step "pid file names a php-fpm worker"
WORKER=$(pgrep -P "$MASTER" | head -n 1)
[[ -n $WORKER ]] || fatal "the php-fpm master $MASTER has no worker"
printf '%s\n' "$WORKER" >"$RUN/worker.pid"
chmod 0644 "$RUN/worker.pid"
web_app_config "fpm.pid_file=$RUN/worker.pid"
refused_deploy v3 "php-fpm worker"
assert_contains "$ERR" "nothing signalled" "the message says nothing was signalled"
assert_match "$(tr '\0' ' ' <"/proc/$WORKER/cmdline" 2>&1)" '^php-fpm: pool ' "the worker still runs"

step "pid file holds pid 1"
printf '1\n' >"$RUN/one.pid"
chmod 0644 "$RUN/one.pid"
web_app_config "fpm.pid_file=$RUN/one.pid"
refused_deploy v4 "pid 1"
assert_contains "$ERR" "$RUN/one.pid" "the message names the pid file"

step "pid file of the real master in a group-writable directory"
mkdir -m 0775 "$S/shared-run" || fatal "cannot create $S/shared-run"
chmod 0775 "$S/shared-run"
cp "$WEB/fpm.pid" "$S/shared-run/fpm.pid" && chmod 0644 "$S/shared-run/fpm.pid" || fatal "cannot copy the pid file"
web_app_config "fpm.pid_file=$S/shared-run/fpm.pid"
refused_deploy v5 "group-writable directory"
assert_contains "$ERR" "$S/shared-run" "the message names the untrusted directory"
assert_contains "$ERR" "writable by group or others" "the message says why it is not trusted"

step "the real pid file again: deploy works"
web_app_config
assert_ok deploy_version v6 -q
assert_eq "$(release_of v6)" "$(current_id)" "current after the deploy"
assert_contains "$(served /)" "a=v6 b=v6 i=v6" "the new release is served"
assert_file_absent "$MARKER" "the unrelated process got no signal at all"
