#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Prune runs after failed deploys too (issue 13): deploys rolled back by
# their health check (exit 3) keep the releases bounded; with keep = 1 and an
# after_switch hook that fails, every deploy exits 1 after its switch,
# and the releases stay at current + previous instead of piling up. A
# build that fails before the switch prunes too (exit code still 1);
# --keep-failed keeps that failed build (no prune then).
. "$(dirname "$0")/lib.sh"

APP_KEEP=1
app_init "run = true" "[hooks]" "after_switch = exit 5"

for i in 1 2 3 4 5; do
	step "deploy $i, its after_switch hook fails"
	set_index "$SRC" "v$i"
	assert_exit 1 co deploy --from "$SRC"
	assert_contains "$ERR" "failed with exit code 5" "deploy $i: the hook failure is the error"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$i\";" "deploy $i is live"
	if ((i > 2)); then
		assert_contains "$ERR" "  prune" "deploy $i: prune ran"
		assert_contains "$ERR" "1 removed" "deploy $i: one old release removed"
	fi
	n=$(dir_list "$ROOT/releases" | wc -w)
	assert_lt "$n" 3 "deploy $i: releases stay at current and previous ($n)"
done

step "deploys rolled back by their health check (exit 3) prune too"
# Nothing listens on port 9: every health check fails, and the deploy
# rolls back to the release before it.
app_config "$CONF" "$ROOT" "run = true" "[health]" "url = http://127.0.0.1:9/" "timeout = 1" "retries = 1"
for i in 6 7 8; do
	set_index "$SRC" "v$i"
	assert_exit 3 co deploy --from "$SRC"
	assert_contains "$ERR" "rolled back to" "deploy $i was rolled back"
	assert_contains "$ERR" "  prune" "deploy $i: prune ran after the rollback"
	n=$(dir_list "$ROOT/releases" | wc -w)
	assert_lt "$n" 4 "deploy $i: releases do not pile up ($n)"
done

step "a build that fails before the switch"
app_config "$CONF" "$ROOT" "run = exit 6"
before=$(dir_list "$ROOT/releases")
assert_exit 1 co deploy --from "$SRC"
assert_contains "$ERR" "exit code 6" "the build failure is the error"
assert_contains "$ERR" "  prune" "prune ran after the failed build"
assert_eq "$before" "$(dir_list "$ROOT/releases")" "releases after a failed build"

step "--keep-failed keeps the failed build: no prune"
assert_exit 1 co deploy --from "$SRC" --keep-failed
assert_not_contains "$ERR" "  prune" "no prune after --keep-failed"
assert_eq 1 "$(dir_list "$ROOT/.cutover/failed" | wc -w)" "the failed build is kept"

step "-q: the exit code of a failed deploy is unchanged, prune silent"
assert_exit 1 co -q deploy --from "$SRC"
assert_error_line 1
assert_eq 0 "$(dir_list "$ROOT/.cutover/failed" | wc -w)" "the prune after it removed the kept failed build"
