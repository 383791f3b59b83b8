#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A deploy whose release does not fit on the disk fails cleanly wherever
# the disk fills: at the import (the source is larger than the free
# space), at a build step (it writes more than is free) and at the freeze
# (the import fits, the copy into the object store does not). Each time:
# exit code 1, one "cutover:" error line saying why, the new release gone,
# the live release unchanged and verified, a prune leaves no object
# without a release and nothing in staging/ or trash/, and the next small
# deploy succeeds. ROOT is a 12 MB tmpfs in the test's own mount
# namespace.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

app_init 'run = sh build.sh' 'timeout = 30'
cat >"$SRC/build.sh" <<'BUILD'
[ -e fill ] || exit 0
head -c $(cat fill) /dev/zero >filled || exit 1
BUILD
mkdir -p "$ROOT" || fatal "cannot create $ROOT"
mount -t tmpfs -o size=12m,mode=0755 cutover-it-full "$ROOT" || fatal "cannot mount a tmpfs on $ROOT"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
good=$(current_id)
VER=1

# free_kib: what is free on ROOT's filesystem.
free_kib()
{
	df -k --output=avail "$ROOT" | tail -n 1 | tr -d ' '
}

# check_clean WHAT: the failed deploy left the app as it was.
check_clean()
{
	local err_line objs inodes

	err_line=$(grep '^cutover: ' <<<"$ERR")
	assert_eq 1 "$(grep -c '' <<<"$err_line")" "$1: exactly one 'cutover:' error line ($ERR)"
	assert_eq "$good" "$(current_id)" "$1: the live release is unchanged"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$VER\";" "$1: what current serves"
	printf '    %s\n' "$err_line" >&2
	assert_contains "$err_line" "removed, the live site is unchanged" "$1: the error says what became of the release"
	assert_eq "$BEFORE" "$(dir_list "$ROOT/releases")" "$1: the new release is gone"
	# A failed build's record (state "failed", no tree) may stay when
	# there is room to write it (issue 13); nothing else may.
	assert_eq "$BEFORE" "$(for f in "$ROOT"/.cutover/state/*; do grep -qx 'state=failed' "$f" || printf '%s\n' "${f##*/}"; done | paste -sd' ' -)" "$1: state files"
	assert_ok co verify || fail "$1: the live release does not verify"
	assert_ok co prune --keep 1
	assert_eq "" "$(find "$ROOT/.cutover/objects" -type f -links 1)" "$1: objects without a release"
	objs=$(find "$ROOT/.cutover/objects" -type f -printf '%i\n' | sort -u)
	inodes=$(find "$ROOT/releases" -type f -printf '%i\n' | sort -u)
	assert_eq "$objs" "$inodes" "$1: the objects are exactly the live release's files"
	assert_dir_empty "$ROOT/.cutover/staging" "$1: staging/"
	assert_dir_empty "$ROOT/.cutover/trash" "$1: trash/"
	assert_no_procs "$ROOT" "$1: no process of the deploy is left"
}

# small_deploy_ok WHAT: the next small deploy succeeds.
small_deploy_ok()
{
	rm -f "$SRC/public/big.bin" "$SRC/fill"
	VER=$((VER + 1))
	set_index "$SRC" "v$VER"
	assert_ok co deploy --from "$SRC" || { fail "$1: the next small deploy failed"; return; }
	good=$(current_id)
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$VER\";" "$1: served after the next deploy"
	assert_ok co verify
	assert_ok co prune --keep 1
}

step "the source does not fit: import"
head -c $(($(free_kib) * 1024 + 1048576)) /dev/urandom >"$SRC/public/big.bin"
BEFORE=$(dir_list "$ROOT/releases")
assert_exit 1 co deploy --from "$SRC"
assert_match "$ERR" "importing .* failed: member public/big.bin: .*No space left on device" "the import's error says the disk is full"
check_clean "import"
small_deploy_ok "import"

step "a build step fills the disk"
printf '%s\n' $(($(free_kib) * 1024 + 1048576)) >"$SRC/fill"
BEFORE=$(dir_list "$ROOT/releases")
assert_exit 1 co deploy --from "$SRC"
# The step is stopped when the disk fills (test_step_disk_full).
assert_contains "$ERR" "build step 1 'sh build.sh' was stopped" "the error names the step"
check_clean "build step"
small_deploy_ok "build step"

step "the copy into the store does not fit: freeze"
# The import fits; the freeze copies each file into the store (tmpfs
# cannot share extents), which needs as much again.
head -c $(($(free_kib) * 1024 * 3 / 5)) /dev/urandom >"$SRC/public/big.bin"
BEFORE=$(dir_list "$ROOT/releases")
assert_exit 1 co deploy --from "$SRC"
assert_contains "$ERR" "freeze failed: No space left on device" "the freeze's error says the disk is full"
check_clean "freeze"
small_deploy_ok "freeze"
umount "$ROOT"
