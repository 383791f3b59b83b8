#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap when something is wrong: each failure leaves the live
# site as it was (the same master serving the same release through the
# same live socket) and no new pool running.
#   - a pool file php-fpm refuses (-tt fails): nothing started
#   - a release that fails its pre-switch check in the new pool: the new
#     pool is stopped, the release never published
#   - a release that passes the check but fails the health check through
#     nginx: both renames undone (exit 3), the new pool stopped, the old
#     master (still running) serves again
#   - max_memory below two pools: refused before anything starts
#   - a live socket whose directory others can write: refused
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=300)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
pid0=$(swap_master_pid demo a)

# unchanged WHAT: the live site is v0 in slot a, served by the same master,
# and slot b runs nothing.
unchanged()
{
	assert_eq "demo.a/fpm.sock" "$(live_target)" "$1: the live socket"
	assert_eq "$(release_of v0)" "$(current_id)" "$1: current"
	assert_eq "$pid0" "$(swap_master_pid demo a)" "$1: the live master"
	assert_eq 0 "$(swap_master_pid demo b)" "$1: no master in slot b"
	assert_contains "$(served /)" "a=v0 b=v0 i=v0" "$1: v0 is served"
}

step "a pool file php-fpm refuses"
cp "$POOL" "$S/pool.good"
printf 'pm = nonsense\n' >> "$POOL"
run deploy_version v1 -q
assert_ne 0 "$RC" "the deploy failed"
assert_contains "$ERR" "invalid process manager" "php-fpm's complaint is shown"
assert_contains "$ERR" "the live site is unchanged" "the error says the site is unchanged"
unchanged "-tt failed"
cp "$S/pool.good" "$POOL"

step "a release that fails its pre-switch check in the new pool"
app_version bad-pre
printf '<?php http_response_code(500); echo "broken";\n' > "$SRCS/bad-pre/public/index.php"
run deploy_version bad-pre -q
assert_eq 1 "$RC" "the deploy failed"
assert_contains "$ERR" "in the new php-fpm pool" "the error names the new pool"
assert_eq "" "$(release_of bad-pre)" "the release was removed"
unchanged "precheck failed"

step "a release that fails the health check through nginx: automatic rollback"
app_version bad-health
# Only requests through nginx (SERVER_SOFTWARE from web.sh's fastcgi
# parameters) fail: the pre-switch check, sent by cutover to the new pool
# directly, passes.
sed -i '1a if (($_SERVER["SERVER_SOFTWARE"] ?? "") === "nginx") { http_response_code(500); echo "unhealthy"; exit; }' \
	"$SRCS/bad-health/public/index.php"
run deploy_version bad-health -q --json
assert_eq 3 "$RC" "the deploy was rolled back (exit 3)"
swap_wait_state demo b inactive 15 || fail "the new pool was not stopped"
unchanged "health check failed"

step "max_memory below what two pools need"
swap_app_config fpm.max_memory=16M
run deploy_version v2 -q --json
assert_ne 0 "$RC" "the deploy was refused"
assert_contains "$ERR" "a second php-fpm pool needs about" "the memory refusal"
assert_eq "" "$(release_of v2)" "the release was removed"
unchanged "memory refused"
swap_app_config

step "a live socket in a directory others can write"
mkdir -m 0777 /run/cutover-open
swap_app_config fpm.live_socket=/run/cutover-open/demo.sock
run deploy_version v3 -q
assert_ne 0 "$RC" "the deploy was refused"
assert_contains "$ERR" "/run/cutover-open" "the error names the directory"
unchanged "untrusted live directory"
[[ -e /run/cutover-open/demo.sock ]] && fail "a live socket was made in the open directory"
swap_app_config

step "after all that, a good deploy still works"
assert_ok deploy_version v4 -q
assert_eq "demo.b/fpm.sock" "$(live_target)" "the live socket names slot b"
assert_contains "$(served /)" "a=v4 b=v4 i=v4" "v4 is served"
