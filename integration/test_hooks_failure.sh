#!/bin/bash
# SPDX-License-Identifier: MIT
#
# [hooks] on_failure and after_rollback (they write to shared/storage,
# which every hook may write):
#
#  1. the first deploy fails its build: nothing is live, so on_failure
#     does not run, and the deploy says so in a warning;
#  2. a failing build step once a release is live: on_failure runs as the
#     deploy user in the live release, with the failed release and the
#     reason in CUTOVER_FAILED_RELEASE and CUTOVER_REASON; exit 1 as ever;
#  3. cutover rollback runs after_rollback in the release rolled back to
#     (CUTOVER_ROLLBACK=manual); a deploy that succeeds runs neither;
#  4. a failing health check: the automatic rollback runs after_rollback
#     (CUTOVER_ROLLBACK=automatic), then on_failure; exit 3 as ever;
#  5. hooks that fail: each is one warning, and the exit codes stay 1, 0
#     and 3.
#
# test_hooks_failure_bind.sh runs the same in mode = bind (HOOKS_BIND=1),
# where every hook runs at live.
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2016 # expanded by the hook's shell
ON_FAILURE='on_failure = echo "F $(id -un) $CUTOVER_HOOK $CUTOVER_RELEASE $CUTOVER_FAILED_RELEASE $PWD <$CUTOVER_REASON>" >>storage/hooks.log'
# shellcheck disable=SC2016
AFTER_RB='after_rollback = echo "R $(id -un) $CUTOVER_HOOK $CUTOVER_RELEASE $CUTOVER_ROLLBACK" >>storage/hooks.log'

# config BUILD_LINE [LINE...]
config()
{
	app_config "$CONF" "$ROOT" "$1" "[hooks]" "$ON_FAILURE" "$AFTER_RB" "${@:2}"
}

# log_lines: hooks.log so far ("" if none), then emptied.
log_lines()
{
	[[ -f $LOG ]] && cat "$LOG" && : >"$LOG"
}

# where_hook ID: the directory a hook in release ID runs in.
where_hook()
{
	if [[ ${HOOKS_BIND:-0} == 1 ]]; then
		printf '%s/live' "$ROOT"
	else
		printf '%s/releases/%s' "$ROOT" "$1"
	fi
}

if [[ ${HOOKS_BIND:-0} == 1 ]]; then
	bind_app_init
else
	app_init
fi
LOG=$ROOT/shared/storage/hooks.log

step "the first deploy fails: nothing is live to run on_failure in"
config 'run = exit 3'
assert_exit 1 co deploy --from "$SRC"
assert_contains "$ERR" "cutover: warning: no release is live: the on_failure hooks did not run" "the warning"
assert_contains "$ERR" "build step 1 'exit 3'" "the error line"
assert_file_absent "$LOG" "no hook ran"

step "a good deploy runs neither"
config 'run = true'
assert_ok co deploy --from "$SRC" || fatal "the first good deploy failed"
V1=$(current_id)
assert_eq "" "$(log_lines)" "no hook ran"

step "a failing build step runs on_failure in the live release"
config 'run = exit 4'
set_index "$SRC" v2
assert_exit 1 co deploy --from "$SRC"
line=$(grep '^cutover: ' <<<"$ERR" | grep -v '^cutover: warning')
failed=$(sed -n "s/.*release \([^ ]*\) removed.*/\1/p" <<<"$line")
assert_match "$failed" '^[0-9]{8}T' "the error names the failed release"
assert_eq "F nobody on_failure $V1 $failed $(where_hook "$V1") <${line#cutover: }>" "$(log_lines)" \
	"on_failure's user, release, failed release, directory and reason"
assert_contains "$ERR" "on_failure hook 1" "the hook's step is shown"
assert_not_contains "$ERR" "cutover: warning" "no warning"
assert_eq "$V1" "$(current_id)" "current after the failed build"

step "cutover rollback runs after_rollback"
config 'run = true'
assert_ok co deploy --from "$SRC"
V2=$(current_id)
assert_eq "" "$(log_lines)" "a good deploy runs no failure hook"
assert_ok co rollback
assert_eq "$V1" "$(current_id)" "current after the rollback"
assert_eq "R nobody after_rollback $V1 manual" "$(log_lines)" "after_rollback ran in the release rolled back to"
assert_ok co switch "$V2"
assert_eq "" "$(log_lines)" "a switch runs no after_rollback hook"

step "a failing health check: after_rollback, then on_failure"
config 'run = true' "[health]" "url = http://127.0.0.1:1/up" "timeout = 2" "retries = 1"
set_index "$SRC" v3
assert_exit 3 co deploy --from "$SRC"
V3=$(sed -n 's/.*create release.* \([0-9]\{8\}T[^ ]*\)$/\1/p' <<<"$ERR" | head -n 1)
assert_eq "$V2" "$(current_id)" "current after the automatic rollback"
log=$(log_lines)
assert_eq "R nobody after_rollback $V2 automatic" "$(sed -n 1p <<<"$log")" "after_rollback first ($log)"
assert_match "$(sed -n 2p <<<"$log")" "^F nobody on_failure $V2 [^ ]+ $(where_hook "$V2") <health check failed: .*rolled back to $V2" \
	"then on_failure, with the health check's reason ($log)"
assert_eq 2 "$(grep -c '' <<<"$log")" "two hooks ran"
assert_match "$V3" '^[0-9]{8}T' "the deploy named its release"
assert_contains "$log" " $V3 " "on_failure names the release that failed"

step "failing hooks never change the exit code"
# shellcheck disable=SC2016
app_config "$CONF" "$ROOT" 'run = exit 5' "[hooks]" 'on_failure = exit 7' 'after_rollback = exit 9'
assert_exit 1 co deploy --from "$SRC"
assert_contains "$ERR" "cutover: warning: on_failure hook 1 'exit 7' failed with exit code 7 (the exit code is unchanged)" "the warning"
assert_contains "$ERR" "build step 1 'exit 5'" "the error line is the build's"
app_config "$CONF" "$ROOT" 'run = true' "[hooks]" 'on_failure = exit 7' 'after_rollback = exit 9'
assert_exit 0 co rollback
assert_contains "$ERR" "cutover: warning: after_rollback hook 1 'exit 9' failed with exit code 9" "the warning"
assert_eq "$V1" "$(current_id)" "the rollback happened"
app_config "$CONF" "$ROOT" 'run = true' "[hooks]" 'on_failure = exit 7' 'after_rollback = exit 9' \
	"[health]" "url = http://127.0.0.1:1/up" "timeout = 2" "retries = 1"
set_index "$SRC" v4
assert_exit 3 co deploy --from "$SRC"
assert_contains "$ERR" "after_rollback hook 1 'exit 9' failed" "after_rollback's warning"
assert_contains "$ERR" "on_failure hook 1 'exit 7' failed" "on_failure's warning"
assert_eq "$V1" "$(current_id)" "current after the automatic rollback"
