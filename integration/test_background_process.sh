#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Processes a build step leaves in the background (one in its own session,
# one ignoring SIGTERM and SIGHUP) die with the step: none is running once
# the deploy returns, and 3 s later the frozen release still matches its
# manifest and serves the built content.
. "$(dirname "$0")/lib.sh"

app_init \
	"run = setsid sh -c 'sleep 2; echo owned > public/index.php' &" \
	"run = (trap '' TERM HUP; sleep 2; echo owned >>public/index.php) >/dev/null 2>&1 &"

step "deploy"
assert_ok co deploy --from "$SRC" || fatal "deploy failed"
ID=$(current_id)
assert_no_procs "$ROOT" "no process of the build steps survives the deploy" 1

step "3 s later"
sleep 3
assert_manifest_ok "$ROOT" "$ID"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v1";' "content served 3 s after the deploy"
assert_eq "releases/$ID" "$(readlink "$ROOT/current")" "current 3 s after the deploy"
