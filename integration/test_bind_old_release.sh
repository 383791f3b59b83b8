#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind and the release a swap replaces: a process holding one of
# its files open, or with its working directory in it, keeps reading the
# old content (the old mount is detached lazily, never pulled from under
# it); and a release still mounted anywhere (here: at live in a mount
# namespace that stopped receiving our mounts) is not pruned, by a
# deploy's prune or by cutover prune, until nothing has it mounted.
IT_OWN_MOUNT_NS=1
APP_KEEP=1
. "$(dirname "$0")/lib.sh"

bind_app_init
assert_ok co deploy --from "$SRC" || fatal "deploy v1 failed"
V1=$(current_id)

step "an open file and a working directory in the live release"
exec 3<"$ROOT/live/public/index.php" || fatal "cannot open live/public/index.php"
# shellcheck disable=SC2016 # $1 is the inner shell's
bg CWD sh -c 'cd "$1/live/public" && while [ ! -e "$1/../stop-cwd" ]; do sleep 0.05; done && cat index.php' sh "$ROOT"
# A namespace made now keeps v1 at live: its mounts are private copies.
# shellcheck disable=SC2016 # $1 is the inner shell's
bg NS unshare --mount --propagation private sh -c 'cat "$1/live/public/index.php" >"$1/../ns-saw"; exec sleep 120' sh "$ROOT"
wait_for 5 test -s "$S/ns-saw" || fatal "the namespace did not start"
assert_file_content "$S/ns-saw" '<?php echo "v1";' "the other namespace sees v1"

step "two more deploys"
set_index "$SRC" v2
assert_ok co deploy --from "$SRC" || fatal "deploy v2 failed"
V2=$(current_id)
set_index "$SRC" v3
assert_ok co deploy --from "$SRC" || fatal "deploy v3 failed"
V3=$(current_id)
assert_live "$V3" "after deploying v3"
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v3";' "live serves v3"
assert_eq '<?php echo "v1";' "$(cat <&3)" "a file opened in v1 before the swaps"
touch "$S/stop-cwd"
bg_wait "$CWD"
assert_eq '<?php echo "v1";' "$OUT" "a relative path from a working directory in v1"
assert_eq "$ROOT/releases/$V1" "$(live_mounts "$NS" | awk '{ print $2 }')" "what the other namespace has at live"

step "the release mounted elsewhere survives prune"
# keep = 1: the deploys' own prunes kept v1 only because it is mounted.
assert_eq "$(sorted "$V1" "$V2" "$V3")" "$(dir_list "$ROOT/releases")" "releases after the deploys"
assert_ok co prune --keep 1
assert_eq "$(sorted "$V1" "$V2" "$V3")" "$(dir_list "$ROOT/releases")" "releases after cutover prune --keep 1"
assert_eq '<?php echo "v1";' "$(cat "/proc/$NS/root$ROOT/live/public/index.php")" "the other namespace still serves v1"

step "once nothing has it mounted, prune removes it"
kill "$NS"
bg_wait "$NS"
run co --json prune --keep 1
assert_eq 0 "$RC" "prune after the namespace is gone" || printf '%s\n' "$ERR"
assert_eq "$V1" "$(jq -r '.removed | join(" ")' <<<"$OUT")" "what prune removed"
assert_eq "$(sorted "$V2" "$V3")" "$(dir_list "$ROOT/releases")" "releases at the end (current and previous)"
# The same open file (through its /proc link, the fd is at its end now).
assert_eq '<?php echo "v1";' "$(cat /proc/self/fd/3)" "the file opened in v1, after its release was removed"
exec 3<&-
assert_live "$V3" "at the end"
