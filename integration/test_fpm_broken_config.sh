#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A broken php-fpm configuration is never reloaded: with a bogus key
# appended to the live pool's php-fpm.conf, deploy exits 1 with one error
# line naming php-fpm -t and the bad line (php-fpm's own "[FILE:LINE]"
# and the key), the new release is removed, nothing is switched, and the
# pool keeps serving under load: same master pid, alive, not reloaded;
# every request answered 200 by the live release. rollback refuses the
# same way. With the configuration restored, deploy works and reloads.
. "$(dirname "$0")/lib.sh"

web_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_ok deploy_version v1 -q || fatal "the second deploy failed"
GOOD=$(release_of v1)
FPM_CONF=$WEB/php-fpm.conf
cp "$FPM_CONF" "$S/php-fpm.conf.good" || fatal "cannot save $FPM_CONF"

load_start LOAD / --connections 8 --switch-log "$SWITCH_LOG" \
	--expect-marker-file "$ROOT/current/RELEASE"
sleep 1

# reloads: how many reloads php-fpm has logged.
reloads()
{
	grep -c 'Reloading in progress' "$WEB/fpm.log"
}

step "a bogus key in the live php-fpm.conf"
MASTER=$(fpm_master_pid) || fatal "no php-fpm master for $WEB"
echo 'bogus_directive = 1' >>"$FPM_CONF"
BAD_LINE=$(grep -c '' "$FPM_CONF")
reloads_before=$(reloads)
history_before=$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")
releases_before=$(dir_list "$ROOT/releases")

step "deploy refuses"
assert_exit 1 deploy_version v2 -q
assert_error_line 1
printf '%s\n' "$ERR"
assert_contains "$ERR" "php-fpm -t" "the message names php-fpm -t"
assert_contains "$ERR" "$FPM_CONF:$BAD_LINE]" "the message names the bad line"
assert_contains "$ERR" "bogus_directive" "the message names the bad key"
assert_eq "$GOOD" "$(current_id)" "current after the refused deploy"
assert_eq "" "$(release_of v2)" "the refused release is not in releases/"
assert_eq "$releases_before" "$(dir_list "$ROOT/releases")" "releases/ after the refused deploy"
assert_eq "$history_before" "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "no switch in the history"

step "rollback refuses"
assert_exit 1 co -q rollback
assert_error_line 1
assert_contains "$ERR" "php-fpm -t" "rollback's message names php-fpm -t"
assert_eq "$GOOD" "$(current_id)" "current after the refused rollback"
assert_eq "$history_before" "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "no rollback in the history"

step "the pool kept serving, untouched"
assert_eq "$MASTER" "$(fpm_master_pid)" "the php-fpm master's pid"
assert_match "$(tr '\0' ' ' <"/proc/$MASTER/cmdline" 2>&1)" '^php-fpm: master process ' "the master is alive"
assert_eq "$reloads_before" "$(reloads)" "reloads php-fpm logged"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "the live release is served"

step "configuration restored: deploy works"
cp "$S/php-fpm.conf.good" "$FPM_CONF" || fatal "cannot restore $FPM_CONF"
assert_ok deploy_version v3 -q
((RC == 0)) && switch_logged v3
assert_eq "$(release_of v3)" "$(current_id)" "current after the deploy"
assert_eq "$((reloads_before + 1))" "$(reloads)" "reloads php-fpm logged after the deploy"
assert_contains "$(served /)" "a=v3 b=v3 i=v3" "the new release is served"
sleep 0.5

load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"
assert_load_clean "requests through the refused deploy and rollback and the last deploy"
assert_eq 1 "$(load_key switches)" "switch log lines loadgen read"
