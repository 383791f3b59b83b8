#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A build step that fills the filesystem of the releases to the last byte
# is stopped at once, and says so, even when what it wrote is below
# max_size (100 MB here, on a 60 MB filesystem): nothing else on that
# filesystem can write any more. It used to run on, the disk full, until
# its timeout. ROOT is a 60 MB tmpfs in the test's own mount namespace.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

app_init 'run = sh fill.sh' 'timeout = 30' 'max_size = 100M'
cat >"$SRC/fill.sh" <<'FILL'
[ -e fill ] || exit 0
head -c 45000000 /dev/zero >a
sleep 0.3
head -c 40000000 /dev/zero >b
sleep 60
FILL
mkdir -p "$ROOT" || fatal "cannot create $ROOT"
mount -t tmpfs -o size=60m,mode=0755 cutover-it-full "$ROOT" || fatal "cannot mount a tmpfs on $ROOT"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
good=$(current_id)

step "a step that fills the filesystem"
touch "$SRC/fill"
set_index "$SRC" v2
assert_exit 1 co deploy --from "$SRC"
assert_contains "$ERR" "was stopped: it filled the filesystem of $ROOT/releases (no space left)" "stopped: the disk is full"
assert_lt "$ELAPSED_MS" 20000 "stopped when the disk filled, not at the 30 s timeout"
assert_eq "$good" "$(current_id)" "the live release is unchanged"
assert_eq "$good" "$(dir_list "$ROOT/releases")" "the new release is gone"
assert_no_procs "$ROOT" "no process of the step is left"
umount "$ROOT"
