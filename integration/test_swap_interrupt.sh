#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap: a rollback interrupted at the instant the helper renames
# `current` (tools/sig_on_rename): the helper has moved the live socket
# too and keeps the switch; cutover says the site may have changed (not
# that it is unchanged), and the pool that was live, never retired by the
# interrupted run, is marked warm at the end of the run, so that
# fpm-start's trim stops it once keep_warm is over (it was warm for 0 s
# for good).
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=1)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_ok deploy_version v1 -q || fatal "the second deploy failed"
assert_eq "demo.b/fpm.sock" "$(live_target)" "v1 is live in slot b"
tool_build sig_on_rename
scratch_new W
mkfifo -m 0600 "$W/ready"

step "a rollback interrupted as current is renamed"
bg pid bash -c 'read -r _ <"$1" && exec "${@:2}"' _ "$W/ready" "$CUTOVER_BIN" -c "$CONF" rollback "$APP"
"$TOOL" "$ROOT" current "$pid" >"$W/ready" &
wpid=$!
bg_wait "$pid"
wait "$wpid" || fail "the watcher did not signal cutover"
assert_eq 1 "$RC" "exit code of the interrupted rollback"
assert_eq "demo.a/fpm.sock" "$(live_target)" "the helper finished the rollback: slot a is live"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is served"
assert_not_contains "$ERR" "the live site is unchanged" "no claim that nothing changed"
assert_contains "$ERR" "the live site may have changed" "it says the site may have changed"
assert_eq active "$(swap_unit_prop demo b ActiveState)" "v1's pool was not retired by the interrupted run"

step "the pool that was live is trimmed once keep_warm is over"
sleep 2
assert_ok co --json status
warm=$(jq -r '.pools[] | select(.slot == "b") | .warm_seconds' <<<"$OUT")
assert_eq warm "$(jq -r '.pools[] | select(.slot == "b") | .state' <<<"$OUT")" "slot b is warm"
((warm >= 1)) || fail "slot b has been warm for $warm s, not since the interrupted rollback"
assert_ok co -q fpm-start
swap_wait_state demo b inactive 10 || fail "fpm-start's trim did not stop slot b"
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "v0 is still served"
