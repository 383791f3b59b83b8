#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 18: Debian 12's php8.2-fpm as packaged, with the pid
# file docs/LARAVEL.md and docs/BIND.md recommend. The package's
# tmpfiles.d makes /run/php www-data:www-data 0755; its php-fpm.conf puts
# the pid file there, its www.conf the socket. In a mount namespace of the
# test's own (a tmpfs on /run/php made as the package makes it, one on
# /var/log for the package's error_log; the host's /run/php and services
# are never touched), the packaged master runs as systemd runs it
# (--nodaemonize --fpm-config /etc/php/8.2/fpm/php-fpm.conf). Through sudo
# as the CI user:
#
#  1. `cutover check` with [fpm] pid_file = /run/php/php8.2-fpm.pid passes
#     (it was refused: "/run/php must be owned by root");
#  2. a deploy with reload = graceful reloads that master (same pid, the
#     package's log says so);
#  3. www-data, who owns /run/php, replaces the pid file with one of its
#     own naming its own process: refused, nothing signalled;
#  4. /run/php made group-writable: refused.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/../lib.sh"

FPM_BIN=/usr/sbin/php-fpm8.2
FPM_CONF=/etc/php/8.2/fpm/php-fpm.conf
PID_FILE=/run/php/php8.2-fpm.pid
[[ -x $FPM_BIN && -f $FPM_CONF ]] || fatal "php8.2-fpm is not installed ($FPM_BIN, $FPM_CONF)"
[[ ${IT_IN_OWN_MOUNT_NS:-} == 1 ]] || fatal "not in a mount namespace of the test's own"
# As /usr/lib/tmpfiles.d/php8.2-fpm.conf: d /run/php 0755 www-data www-data
mount -t tmpfs -o "mode=0755,uid=$(id -u www-data),gid=$(id -g www-data)" tmpfs /run/php ||
	fatal "cannot mount a tmpfs on /run/php"
mount -t tmpfs -o mode=0755 tmpfs /var/log || fatal "cannot mount a tmpfs on /var/log"
assert_eq "www-data www-data 755" "$(stat -c '%U %G %a' /run/php)" "/run/php as the package makes it"

hostile_app_prepare 'run = true' '[fpm]' "pid_file = $PID_FILE" 'socket = /run/php/php8.2-fpm.sock' 'reload = graceful'
fpm=
bg fpm "$FPM_BIN" --nodaemonize --fpm-config "$FPM_CONF"
wait_for 10 test -s "$PID_FILE" || fatal "the packaged php-fpm did not start" "$(tail -n 5 /var/log/php8.2-fpm.log 2>&1)"
MASTER=$(cat "$PID_FILE")
assert_eq "$fpm" "$MASTER" "the pid file names the packaged master"
cases=0

step "cutover check with the packaged pid file"
run ci_cutover check "$APP"
assert_eq 0 "$RC" "check with pid_file = $PID_FILE" || printf '%s\n' "$(it_last_output)"
cases=$((cases + 1))

step "a deploy reloads the packaged master"
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "deploy with reload = graceful" || printf '%s\n' "$(it_last_output)"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "the release is live"
assert_eq "$MASTER" "$(cat "$PID_FILE")" "the same master after the reload"
assert_contains "$(cat /var/log/php8.2-fpm.log)" "Reloading in progress" "the package's log shows the reload"
cases=$((cases + 1))

step "www-data replaces the pid file with its own"
decoy=
bg decoy setpriv --reuid=www-data --regid=www-data --clear-groups -- sleep 60
setpriv --reuid=www-data --regid=www-data --clear-groups -- sh -c "rm -f '$PID_FILE' && echo $decoy >'$PID_FILE'" ||
	fatal "www-data cannot replace its pid file"
before=$(app_state)
run ci_cutover check "$APP"
assert_refused 2 "owned by root" "a pid file of www-data's"
SERVING='<?php echo "v1";' assert_app_unchanged "$before" "a pid file of www-data's"
kill -0 "$decoy" 2>/dev/null || fail "the decoy was signalled"
printf '%s\n' "$MASTER" >"$PID_FILE.tmp" && chmod 0644 "$PID_FILE.tmp" && mv "$PID_FILE.tmp" "$PID_FILE"
cases=$((cases + 1))

step "/run/php writable by its group"
chmod 0775 /run/php
run ci_cutover check "$APP"
assert_refused 2 "writable by group or others" "/run/php group-writable"
chmod 0755 /run/php
run ci_cutover check "$APP"
assert_eq 0 "$RC" "check once /run/php is 0755 again" || printf '%s\n' "$(it_last_output)"
cases=$((cases + 1))
echo "cases: $cases"
