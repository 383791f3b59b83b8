#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind builds at the final path: build steps, migrations and hooks
# run with the release mounted at live inside the sandbox, so whatever
# they bake (a config cache, `pwd`) names live, never releases/ID; the
# host never sees those mounts. Build steps see the shared entries
# mounted there read-only; migrations and hooks see shared directories
# writable, the new release (not the one live) at live, read-only. A git
# source is fetched at live too, before link-shared has made any mount
# point.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2016 # $PWD is the build step's, expanded by its shell
bind_app_init \
	'run = pwd >where.txt' \
	'run = printf "<?php return [\047base_path\047 => \047%s\047];\n" "$PWD" >config-cache.php' \
	'run = cat .env >env-seen.txt; cat storage/marker >marker-seen.txt 2>&1; true' \
	'run = if touch storage/from-build 2>/dev/null; then echo writable; else echo read-only; fi >storage-seen.txt' \
	'run = if echo x >>.env 2>/dev/null; then echo writable; else echo read-only; fi >env-write.txt' \
	'run = grep -c " $PWD " /proc/self/mountinfo >mounts-seen.txt' \
	'[migrate]' \
	'run = pwd >storage/migrate-pwd.txt; cat public/index.php >storage/migrate-index.txt' \
	'allow_destructive = yes' \
	'[hooks]' \
	'before_switch = pwd >storage/before-pwd.txt; cat public/index.php >storage/before-index.txt; touch new 2>storage/before-write.txt; true' \
	'after_switch = pwd >storage/after-pwd.txt; cat public/index.php >storage/after-index.txt'
LIVE=$ROOT/live
host_mounts=$(awk '{ print $5 }' /proc/self/mountinfo | LC_ALL=C sort)

step "first deploy"
printf 'APP_KEY=base64:one\n' >"$SRC/.env"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
ID1=$(current_id)
R1=$ROOT/releases/$ID1
assert_file_content "$R1/where.txt" "$LIVE" "pwd of a build step"
assert_file_content "$R1/config-cache.php" "<?php return ['base_path' => '$LIVE'];" "the baked config names live"
assert_file_content "$R1/env-seen.txt" "APP_KEY=base64:one" "build steps read the shared .env at live/.env"
assert_file_content "$R1/storage-seen.txt" read-only "live/storage during a build step"
assert_file_content "$R1/env-write.txt" read-only "live/.env during a build step"
assert_file_content "$R1/mounts-seen.txt" 1 "the release is mounted once at live in the sandbox"
assert_file_absent "$ROOT/shared/storage/from-build" "a build step wrote into shared/storage"
assert_file_content "$ROOT/shared/.env" "APP_KEY=base64:one" "shared/.env after a build step"
assert_file_content "$ROOT/shared/storage/migrate-pwd.txt" "$LIVE" "pwd of migrations"
assert_file_content "$ROOT/shared/storage/before-pwd.txt" "$LIVE" "pwd of a before_switch hook"
assert_file_content "$ROOT/shared/storage/after-pwd.txt" "$LIVE" "pwd of an after_switch hook"
assert_contains "$(cat "$ROOT/shared/storage/before-write.txt")" "Read-only file system" \
	"the frozen release is read-only at live for hooks"
assert_live "$ID1" "after the first deploy"

step "second deploy: migrations and before_switch see the new release at live, not the live one"
echo 'from the host' >"$ROOT/shared/storage/marker"
set_index "$SRC" v2
assert_ok co deploy --from "$SRC" || fatal "the second deploy failed"
ID2=$(current_id)
assert_ne "$ID1" "$ID2" "a new release"
assert_file_content "$ROOT/releases/$ID2/marker-seen.txt" "from the host" "build steps see shared/storage at live/storage"
assert_file_content "$ROOT/shared/storage/migrate-index.txt" '<?php echo "v2";' "migrations run the new release"
assert_file_content "$ROOT/shared/storage/before-index.txt" '<?php echo "v2";' "before_switch runs the new release"
assert_file_content "$ROOT/shared/storage/after-index.txt" '<?php echo "v2";' "after_switch runs the new release"
assert_file_content "$ROOT/releases/$ID2/where.txt" "$LIVE" "pwd of a build step, second release"
assert_live "$ID2" "after the second deploy"

step "a git source, fetched at live"
git_scratch_dir repo
chmod 755 "$repo" && cp -a "$SRC/." "$repo/" && rm -f "$repo/.env" && set_index "$repo" v3 || fatal "cannot copy the source"
git_q() { git -C "$repo" -c user.name=it -c user.email=it@example.invalid "$@" >/dev/null 2>&1; }
git_q init -q -b main && git_q add -A && git_q commit -q -m v3 || fatal "cannot make the git repository"
chown -R nobody:nogroup "$repo"
assert_ok co deploy --from "git+file://$repo#main" || fatal "the git deploy failed"
ID3=$(current_id)
assert_file_content "$ROOT/live/public/index.php" '<?php echo "v3";' "live serves the release from git"
assert_file_content "$ROOT/releases/$ID3/where.txt" "$LIVE" "pwd of a build step after a git fetch"
assert_file_absent "$ROOT/releases/$ID3/.git" "no .git in a release from git"
assert_live "$ID3" "after the git deploy"

step "the sandbox's mounts never reached this namespace"
now=$(awk '{ print $5 }' /proc/self/mountinfo | LC_ALL=C sort)
assert_eq "$(printf "%s\n" "$host_mounts" "$ROOT" "$LIVE" "$LIVE/.env" "$LIVE/storage" | LC_ALL=C sort)" "$now" \
	"mount points: those before the first deploy, and ROOT, live and its shared entries"
