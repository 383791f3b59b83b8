#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover check and the php-fpm pool:
#
#  - process_control_timeout = 0 (a reload would cut every request in
#    flight): exit 0, a warning on stderr naming process_control_timeout
#    and the exact line to add, 'process_control_timeout = 10s', in
#    [global];
#  - process_control_timeout = 10s with request_terminate_timeout = 10s:
#    exit 0, "fine", nothing on stderr about process_control_timeout;
#  - process_control_timeout = 10s with request_terminate_timeout = 60s
#    (web.sh's default): a reload could still cut requests running longer
#    than 10 s, and check says so with the line to set,
#    'process_control_timeout = 60s';
#  - the pid file names a process that is not php-fpm (a `sleep 60` the
#    test started): exit 2, and the process was left alone;
#  - beyond the issue: a pool with log_level = warning, a common
#    production setting, is a pool like any other: check exits 0 and a
#    deploy works. (php-fpm -tt prints its configuration dump at notice
#    level, so with warning it prints nothing.)
#
# check changes nothing: the pool is never reloaded.
. "$(dirname "$0")/lib.sh"

# restart_stack WEB_OPTION...: the stack in WEB again, with these options
# (after request_terminate_timeout = 10s), and CONF for its port.
restart_stack()
{
	web_stop "$WEB" || fatal "web_stop failed"
	web_start "$WEB" "$ROOT/current/public" request_terminate_timeout=10s "$@" ||
		fatal "web_start $* failed" "$(tail -n 5 "$WEB/fpm.log" 2>&1)"
	URL=$(web_url "$WEB")
	web_app_config
}

reloads()
{
	grep -c 'Reloading in progress' "$WEB/fpm.log"
}

web_app_init process_control_timeout=0
assert_ok deploy_version v1 -q || fatal "the first deploy failed"

step "process_control_timeout = 0"
MASTER=$(fpm_master_pid) && reloads_before=$(reloads) || fatal "no php-fpm master for $WEB"
assert_ok co check
printf '%s\n' "$ERR"
assert_contains "$ERR" "process_control_timeout = 0" "the warning names the setting and its value"
assert_contains "$ERR" "'process_control_timeout = 10s'" "the warning gives the exact line to add"
assert_contains "$ERR" "[global]" "the warning says where the line goes"
assert_contains "$ERR" "$WEB/php-fpm.conf" "the warning names the pool's configuration file"
assert_eq "$MASTER" "$(fpm_master_pid)" "check leaves the master alone"
assert_eq "$reloads_before" "$(reloads)" "check does not reload php-fpm"

step "process_control_timeout = 10s, request_terminate_timeout = 10s"
restart_stack process_control_timeout=10s
assert_ok co check
assert_not_contains "$ERR" "process_control_timeout" "check is silent about process_control_timeout"
assert_contains "$OUT" "fine" "check says all is fine"

step "process_control_timeout = 10s, request_terminate_timeout = 60s"
restart_stack process_control_timeout=10s request_terminate_timeout=60s
assert_ok co check
printf '%s\n' "$ERR"
assert_contains "$ERR" "'process_control_timeout = 60s'" "the warning gives the line to set"

step "the pid file names a process that is not php-fpm"
restart_stack process_control_timeout=10s
mkdir -m 0755 "$S/run" || fatal "cannot create $S/run"
bg SLEEPER sleep 60
printf '%s\n' "$SLEEPER" >"$S/run/sleep.pid"
chmod 0644 "$S/run/sleep.pid"
web_app_config "fpm.pid_file=$S/run/sleep.pid"
assert_exit 2 co check
printf '%s\n' "$ERR"
assert_contains "$ERR" "nothing signalled" "the message says nothing was signalled"
assert_contains "$ERR" "$S/run/sleep.pid" "the message names the pid file"
assert_match "$(tr '\0' ' ' <"/proc/$SLEEPER/cmdline" 2>&1)" '^sleep 60 $' "the sleep is still running"

step "a pool with log_level = warning"
web_app_config
sed -i 's/^log_level = .*/log_level = warning/' "$WEB/php-fpm.conf"
grep -q '^log_level = warning$' "$WEB/php-fpm.conf" || fatal "could not set log_level in $WEB/php-fpm.conf"
MASTER=$(fpm_master_pid) || fatal "no php-fpm master for $WEB"
web_fpm_reload "$WEB" || fatal "web_fpm_reload failed"
# php-fpm logs nothing at this level: wait for the new master to answer.
master_replaced()
{
	local pid

	pid=$(fpm_master_pid) && [[ $pid != "$MASTER" && $(served /fpm-ping) == pong ]]
}
wait_for 10 master_replaced || fatal "php-fpm did not come back after the reload" "$(tail -n 5 "$WEB/fpm.log")"
assert_ok co check
assert_ok deploy_version v2 -q
((RC == 0)) && assert_eq "$(release_of v2)" "$(current_id)" "current after the deploy"
