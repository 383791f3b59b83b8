#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 15: the php-fpm master cutover trusts, and what its
# `php-fpm -tt` run (as root) gets. Through sudo as the CI user, `cutover
# check` with [fpm] pid_file:
#
#  1. a stale pid file (root's, written an hour before) whose pid is now a
#     php-fpm that nobody started, with nobody's own configuration, whose
#     error_log nobody then points at a root-only place: check exits 2
#     naming the uid, and the -tt run never happens (no root-owned file
#     appears at that error_log path; before the fix, one did);
#  2. the same php-fpm with a fresh pid file: refused all the same;
#  3. a root master whose configuration lies in a directory nobody may
#     write to (group-writable): refused, nothing run;
#  4. a genuine root master with a trusted configuration, named by a pid
#     file an hour older than it: refused as stale; with a fresh pid
#     file, the -tt run,
#     caught while it reads an include that is a FIFO, holds no socket
#     (the helper's is fd 3) and none of the helper's directories; check
#     then passes.
. "$(dirname "$0")/../lib.sh"

FPM_BIN=$(command -v php-fpm8.2 || command -v php-fpm) || fatal "php-fpm is not installed"
scratch_new F
PID_FILE=$F/run/fpm.pid
mkdir -m 0755 "$F/run"
# The genuine master's configuration (case 4): it ties the master to the app.
hostile_app_prepare 'run = true' '[fpm]' "pid_file = $PID_FILE" "config = $F/good/fpm.conf" 'reload = none'
hostile_deploy_good
cases=0

# fpm_conf FILE DIR ERROR_LOG [INCLUDE]: a php-fpm configuration with its
# files in DIR.
fpm_conf()
{
	{
		printf '[global]\npid = %s/fpm.pid\nerror_log = %s\ndaemonize = no\n' "$2" "$3"
		[[ -n ${4:-} ]] && printf 'include = %s\n' "$4"
		printf '[www]\nlisten = %s/fpm.sock\npm = static\npm.max_children = 1\n' "$2"
		[[ $(id -u) == 0 && ${5:-} == root ]] && printf 'user = nobody\ngroup = nogroup\n'
	} >"$1"
}

# master_of PID: waits for PID to carry php-fpm's master title.
master_of()
{
	wait_for 10 grep -qa '^php-fpm: master process' "/proc/$1/cmdline" ||
		fatal "php-fpm (pid $1) did not start" "$(cat "$2" 2>&1 | tail -n 5)"
}

step "a stale pid file naming a php-fpm that nobody started"
EVIL=$F/evil
mkdir -m 0755 "$EVIL" && chown nobody:nogroup "$EVIL"
fpm_conf "$EVIL/fpm.conf" "$EVIL" "$EVIL/fpm.log"
chown nobody:nogroup "$EVIL/fpm.conf"
evil=
bg evil setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$FPM_BIN" -F -y "$EVIL/fpm.conf"
master_of "$evil" "$EVIL/fpm.log"
# nobody points its error_log at a place only root can write (here: in
# the scratch dir, standing for /etc/ld.so.preload).
PWNED=$F/pwned
setpriv --reuid=nobody --regid=nogroup --clear-groups -- sh -c "sed -i 's|^error_log = .*|error_log = $PWNED|' '$EVIL/fpm.conf'"
printf '%s\n' "$evil" >"$PID_FILE"
chmod 0644 "$PID_FILE"
touch -d '-1 hour' "$PID_FILE"
run ci_cutover check "$APP"
assert_refused 2 "not root" "a stale pid file naming nobody's php-fpm"
assert_file_absent "$PWNED" "no php-fpm -tt ran as root on nobody's configuration"
cases=$((cases + 1))

step "a fresh pid file naming the same php-fpm"
printf '%s\n' "$evil" >"$PID_FILE"
run ci_cutover check "$APP"
assert_refused 2 "not root" "a fresh pid file naming nobody's php-fpm"
assert_file_absent "$PWNED" "no php-fpm -tt ran as root on nobody's configuration"
kill "$evil"
cases=$((cases + 1))

step "a root master whose configuration is in a group-writable directory"
LOOSE=$F/loose
mkdir -m 0775 "$LOOSE" && chmod 0775 "$LOOSE"
fpm_conf "$LOOSE/fpm.conf" "$LOOSE" "$LOOSE/fpm.log" "" root
loose=
bg loose "$FPM_BIN" -F -y "$LOOSE/fpm.conf"
master_of "$loose" "$LOOSE/fpm.log"
printf '%s\n' "$loose" >"$PID_FILE"
run ci_cutover check "$APP"
assert_refused 2 "writable by group or others" "a root master with an untrusted configuration"
assert_contains "$ERR" "$LOOSE" "the message names the untrusted directory"
kill "$loose"
cases=$((cases + 1))

step "a genuine master: the -tt run holds no descriptor of the helper's"
GOOD=$F/good
mkdir -m 0755 "$GOOD" "$GOOD/inc"
fpm_conf "$GOOD/fpm.conf" "$GOOD" "$GOOD/fpm.log" "$GOOD/inc/*.conf" root
good=
bg good "$FPM_BIN" -F -y "$GOOD/fpm.conf"
master_of "$good" "$GOOD/fpm.log"
printf '%s\n' "$good" >"$PID_FILE"
chmod 0644 "$PID_FILE"
touch -d '-1 hour' "$PID_FILE"
run ci_cutover check "$APP"
assert_refused 2 "stale" "a pid file written an hour before its (root) master started"
printf '%s\n' "$good" >"$PID_FILE"
# The include, read by -tt only: a FIFO holds the run until we look.
mkfifo -m 0600 "$GOOD/inc/z.conf"
chk=
bg chk ci_cutover check "$APP"
tt=
find_tt()
{
	tt=$(pgrep -f -- "-tt -y $GOOD/fpm.conf" | head -n 1)
	[[ -n $tt ]]
}
if wait_for 15 find_tt; then
	fds=$(ls -l "/proc/$tt/fd" 2>&1 | awk 'NR > 1 { print $(NF - 2), $NF }')
	printf '%s\n' "$fds" | sed 's/^/   php-fpm -tt fd: /'
	assert_not_contains "$fds" "socket:" "php-fpm -tt holds no socket (the helper's is fd 3)"
	assert_not_contains "$fds" "$ROOT" "php-fpm -tt holds none of the helper's directories"
	assert_eq "/dev/null" "$(readlink "/proc/$tt/fd/0")" "php-fpm -tt: stdin is /dev/null"
else
	fail "php-fpm -tt never ran" "$(it_last_output)"
fi
printf '; nothing\n' >"$GOOD/inc/z.conf"
bg_wait "$chk"
assert_eq 0 "$RC" "check of a genuine master passes" || printf '%s\n' "$(it_last_output)"
kill "$good"
cases=$((cases + 1))
echo "cases: $cases"
