#!/bin/bash
# SPDX-License-Identifier: MIT
#
# SIGINT to a rollback or a switch at the instant the helper renames
# `current` (tools/sig_on_rename, inotify), before the front end has read
# the helper's reply: the helper finishes the switch (it does not undo
# it), so cutover must not say that the live site is unchanged; it says
# the site may have changed and where to look. The lock is free after.
. "$(dirname "$0")/lib.sh"

app_init
assert_ok co -q deploy --from "$SRC" || fatal "the first deploy failed"
ONE=$(current_id)
set_index "$SRC" v2
assert_ok co -q deploy --from "$SRC" || fatal "the second deploy failed"
TWO=$(current_id)
tool_build sig_on_rename
scratch_new W
mkfifo -m 0600 "$W/ready"

# interrupted_at_rename VERB [ID]: runs cutover VERB, interrupted as soon
# as current is renamed; sets RC and ERR.
interrupted_at_rename()
{
	local pid wpid

	# cutover waits (same pid, exec) until the watcher is ready.
	bg pid bash -c 'read -r _ <"$1" && exec "${@:2}"' _ "$W/ready" "$CUTOVER_BIN" -c "$CONF" "$1" "$APP" "${@:2}"
	"$TOOL" "$ROOT" current "$pid" >"$W/ready" &
	wpid=$!
	bg_wait "$pid"
	wait "$wpid" || fail "the watcher did not signal cutover"
}

step "a rollback interrupted as current is renamed"
interrupted_at_rename rollback
assert_eq 1 "$RC" "exit code of the interrupted rollback"
assert_eq "$ONE" "$(current_id)" "the helper finished the rollback"
assert_not_contains "$ERR" "the live site is unchanged" "no claim that nothing changed"
assert_contains "$ERR" "cutover: interrupted during the switch; the live site may have changed" \
	"it says the site may have changed"

step "a switch interrupted as current is renamed"
interrupted_at_rename switch "$TWO"
assert_eq 1 "$RC" "exit code of the interrupted switch"
assert_eq "$TWO" "$(current_id)" "the helper finished the switch"
assert_not_contains "$ERR" "the live site is unchanged" "no claim that nothing changed"
assert_contains "$ERR" "cutover: interrupted during the switch; the live site may have changed" \
	"it says the site may have changed"

step "the lock is free"
assert_ok co -q rollback
assert_eq "$ONE" "$(current_id)" "the next rollback ran"
