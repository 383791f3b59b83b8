#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 22 (issue 10, item 7): SIGTERM, SIGINT and SIGHUP sent
# to the whole process group of a deploy through sudo, as timeout(1),
# systemd, a CI runner or ^C on a terminal do (here root sends it: the CI
# user could not signal the root helper, a terminal or a service manager
# can). The helper is in that group too; it used to die of the signal
# before its clean-up while the front end printed that the release being
# built was removed, leaving releases/ID (mode 0), .cutover/staging/ID and
# a "building" entry in list until the next locked run. Now what is printed
# must be true: no release but the known-good one, nothing in staging, no
# state but the known-good one's, no process left, no lock holder.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh' 'timeout = 60'
cat >"$SRC/step.sh" <<'STEP'
[ -e slow ] || exit 0
touch running
sleep 30
STEP
hostile_deploy_good
touch "$SRC/slow"
chmod a+r "$SRC/slow"
BEFORE=$(app_state)
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)

for sig in TERM INT HUP; do
	step "SIG$sig to the process group while a build step runs"
	# A session and process group of its own (setsid), whose members all
	# get the signal; SIGINT back to its default (a background job of a
	# script starts with it ignored).
	bg pid setsid env --default-signal=INT,HUP "${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
	wait_for 15 staging_started running || fail "SIG$sig: the step did not start"
	sleep 0.2
	kill -"$sig" -- -"$pid" 2>/dev/null || fail "SIG$sig: cannot signal the process group $pid"
	{ bg_wait "$pid"; } 2>/dev/null
	echo "   exit $RC after $ELAPSED_MS ms"
	assert_eq 1 "$RC" "SIG$sig: the deploy fails"
	assert_contains "$ERR" "interrupted" "SIG$sig: says it was interrupted"
	if [[ $ERR == *"release being built was removed"* ]]; then
		# Said removed: must be removed, right now (no wait).
		assert_app_unchanged "$BEFORE" "SIG$sig: right after the exit"
		run co list
		assert_not_contains "$OUT" "building" "SIG$sig: list right after the exit"
	fi
	assert_no_cutover_procs "SIG$sig" 10
	assert_app_unchanged "$BEFORE" "SIG$sig: once nothing of the run is left"
	run co --json status
	assert_eq null "$(jq -r .lock <<<"$OUT")" "SIG$sig: the lock holder"
done
