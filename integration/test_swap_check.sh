#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover check with reload = swap: fine when the pools can be read and
# systemd runs (here the double; /run/systemd/system is what sd_booted
# looks for), with a warning when the unit file is not installed; a
# problem (exit 2) when nginx's configuration has `fastcgi_keep_conn on`
# (it would keep sending requests to the old pool after a switch), and
# when systemd is not PID 1. nginx's configuration is a scratch copy
# bind-mounted over /etc/nginx inside the test's own mount namespace.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
scratch_new N
mkdir -p "$N/sites-enabled"
printf 'user www-data;\nevents {}\nhttp { include /etc/nginx/sites-enabled/*; }\n' > "$N/nginx.conf"
printf 'server {\n    location ~ \\.php$ {\n        # fastcgi_keep_conn on;\n        fastcgi_pass unix:/run/cutover/fpm/demo.sock;\n    }\n}\n' \
	> "$N/sites-enabled/shop"
mount --bind "$N" /etc/nginx || fatal "cannot bind a scratch nginx configuration over /etc/nginx"
at_exit "umount /etc/nginx"

step "all fine: exit 0 (a commented keep_conn does not count)"
run co --json check
assert_eq 0 "$RC" "check's exit code"
assert_eq "[]" "$(jq -c '[.problems[] | select(.code != "fpm_unit_missing")]' <<<"$OUT")" "no problem but the unit file"

step "fastcgi_keep_conn on in a site: a problem"
sed -i 's/# fastcgi_keep_conn on;/fastcgi_keep_conn on;/' "$N/sites-enabled/shop"
run co check
assert_eq 2 "$RC" "check's exit code (2: a problem found)"
assert_contains "$ERR" "/etc/nginx/sites-enabled/shop:3 has fastcgi_keep_conn on" "the file and line are named"
run co --json check
assert_eq fpm_keepalive "$(jq -r '.problems[] | select(.code == "fpm_keepalive") | .code' <<<"$OUT")" "JSON: its code"
sed -i 's/fastcgi_keep_conn on;/# fastcgi_keep_conn on;/' "$N/sites-enabled/shop"

step "no systemd as PID 1: a problem"
rmdir /run/systemd/system
run co check
assert_eq 2 "$RC" "check's exit code (2: a problem found)"
assert_contains "$ERR" "reload = swap needs systemd as PID 1" "the reason"
mkdir /run/systemd/system
assert_ok co check
