#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A rebuild of an existing id (stage --id b42 when b42 is frozen) builds in
# .cutover/staging/b42. When the helper dies there (SIGKILL during the
# build step: a power loss, the OOM killer), the next run's clean-up must
# remove only that leftover build, never the frozen release b42 of the same
# name (review 12, M1: it did, and `rollback` then had nothing to go back
# to). The same when the leftover cannot be removed because a process of
# the deploy user keeps creating entries in it through a descriptor it
# kept: it goes to the trash, b42 stays.
. "$(dirname "$0")/lib.sh"

APP_KEEP=10
app_init
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
set_index "$SRC" v2
assert_ok co stage --from "$SRC" --id b42 || fatal "stage --id b42 failed"
set_index "$SRC" v3
assert_ok co deploy --from "$SRC" || fatal "deploy v3 failed"

step "the helper dies while b42 is rebuilt"
app_config "$CONF" "$ROOT" 'run = touch started; sleep 30'
co stage --from "$SRC" --id b42 >"$S/out" 2>&1 &
cpid=$!
for _ in $(seq 200); do
	[[ -e $ROOT/.cutover/staging/b42/started ]] && break
	sleep 0.05
done
assert_file_exists "$ROOT/.cutover/staging/b42/started" "the rebuild's step runs in staging/b42"
hpid=$(pgrep -f "cutover-helper stage $APP" | head -n 1)
[[ -n $hpid ]] || fatal "no helper to kill"
kill -9 "$hpid"
wait "$cpid"
pkill -9 -f 'sleep 30' 2>/dev/null
app_config "$CONF" "$ROOT" 'run = true'

step "the next run removes the leftover build, not the release b42"
set_index "$SRC" v4
assert_ok co stage --from "$SRC" --id c1
assert_eq "" "$(ls -A "$ROOT/.cutover/staging")" "staging/ is empty"
assert_file_exists "$ROOT/releases/b42" "b42 is still there"
assert_file_content "$ROOT/releases/b42/public/index.php" '<?php echo "v2";' "with its content"
run co verify b42
assert_eq 0 "$RC" "b42 verifies ($OUT $ERR)"
assert_ok co prune --keep 10
assert_file_exists "$ROOT/releases/b42" "b42 survives a prune"
