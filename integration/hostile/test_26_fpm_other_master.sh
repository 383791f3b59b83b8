#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 26: www-data, who owns Debian's /run/php, renames the
# root-owned pid file of ANOTHER root php-fpm master (a second config: a
# second PHP version, another site's pool) over the app's pid file. Every
# check of the master passes (root's, a php-fpm binary, a trusted config,
# mtime kept by the rename); before the fix nothing tied it to the app, and
# a deploy SIGUSR2ed the other master while the app's own was never
# reloaded. In a mount namespace of the test's own (as test_18), through
# sudo as the CI user:
#
#  1. with the genuine pid file, check passes (the master holds the
#     listening socket of [fpm] socket) and a deploy reloads that master;
#  2. after the rename, check and deploy are refused naming the socket,
#     the release is not switched, neither master is signalled;
#  3. [fpm] config = the other master's configuration, the app's socket
#     left out: refused as well (the packaged master runs another one);
#     with the packaged configuration named instead, and the genuine pid
#     file back, check passes.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/../lib.sh"

FPM_BIN=/usr/sbin/php-fpm8.2
FPM_CONF=/etc/php/8.2/fpm/php-fpm.conf
PID_FILE=/run/php/php8.2-fpm.pid
[[ -x $FPM_BIN && -f $FPM_CONF ]] || fatal "php8.2-fpm is not installed ($FPM_BIN, $FPM_CONF)"
[[ ${IT_IN_OWN_MOUNT_NS:-} == 1 ]] || fatal "not in a mount namespace of the test's own"
mount -t tmpfs -o "mode=0755,uid=$(id -u www-data),gid=$(id -g www-data)" tmpfs /run/php ||
	fatal "cannot mount a tmpfs on /run/php"
mount -t tmpfs -o mode=0755 tmpfs /var/log || fatal "cannot mount a tmpfs on /var/log"

scratch_new O
OTHER=$O/other
mkdir -m 0755 "$OTHER"
cat >"$OTHER/other.conf" <<C
[global]
pid = /run/php/other.pid
error_log = $OTHER/other.log
[other]
user = www-data
group = www-data
listen = $OTHER/other.sock
pm = static
pm.max_children = 1
C

hostile_app_prepare 'run = true' '[fpm]' "pid_file = $PID_FILE" 'socket = /run/php/php8.2-fpm.sock' 'reload = graceful'
fpm=
bg fpm "$FPM_BIN" --nodaemonize --fpm-config "$FPM_CONF"
wait_for 10 test -s "$PID_FILE" || fatal "the packaged php-fpm did not start" "$(tail -n 5 /var/log/php8.2-fpm.log 2>&1)"
other=
bg other "$FPM_BIN" --nodaemonize --fpm-config "$OTHER/other.conf"
wait_for 10 test -s /run/php/other.pid || fatal "the other php-fpm did not start" "$(tail -n 5 "$OTHER/other.log" 2>&1)"
MASTER=$(cat "$PID_FILE")
assert_eq "$fpm" "$MASTER" "the pid file names the packaged master"
assert_eq "$other" "$(cat /run/php/other.pid)" "other.pid names the other master"
cases=0

# reloads LOG: how many reloads LOG records.
reloads()
{
	grep -c "Reloading in progress" "$1" 2>/dev/null || true
}

step "the genuine pid file"
run ci_cutover check "$APP"
assert_eq 0 "$RC" "check with the packaged master" || printf '%s\n' "$(it_last_output)"
hostile_deploy_good
assert_eq 1 "$(reloads /var/log/php8.2-fpm.log)" "the deploy reloaded the app's master"
assert_eq 0 "$(reloads "$OTHER/other.log")" "the deploy left the other master alone"
cases=$((cases + 1))

step "www-data renames the other master's pid file over the app's"
cp -p "$PID_FILE" "$O/genuine.pid"
setpriv --reuid=www-data --regid=www-data --clear-groups -- mv /run/php/other.pid "$PID_FILE" ||
	fatal "www-data cannot rename in /run/php"
assert_eq "$other" "$(cat "$PID_FILE")" "the pid file now names the other master"
run ci_cutover check "$APP"
assert_refused 2 "does not hold the socket /run/php/php8.2-fpm.sock" "check with the other master's pid file"
before=$(app_state)
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 2 "$RC" "deploy with the other master's pid file" || printf '%s\n' "$(it_last_output)"
assert_contains "$ERR" "not this app's master; nothing signalled" "the deploy says why"
assert_app_unchanged "$before" "deploy with the other master's pid file"
assert_eq 0 "$(reloads "$OTHER/other.log")" "the other master was not reloaded"
assert_eq 1 "$(reloads /var/log/php8.2-fpm.log)" "the app's master was not reloaded again"
kill -0 "$fpm" 2>/dev/null && kill -0 "$other" 2>/dev/null || fail "a master died"
cases=$((cases + 1))

step "[fpm] config instead of socket"
etc_conf_write "$APP" "$ROOT" 'run = true' '[fpm]' "pid_file = $PID_FILE" "config = $FPM_CONF" 'reload = graceful'
run ci_cutover check "$APP"
assert_refused 2 "not the configuration $FPM_CONF" "check with the other master's pid file, [fpm] config set"
cp -p "$O/genuine.pid" "$PID_FILE"
run ci_cutover check "$APP"
assert_eq 0 "$RC" "check of the packaged master with [fpm] config" || printf '%s\n' "$(it_last_output)"
assert_eq 0 "$(reloads "$OTHER/other.log")" "the other master was never reloaded"
cases=$((cases + 1))
echo "cases: $cases"
