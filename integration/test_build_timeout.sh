#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A build step running past its timeout (timeout = 2, sleep 30) is killed
# within a few seconds: exit 1 with one error line saying it timed out, no
# process of the step left, the app root exactly as before (no release,
# staging directory, state, manifest or log), current unchanged, and the
# next deploy works.
. "$(dirname "$0")/lib.sh"

app_init
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
OLD=$(current_id)

step "a step that outlives its timeout"
app_config "$CONF" "$ROOT" 'timeout = 2' 'run = sleep 30'
set_index "$SRC" slow
before=$(tree_snapshot "$ROOT")
assert_exit 1 co deploy --from "$SRC"
assert_error_line 1
assert_contains "$ERR" "timed out" "the error says the step timed out"
assert_contains "$ERR" "sleep 30" "the error names the step"
assert_lt "$ELAPSED_MS" 6000 "the deploy ends within a few seconds of the 2 s timeout (took ${ELAPSED_MS} ms)"
assert_lt 1900 "$ELAPSED_MS" "the step ran until its timeout (took ${ELAPSED_MS} ms)"
assert_no_procs "$ROOT" "no process of the timed-out step is left" 1
assert_tree_same "$before" "$ROOT" "the app root after the timeout"
assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after the timeout"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content served after the timeout"
run co --json status
assert_eq null "$(jq -r .lock <<<"$OUT")" "no lock holder after the timeout"

step "the next deploy"
app_config "$CONF" "$ROOT" 'timeout = 2' 'run = sleep 0.5'
assert_ok co deploy --from "$SRC"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "slow";' "content served after the next deploy"
