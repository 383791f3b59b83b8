#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap: a deploy whose health check fails is rolled back by the
# helper (the live socket goes back to the old slot), and the run is
# interrupted at the instant of that second rename of `current`, before
# the front end retires the new pool. That pool, made live and then left
# by the rollback, still runs: it is marked warm at the end of the run, so
# that fpm-start's trim stops it once keep_warm is over (it was warm for
# 0 s for good; review 14e).
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=1)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_eq "demo.a/fpm.sock" "$(live_target)" "v0 is live in slot a"
app_version bad-health
# Only requests through nginx fail: the pre-switch check passes.
sed -i '1a if (($_SERVER["SERVER_SOFTWARE"] ?? "") === "nginx") { http_response_code(500); echo "unhealthy"; exit; }' \
	"$SRCS/bad-health/public/index.php"
tool_build sig_on_rename
scratch_new W
mkfifo -m 0600 "$W/ready"

step "a deploy interrupted as its automatic rollback renames current"
bg pid bash -c 'read -r _ <"$1" && exec "${@:2}"' _ "$W/ready" "$CUTOVER_BIN" -c "$CONF" deploy "$APP" \
	--from "$SRCS/bad-health" --label bad-health
"$TOOL" "$ROOT" current "$pid" 2 >"$W/ready" &
wpid=$!
bg_wait "$pid"
wait "$wpid" || fail "the watcher did not signal cutover"
assert_ne 0 "$RC" "the interrupted deploy failed"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the helper finished the rollback: slot a is live"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is served"
assert_eq active "$(swap_unit_prop demo b ActiveState)" "the new pool was not retired by the interrupted run"

step "the pool the rollback left is trimmed once keep_warm is over"
sleep 2
assert_ok co --json status
warm=$(jq -r '.pools[] | select(.slot == "b") | .warm_seconds' <<<"$OUT")
assert_eq warm "$(jq -r '.pools[] | select(.slot == "b") | .state' <<<"$OUT")" "slot b is warm"
((warm >= 1)) || fail "slot b has been warm for $warm s, not since the rollback"
assert_ok co -q fpm-start
swap_wait_state demo b inactive 10 || fail "fpm-start's trim did not stop slot b"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is still served"
