#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover mount (mode = bind) re-establishes live from the recorded
# current release: before any deploy it only prepares ROOT; after live was
# unmounted by hand it mounts the current release again; run again it
# changes nothing; it repairs the states a crash of a publish can leave
# (the new release mounted beneath the old one, both stacked; the record
# ahead of the mount), and so does the start of every other locked run.
# In symlink mode it is a usage error.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

bind_app_init

# top_id: the mount id of what a lookup of live reaches.
top_id()
{
	live_mounts | tail -n 1 | cut -d' ' -f1
}

step "cutover mount before anything is deployed"
assert_ok co mount
assert_contains "$ERR" "nothing deployed yet" "what mount says with nothing deployed"
assert_eq "" "$(live_mounts)" "nothing is mounted at live"
assert_match "$(awk -v r="$ROOT" '$5 == r { print $7 }' /proc/self/mountinfo)" '^shared:' \
	"ROOT is a mount of its own, shared"

step "two releases"
assert_ok co deploy --from "$SRC" || fatal "deploy v1 failed"
V1=$(current_id)
set_index "$SRC" v2
assert_ok co deploy --from "$SRC" || fatal "deploy v2 failed"
V2=$(current_id)
assert_live "$V2" "after deploying v2"

step "live unmounted by hand"
umount -R "$ROOT/live" || fatal "cannot unmount live"
assert_eq "" "$(live_mounts)" "nothing at live after umount -R"
assert_ok co mount
assert_contains "$ERR" "release mounted" "what mount says"
assert_live "$V2" "after cutover mount"
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v2";' "live serves v2 again"
[[ -d $ROOT/live/storage && $(awk -v t="$ROOT/live/storage" '$5 == t' /proc/self/mountinfo) ]] ||
	fail "shared/storage is not mounted on live again"

step "cutover mount again changes nothing"
before=$(top_id)
assert_ok co mount --wait 5
assert_contains "$ERR" "serves $V2" "what mount says when all is well"
assert_not_contains "$ERR" "repaired" "nothing to repair"
assert_eq "$before" "$(top_id)" "the mount at live is the same one"
assert_ok co --json mount
assert_eq "$V2 0 false" "$(jq -r '"\(.release) \(.unstacked) \(.mounted)"' <<<"$OUT")" "mount --json"

step "crash after the new release went beneath the old one: two stacked"
# What SIGKILL between move_mount(MOVE_MOUNT_BENEATH) and the unmount of
# the old top leaves: current names v2, v2 beneath, v1 on top (served).
mount --bind -o ro "$ROOT/releases/$V1" "$ROOT/live" || fatal "cannot stack v1 on live"
assert_eq 2 "$(live_mounts | grep -c '')" "two mounts stacked at live"
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v1";' "the top one serves"
assert_ok co mount
assert_contains "$ERR" "1 stacked mount removed" "what mount says"
assert_live "$V2" "after repairing two stacked mounts"
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v2";' "live serves the recorded release"

step "the record ahead of the mount, and a stack of three"
# The record names v1 (a crash after the rename of current), live shows
# v2, with two more mounts on top: v2 and v1.
ln -sfn "releases/$V1" "$ROOT/current.tmp" && mv -T "$ROOT/current.tmp" "$ROOT/current" || fatal "setup"
mount --bind -o ro "$ROOT/releases/$V2" "$ROOT/live" && mount --bind -o ro "$ROOT/releases/$V1" "$ROOT/live" ||
	fatal "cannot stack on live"
assert_eq 3 "$(live_mounts | grep -c '')" "three mounts stacked at live"
assert_ok co mount
assert_contains "$ERR" "2 stacked mounts removed, release mounted" "what mount says"
assert_live "$V1" "after repairing to the record"
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v1";' "live serves the recorded release"

step "any locked run repairs first"
ln -sfn "releases/$V2" "$ROOT/current.tmp" && mv -T "$ROOT/current.tmp" "$ROOT/current" || fatal "setup"
mount --bind -o ro "$ROOT/releases/$V1" "$ROOT/live" || fatal "cannot stack v1 on live"
assert_ok co prune
assert_live "$V2" "after a prune, which locks"
umount -R "$ROOT/live" || fatal "cannot unmount live"
set_index "$SRC" v3
assert_ok co deploy --from "$SRC"
assert_contains "$ERR" "release mounted" "the deploy's lock step says it repaired live"
V3=$(current_id)
assert_live "$V3" "after a deploy that found live unmounted"
assert_eq "deploy $V2 $V3" "$(tail -n 1 "$ROOT/.cutover/history.jsonl" | jq -r '"\(.verb) \(.from) \(.to)"')" \
	"history of that deploy"

step "check and status see a broken live"
mount --bind -o ro "$ROOT/releases/$V1" "$ROOT/live" || fatal "cannot stack v1 on live"
assert_exit 2 co check
assert_contains "$ERR" "does not serve the current release $V3" "check names the problem"
assert_contains "$ERR" "cutover mount" "check says what to do"
assert_exit 1 co status
assert_contains "$OUT" "more mounts stacked beneath" "status shows the stack"
assert_ok co mount
assert_ok co check
assert_ok co status

step "symlink mode has nothing to mount"
IT_BIND=0 app_config "$S/symlink.conf" "$S/other-root"
assert_exit 2 "$CUTOVER_BIN" -c "$S/symlink.conf" mount "$APP"
assert_usage_error
assert_contains "$ERR" "mount is for mode = bind" "the refusal"
