#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 9: the deploy user planting symlinks between check and
# use. While 10 deploys run through sudo, integration/tools/swapper.c runs
# as nobody (the deploy user) and keeps trying to put a symlink to a canary
# directory at releases/ID (for the ids cutover would pick right now),
# releases, shared, current and .cutover/staging/ID: by symlink(2),
# rename(2) and renameat2(RENAME_EXCHANGE). releases/ and shared/ are
# root-owned 0751 and ROOT 0755, so every attempt must fail (EACCES or
# EPERM; EEXIST and ENOENT where the kernel checks the name before the
# permission: symlink(2) onto an existing name, RENAME_EXCHANGE with a
# missing one) and the deploys must not notice. Inside each build step the same swapper runs
# against the same paths (read-only there). Then a step replaces its
# release's shared links and adds symlinks of its own to canary files and
# a canary directory (nobody's and root's, 0600/0700) outside the release:
# the freeze refuses the release, and neither the freeze nor the removal
# of the release follows them (the canaries keep their owner, mode and
# content, and nothing appears in the canary directory). A build step
# that makes a hard link inside its release has its deploy refused (a
# file with two links could be shared with something outside).
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
tool_build swapper
SWAPPER=$TOOL
install -m 0755 "$SWAPPER" "$SRC/bin/swapper"

canary=$S/canary
mkdir -m 0755 "$canary"
mkdir -m 0700 "$canary/dir"
printf 'nobody canary\n' >"$canary/nobody-file"
printf 'root canary\n' >"$canary/root-file"
printf 'dir canary\n' >"$canary/dir/file"
chmod 0600 "$canary/nobody-file" "$canary/root-file" "$canary/dir/file"
chown nobody:nogroup "$canary/nobody-file" "$canary/dir" "$canary/dir/file"
chown -h nobody:nogroup "$canary"
canary_state()
{
	find "$canary" -printf '%P %y %m %u:%g %s %l\n' | LC_ALL=C sort
	cat "$canary/nobody-file" "$canary/root-file" "$canary/dir/file"
}
canary_before=$(canary_state)

cat >"$SRC/step.sh" <<STEP
./bin/swapper 0.3 $canary/dir "\$PWD" $ROOT/releases/@ID $ROOT/releases $ROOT/shared \\
	$ROOT/current $ROOT/shared/storage $ROOT/.cutover/staging/@ID >swapper-step.txt 2>&1
if [ -e plant ]; then
	rm -rf storage .env
	ln -s $canary/dir storage
	ln -s $canary/nobody-file .env
	ln -s $canary/root-file public/root-file
	ln -s $canary/dir public/dir
	ln -s ../../../../../../../../../../..$canary/dir public/climb
fi
if [ -e hardlink ]; then ln public/index.php public/index2.php; fi
exit 0
STEP
hostile_deploy_good
canary_before=$(canary_state)
cases=0

step "the deploy user races 10 deploys"
work=$S/swapwork
mkdir -m 0755 "$work"
chown nobody:nogroup "$work"
pid=
bg pid setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$SWAPPER" 60 "$canary/dir" "$work" \
	"$ROOT/releases/@ID" "$ROOT/releases" "$ROOT/shared" "$ROOT/current" "$ROOT/.cutover/staging/@ID"
ok=0
for i in $(seq 2 11); do
	set_index "$SRC" "v$i"
	run ci_cutover deploy "$APP" --from "$SRC"
	if [[ $RC == 0 ]]; then
		ok=$((ok + 1))
		assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$i\";" "deploy $i under attack: live"
		assert_manifest_ok "$ROOT" "$(current_id)"
		summary=$(tail -n 1 "$ROOT/current/swapper-step.txt")
		assert_match "$summary" '^attempts=[1-9][0-9]* ok=0( |$)' "deploy $i: the build step's swapper planted nothing"
		assert_eq "" "$(grep '^planted' "$ROOT/current/swapper-step.txt")" "deploy $i: plants from the build step"
	else
		assert_refused 1 "" "deploy $i under attack (a failure must be clean)"
	fi
	assert_eq "$canary_before" "$(canary_state)" "deploy $i: the canaries"
	cases=$((cases + 1))
done
kill -TERM "$pid" 2>/dev/null
bg_wait "$pid"
summary=$(printf '%s\n' "$OUT" | tail -n 1)
echo "   the swapper (outside): $summary"
echo "   a build step's swapper (inside): $(tail -n 1 "$ROOT/current/swapper-step.txt")"
assert_eq 10 "$ok" "all 10 deploys under attack succeeded"
assert_match "$summary" '^attempts=[1-9][0-9]* ok=0( |$)' "the deploy user planted nothing outside the sandbox"
assert_eq "" "$(printf '%s\n' "$OUT" | grep '^planted')" "symlinks planted outside the sandbox"
errnos=$(printf '%s\n' "$summary" | tr ' ' '\n' | grep -v '^attempts=\|^ok=' | cut -d= -f1 | paste -sd' ' -)
assert_match " $errnos " '^( (EACCES|EPERM|EEXIST|ENOENT))+ $' \
	"the planting failed with EACCES/EPERM (or EEXIST/ENOENT, the name checked before the permission) only: $errnos"
assert_eq "" "$(find "$canary/dir" -mindepth 1 ! -name file)" "nothing appeared in the canary directory"
assert_eq "" "$(find "$work" -mindepth 1)" "the swapper's own leftovers"

step "a build step plants symlinks out of its release, to the canaries"
before=$(app_state)
SERVING='<?php echo "v11";'
touch "$SRC/plant"
set_index "$SRC" planted
run ci_cutover deploy "$APP" --from "$SRC"
assert_refused 1 "outside the release" "symlinks out of the release made by a build step"
assert_app_unchanged "$before" "symlinks out of the release made by a build step"
assert_eq "$canary_before" "$(canary_state)" "the canaries after freezing (and removing) a release that pointed at them"
rm -f "$SRC/plant"
cases=$((cases + 1))

step "prune"
run ci_cutover prune "$APP" --keep 1
assert_eq 0 "$RC" "prune --keep 1" || printf '%s\n' "$(it_last_output)"
assert_eq "$canary_before" "$(canary_state)" "the canaries after prune --keep 1"

step "a build step that makes a hard link inside its release"
before=$(app_state)
touch "$SRC/hardlink"
set_index "$SRC" hardlinked
run ci_cutover deploy "$APP" --from "$SRC"
assert_refused 1 "" "a hard link made by a build step"
assert_app_unchanged "$before" "a hard link made by a build step"
rm -f "$SRC/hardlink"
cases=$((cases + 1))
echo "cases: $cases"
