#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap with preset = laravel: the bundled Laravel app, deployed
# twice under load on /probe (its migrations, config:cache and the rest of
# the preset as in the other Laravel tests), each release checked in its
# own new pool before the switch and the warm-up sent to it; 0 failed, 0
# torn responses; a login session survives both switches (sessions in the
# shared storage), and each pool runs the release it was started for.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

[[ -f /usr/share/php/Illuminate/autoload.php ]] ||
	fatal "Debian's php-laravel-framework is missing; run 'bash .ci/deps.sh'"
APP=shop
scratch_new S
ROOT=$S/root WEB=$S/web SRCS=$S/src CONF=$S/app.conf SWITCH_LOG=$S/switch.log JARS=$S/jars
DB=$ROOT/shared/db/database.sqlite LIVE_SOCK=/run/cutover/fpm/shop.sock
mkdir -m 0755 "$WEB" "$SRCS" "$JARS" "$S/etc"
laravel_shared_prepare
POOL=$S/etc/pool.conf
swap_pool_template "$POOL" pm=static pm.max_children=4
swap_double_start || fatal "the systemd test double did not start"
at_exit "web_stop $(printf '%q' "$WEB")"
web_start "$WEB" "$ROOT/current/public" fpm_socket="$LIVE_SOCK" || fatal "web_start failed"
URL=$(web_url "$WEB")
{
	printf '[app]\nroot = %s\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n' "$ROOT"
	printf 'preset = laravel\nkeep = 4\n'
	printf '[fpm]\nreload = swap\nconfig = %s\ntimeout = 30\nkeep_warm = 0\nwarm_urls = /probe /login\n' "$POOL"
	printf '[health]\nurl = %s/up\nexpect_body = OK\nretries = 2\nprecheck = yes\n' "$URL"
} > "$CONF"
chmod 0644 "$CONF"

step "v1, and a login"
run laravel_deploy v1 -q
((RC == 0)) || fatal "the first deploy failed" "$(it_last_output)"
switch_logged v1
http_request GET /login alice
TOKEN=$(csrf_token)
[[ $HTTP_STATUS == 200 && -n $TOKEN ]] || fatal "GET /login gave no CSRF token (status $HTTP_STATUS)"
NAME=alice-$(random_hex 6)
http_request POST /login alice "_token=$TOKEN" "name=$NAME"
assert_eq 302 "$HTTP_STATUS" "POST /login"

step "v2 and v1 again under load"
echo v1 > "$S/expect"
load_start LOAD /probe --connections 6 --switch-log "$SWITCH_LOG" --switch-grace 1000 \
	--expect-marker-file "$S/expect"
sleep 1
for label in v2 v1b; do
	version=${label%b}
	laravel_version "$label" "$version"
	run laravel_deploy "$label" -q --json
	# loadgen knows releases by what /probe prints: v1b prints v1.
	((RC == 0)) && switch_logged "$version"
	((RC == 0)) || fail "deploy $label exited $RC" "$(it_last_output)"
	assert_ne null "$(jq -r .pool.precheck_ms <<<"$OUT" 2>/dev/null)" "$label: checked in the new pool"
	assert_eq 8 "$(jq -r .pool.warm_requests <<<"$OUT" 2>/dev/null)" "$label: warm-up requests (2 URLs x 4)"
	sleep 1
done
load_stop "$LOAD"
printf '%s\n' "$LOAD_SUMMARY"
assert_load_clean "two Laravel deploys with reload = swap"

step "the session survived, and the live pool runs the live release"
http_request GET /me alice
assert_contains "$HTTP_BODY" "$NAME" "GET /me after two switches"
slot=$(readlink "$LIVE_SOCK"); slot=${slot%%/*}; slot=${slot##*.}
assert_eq "$(current_id)" "$(co --json status | jq -r --arg s "$slot" '.pools[] | select(.slot == $s) | .release')" \
	"the live pool's release"
