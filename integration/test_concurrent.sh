#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Two concurrent deploys: while one is in a 3 s build step, a second fails
# within about a second (exit 1, "locked by pid" naming the first) and
# leaves nothing behind; with --wait 10 the second waits for the first and
# then deploys over it.
. "$(dirname "$0")/lib.sh"

app_init 'run = touch started; sleep 3'
first='' third='' fourth=''   # pids, set by bg

# in_build_step: the running deploy's build step has started.
in_build_step()
{
	compgen -G "$ROOT/.cutover/staging/*/started" >/dev/null
}

step "first deploy, second without --wait"
# The binary itself, not a function, so that $! is cutover's pid.
bg first "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC"
wait_for 15 in_build_step || { bg_wait "$first"; fatal "the first deploy never reached its build step" "$(it_last_output)"; }
staged=$(dir_list "$ROOT/.cutover/staging")
set_index "$SRC" second
assert_exit 1 co deploy --from "$SRC"
assert_error_line 1
assert_contains "$ERR" "locked by pid $first " "the refusal names the holder's pid ($first)"
assert_contains "$ERR" "deploy" "the refusal names the holder's verb"
assert_contains "$ERR" "since" "the refusal says since when"
assert_lt "$ELAPSED_MS" 1500 "the second deploy fails at once (took ${ELAPSED_MS} ms)"
assert_eq "$staged" "$(dir_list "$ROOT/.cutover/staging")" "the loser adds nothing to staging/"
assert_eq "" "$(dir_list "$ROOT/releases" | tr ' ' '\n' | grep -vx "$staged")" "the loser adds nothing to releases/"

bg_wait "$first"
assert_eq 0 "$RC" "the first deploy succeeds" || printf '%s\n' "$ERR"
assert_eq "releases/$staged" "$(readlink "$ROOT/current")" "current is the first deploy's release"
assert_eq "$staged" "$(dir_list "$ROOT/releases")" "exactly one release after the race"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content is the winner's"
assert_eq 1 "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "one history line after the race"
assert_dir_empty "$ROOT/.cutover/staging"
FIRST=$staged

step "third deploy, fourth with --wait 10"
set_index "$SRC" third
bg third "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC"
wait_for 15 in_build_step || { bg_wait "$third"; fatal "the third deploy never reached its build step" "$(it_last_output)"; }
THIRD=$(dir_list "$ROOT/.cutover/staging")
# The third deploy copied its source already: change it for the fourth.
set_index "$SRC" fourth
bg fourth "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --wait 10 --from "$SRC"
bg_wait "$third"
assert_eq 0 "$RC" "the third deploy succeeds" || printf '%s\n' "$ERR"
bg_wait "$fourth"
assert_eq 0 "$RC" "the fourth deploy waits for the lock and succeeds" || printf '%s\n' "$ERR"
assert_lt 2500 "$ELAPSED_MS" "the fourth deploy waited (${ELAPSED_MS} ms for two 3 s builds)"
FOURTH=$(current_id)
assert_ne "$THIRD" "$FOURTH" "the fourth deploy made its own release"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "fourth";' "content after the waiting deploy"
assert_eq "$(printf '%s\n' "deploy null $FIRST" "deploy $FIRST $THIRD" "deploy $THIRD $FOURTH")" \
	"$(jq -r 'select(.to != null) | "\(.verb) \(.from) \(.to)"' "$ROOT/.cutover/history.jsonl")" "history: the waiting deploy went over the third"
assert_dir_empty "$ROOT/.cutover/staging"
run co --json status
assert_eq null "$(jq -r .lock <<<"$OUT")" "no lock holder afterwards"
