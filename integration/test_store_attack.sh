#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The descriptor attack on a release, reproduced, and defeated by the
# object store: no inode a build could reach is ever published.
#
# 1. A build step runs `sleep 2`. execve makes it dumpable again, so a
#    separate process of the deploy user (nobody), outside the sandbox,
#    opens /proc/<sleep pid>/cwd/public/index.php read-write and keeps the
#    descriptor. After the freeze and the switch it writes through it.
# 2. A build step opens public/index.php read-write and hands the
#    descriptor over an abstract unix socket to a deploy-user process
#    outside; same result.
# In both cases the write goes through (the attack is real), the file
# served, read as www-data, is unchanged, it is another inode than the
# one the attacker holds, and `cutover verify` passes.
. "$(dirname "$0")/lib.sh"

app_init 'run = sleep 2'
ATT=$S/att
mkdir -m 0777 "$ATT"
tool_build fdhold "$S"
FDHOLD=$TOOL
PAYLOAD='<?php echo "pwned";'

# as_deploy CMD...: CMD as the deploy user (nobody), no groups.
as_deploy()
{
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# build_step_pid: the pid of the `sleep` build step of this app (its cwd
# is its release below ROOT), or nothing.
build_step_pid()
{
	local p

	for p in $(pgrep -u 65534 -x sleep); do
		[[ $(readlink "/proc/$p/cwd" 2>/dev/null) == "$ROOT"/releases/* ]] && { echo "$p"; return 0; }
	done
	return 1
}

# check_served WHAT HELD_INODE: the live file is the release's, readable by
# www-data, and not the inode the attacker wrote through.
check_served()
{
	local live
	live=$(setpriv --reuid=33 --regid=33 --clear-groups cat "$ROOT/current/public/index.php")
	assert_eq '<?php echo "v1";' "$live" "$1: what www-data reads from the live release"
	assert_ne "$2" "$(stat -L -c %i "$ROOT/current/public/index.php")" "$1: the live file is not the inode the attacker holds"
	run co verify
	assert_eq 0 "$RC" "$1: cutover verify passes ($OUT $ERR)"
	assert_contains "$OUT" "matches its manifest" "$1: cutover verify says so"
}

step "a deploy-user process opens the sleeping step's file through /proc/PID/cwd"
bg DEPLOY co deploy --from "$SRC"
wait_for 20 build_step_pid || fatal "the build step never started"
pid=$(build_step_pid)
bg HOLDER as_deploy "$FDHOLD" open "/proc/$pid/cwd/public/index.php" "$ATT/ready1" "$ATT/go1" "$PAYLOAD"
wait_for 10 test -s "$ATT/ready1" || fatal "the attacker could not open the step's file (the attack is not reproduced)"
held=$(cat "$ATT/ready1")
bg_wait "$DEPLOY"
assert_eq 0 "$RC" "the deploy under attack succeeds ($ERR)"
touch "$ATT/go1"
bg_wait "$HOLDER"
assert_eq 0 "$RC" "the attacker's write through its descriptor went through ($ERR)"
assert_contains "$OUT" "wrote" "the attacker wrote"
check_served "through /proc/PID/cwd" "$held"

step "a build step hands a writable descriptor out over a unix socket"
SOCK=cutover-it-$(random_hex 12)
install -m 0755 "$FDHOLD" "$SRC/fdhold"
app_config "$CONF" "$ROOT" "run = ./fdhold send $SOCK public/index.php"
bg HOLDER as_deploy "$FDHOLD" recv "$SOCK" "$ATT/ready2" "$ATT/go2" "$PAYLOAD"
sleep 0.3
assert_ok co deploy --from "$SRC"
wait_for 10 test -s "$ATT/ready2" || fatal "the attacker never received the descriptor (the attack is not reproduced)"
held=$(cat "$ATT/ready2")
touch "$ATT/go2"
bg_wait "$HOLDER"
assert_eq 0 "$RC" "the attacker's write through the passed descriptor went through ($ERR)"
check_served "through a passed descriptor" "$held"
assert_eq "" "$(find "$ROOT/.cutover/staging" "$ROOT/.cutover/trash" -mindepth 1)" "no build tree left behind"
