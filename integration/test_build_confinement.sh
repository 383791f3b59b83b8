#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A build step can write its own release and nothing else: writes to
# /etc, /root, another app's release and shared/, its own app's shared/
# (read-only during builds, also through the release's shared links), its
# own live release and .cutover/ all fail; the write into its release
# lands in the frozen release; /tmp, /var/tmp and /dev/shm are private
# tmpfs mounts whose files never appear on the host.
. "$(dirname "$0")/lib.sh"

step "a second app (daemon:daemon), deployed first"
APP=other
app_init
B_ROOT=$ROOT B_CONF=$CONF B_SRC=$SRC
APP_USER=daemon APP_GROUP=daemon app_config "$B_CONF" "$B_ROOT" 'run = mkdir -p storage/cache && echo seed >storage/cache/x || true'
assert_ok cutover -c "$B_CONF" deploy other --from "$B_SRC" || fatal "deploying the second app failed"
B_REL=$B_ROOT/releases/$(current_id "$B_ROOT")
B_SHARED=$B_ROOT/shared/storage
B_BEFORE=$(tree_snapshot "$B_ROOT")

step "the app under test, deployed once"
APP=demo
app_init
assert_ok co deploy --from "$SRC" || fatal "first deploy failed"
OLD_REL=$ROOT/releases/$(current_id)
tag=$(basename "$S")

# Each target: "expected path". The probe tries to create the file (or
# the directory, for a trailing /) and records what happened.
cat >"$SRC/targets.txt" <<TARGETS
denied /etc/cutover-test-x
denied /etc/cutover-test-dir/
denied /root/cutover-test-x
denied /usr/local/cutover-test-x
denied $B_REL/pwn
denied $B_REL/public/pwn
denied $B_ROOT/releases/pwn/
denied $B_SHARED/pwn
denied $B_SHARED/cache/pwn
denied $B_ROOT/current/pwn
denied $ROOT/shared/storage/pwn
denied $ROOT/shared/.env
denied storage/pwn
denied .env
denied $OLD_REL/pwn
denied $ROOT/current/public/pwn
denied $ROOT/releases/pwn/
denied $ROOT/.cutover/pwn
denied $ROOT/pwn
written own.txt
written public/generated/
written /tmp/$tag-tmp
written /var/tmp/$tag-vartmp
written /dev/shm/$tag-shm
TARGETS
cat >"$SRC/probe.sh" <<'SH'
while read -r want path; do
	case $path in
	*/) err=$(mkdir "$path" 2>&1) ;;
	*) err=$(sh -c 'echo probe >>"$1"' _ "$path" 2>&1) ;;
	esac
	if [ $? -eq 0 ]; then got=written; else got=denied; fi
	echo "$got $path${err:+ ($err)}"
done <targets.txt >probe-results.txt
SH
app_config "$CONF" "$ROOT" 'run = sh probe.sh'

# Host paths outside the scratch dirs that a broken sandbox would create:
# they must not exist now, and are removed again if the step made them.
host_paths=()
while read -r want path; do
	case $path in
	"$S"/* | "$B_ROOT"/*) ;;
	/*) host_paths+=("${path%/}") ;;
	esac
done <"$SRC/targets.txt"
for p in "${host_paths[@]}"; do
	[[ -e $p ]] && fatal "$p exists before the test; remove it and run again"
done
remove_host_paths()
{
	local p

	for p in "${host_paths[@]}"; do
		if [[ -e $p ]]; then
			rm -rf -- "$p"
		fi
	done
}
at_exit remove_host_paths

step "the probing deploy"
assert_ok co deploy --from "$SRC" || fatal "the probing deploy failed"
NEW_REL=$ROOT/releases/$(current_id)
assert_ne "$OLD_REL" "$NEW_REL" "the probing deploy made a new release"
assert_file_exists "$NEW_REL/probe-results.txt" "the probe's results are in the frozen release"
sed 's/^/   probe: /' "$NEW_REL/probe-results.txt"

while read -r want path; do
	got=$(awk -v p="$path" '$2 == p' "$NEW_REL/probe-results.txt" | head -n 1)
	assert_eq "$want" "${got%% *}" "build step writing $path: ${got#* }"
done <"$SRC/targets.txt"

step "what reached the host"
assert_file_content "$NEW_REL/own.txt" probe "the step's own file in the frozen release"
assert_file_exists "$NEW_REL/public/generated" "the step's own directory in the frozen release"
while read -r want path; do
	case $path in
	"$ROOT/shared/.env")
		;;   # exists: its content is checked below
	/tmp/$tag-* | /var/tmp/$tag-* | /dev/shm/$tag-*)
		assert_file_absent "$path" "a step's $path must stay in its private tmpfs" ;;
	/*)
		assert_file_absent "${path%/}" "a build step must not create $path" ;;
	esac
done <"$SRC/targets.txt"
assert_file_absent "$NEW_REL/storage/pwn"
assert_eq "" "$(cat "$ROOT/shared/.env")" "the app's shared .env is untouched"
assert_tree_same "$B_BEFORE" "$B_ROOT" "the other app's root"
assert_manifest_ok "$B_ROOT" "$(current_id "$B_ROOT")"
assert_manifest_ok "$ROOT" "$(basename "$OLD_REL")"
