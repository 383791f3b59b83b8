#!/bin/bash
# SPDX-License-Identifier: MIT
#
# SIGTERM to cutover during a build step (sleep 10): cutover exits 1
# within a few seconds, the step's processes are gone, the app root is
# exactly as before (no release, staging directory or state left), no
# lock holder remains, current is unchanged, and an immediate next deploy
# succeeds.
. "$(dirname "$0")/lib.sh"

app_init
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
OLD=$(current_id)

step "deploy, SIGTERM during the build step"
app_config "$CONF" "$ROOT" 'run = touch started; sleep 10'
set_index "$SRC" interrupted
before=$(tree_snapshot "$ROOT")
in_build_step()
{
	compgen -G "$ROOT/.cutover/staging/*/started" >/dev/null
}
# The binary itself, so that $! is cutover's own pid.
pid=
bg pid "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC"
wait_for 15 in_build_step || { bg_wait "$pid"; fatal "the deploy never reached its build step" "$(it_last_output)"; }
t0=$(now_ms)
kill -TERM "$pid"
bg_wait "$pid"
took=$(($(now_ms) - t0))
assert_eq 1 "$RC" "exit code of cutover after SIGTERM" || printf '%s\n' "$ERR"
assert_lt "$took" 3000 "cutover exits within a few seconds of SIGTERM (took ${took} ms)"
assert_contains "$ERR" "interrupted" "cutover says it was interrupted"
assert_no_procs "$ROOT" "no process of the interrupted build is left" 2
assert_tree_same "$before" "$ROOT" "the app root after SIGTERM"
assert_eq "releases/$OLD" "$(readlink "$ROOT/current")" "current after SIGTERM"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content served after SIGTERM"
run co --json status
assert_eq null "$(jq -r .lock <<<"$OUT")" "no lock holder after SIGTERM"

step "an immediate next deploy"
app_config "$CONF" "$ROOT"
assert_ok co deploy --from "$SRC"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "interrupted";' "content served after the next deploy"
assert_eq "$(printf '%s\n' "deploy null $OLD" "deploy $OLD $(current_id)")" \
	"$(jq -r 'select(.to != null) | "\(.verb) \(.from) \(.to)"' "$ROOT/.cutover/history.jsonl")" "history has no trace of the interrupted deploy"
