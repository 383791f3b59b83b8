#!/bin/bash
# SPDX-License-Identifier: MIT
#
# SIGKILL of the helper at every step boundary of a freeze and of a prune
# leaves a store that the next command puts right. strace injects the kill
# at the helper's Nth linkat (every object and every tree entry of a
# release of ~12 files), its Nth renameat (manifest, entries, the release
# into releases/, current, the trash) during a deploy, and at its Nth
# unlinkat during a prune (tree, objects, fan-out directories). N runs
# over every call a clean run of the same shape makes (counted first, the
# unlinkats of a prune sampled). After each kill: current serves a
# release whose content it names (the old one while the kill is before
# the switch), the next deploy and a prune succeed, every kept release
# verifies, no object is left with link count 1, objects and release
# inodes are the same set, and staging/ and trash/ are empty.
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || fatal "strace is not installed (.ci/deps.sh)"

APP_KEEP=2 app_init
for i in $(seq 1 5); do
	printf 'asset %s\n' "$i" >"$SRC/public/asset$i.txt"
done
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
TRACE=$S/strace.out
VER=1

# content_of ID: the text index.php of release ID prints.
declare -A CONTENT
CONTENT[$(current_id)]='<?php echo "v1";'

# next_version: a source with a new index.php and one new file, so a
# freeze makes new objects and links old ones.
next_version()
{
	VER=$((VER + 1))
	set_index "$SRC" "v$VER"
	printf 'new in %s\n' "$VER" >"$SRC/public/new$VER.txt"
}

# helper_calls SYSCALL VERB ARGS...: how many SYSCALLs the busiest traced
# process (the helper) makes in a clean run of VERB.
helper_calls()
{
	local sc=$1

	shift
	strace -f -qq -o "$TRACE" -e trace="$sc" "$CUTOVER_BIN" -c "$CONF" "$1" "$APP" "${@:2}" \
		</dev/null >/dev/null 2>&1 || fatal "clean traced $1 failed"
	grep -E "^[0-9]+ +$sc\(" "$TRACE" | awk '{ print $1 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }'
}

# killed_at SYSCALL N VERB ARGS...: runs VERB with SIGKILL injected at the
# Nth SYSCALL of each process; RC as run sets it. Fails the test if no
# process was killed (N past the calls: nothing was tested).
killed_at()
{
	local sc=$1 n=$2

	shift 2
	run strace -f -qq -o "$TRACE" -e trace="$sc" -e inject="$sc":signal=SIGKILL:when="$n" \
		"$CUTOVER_BIN" -c "$CONF" "$1" "$APP" "${@:2}"
	grep -q 'killed by SIGKILL' "$TRACE" && return 0
	fail "$sc#$n: no process was killed" "$(it_last_output)"
}

# check_live WHAT: current names a release and serves its content.
check_live()
{
	local id

	id=$(current_id)
	[[ -n $id && -n ${CONTENT[$id]:-} ]] || { fail "$1: current is '$id', not a deployed release"; return; }
	assert_file_content "$ROOT/current/public/index.php" "${CONTENT[$id]}" "$1: what current serves"
}

# check_store WHAT: every kept release verifies; after a prune no object
# without a release, objects and release files are the same inodes, no
# leftovers in staging/ or trash/, one entries file per release.
check_store()
{
	local id objs inodes

	assert_ok co prune --keep 1 || return
	for id in $(dir_list "$ROOT/releases"); do
		assert_ok co verify "$id"
	done
	assert_eq "" "$(find "$ROOT/.cutover/objects" -type f -links 1)" "$1: objects with link count 1 after prune"
	objs=$(find "$ROOT/.cutover/objects" -type f -printf '%i\n' | sort -u)
	inodes=$(find "$ROOT/releases" -type f -printf '%i\n' | sort -u)
	assert_eq "$objs" "$inodes" "$1: the objects are exactly the files of the kept releases"
	assert_dir_empty "$ROOT/.cutover/staging" "$1: staging/"
	assert_dir_empty "$ROOT/.cutover/trash" "$1: trash/"
	assert_eq "$(dir_list "$ROOT/releases")" \
		"$(find "$ROOT/.cutover/entries" -mindepth 1 -maxdepth 1 -printf '%f\n' | sed 's/\.manifest$//' | LC_ALL=C sort | paste -sd' ' -)" \
		"$1: one entries file per kept release"
}

# deploy_ok WHAT: the next deploy succeeds and is live.
deploy_ok()
{
	next_version
	assert_ok co deploy --from "$SRC" || { fail "$1: the next deploy failed"; return; }
	CONTENT[$(current_id)]="<?php echo \"v$VER\";"
	check_live "$1: after the next deploy"
}

# crash_deploy SYSCALL N: a deploy killed at the helper's Nth SYSCALL.
crash_deploy()
{
	local sc=$1 n=$2 what="deploy killed at $1#$2" old

	old=$(current_id)
	next_version
	killed_at "$sc" "$n" deploy --from "$SRC" || return
	# The kill can come after the switch (the auto-prune's move of the
	# oldest release to trash/): then the new release is live and must
	# be whole, and the deploy may have reported success already.
	if [[ $(current_id) != "$old" ]]; then
		[[ $sc == linkat ]] && fail "$what: current moved during the freeze"
		CONTENT[$(current_id)]="<?php echo \"v$VER\";"
	else
		assert_ne 0 "$RC" "$what: exit code"
	fi
	check_live "$what"
	assert_ok co verify || fail "$what: current does not verify"
	deploy_ok "$what"
	check_store "$what"
}

# crash_prune N: a prune --keep 1 of two releases killed at the helper's
# Nth unlinkat.
crash_prune()
{
	local n=$1 what="prune killed at unlinkat#$1" old

	old=$(current_id)
	killed_at unlinkat "$n" prune --keep 1 || return
	assert_ne 0 "$RC" "$what: exit code"
	assert_eq "$old" "$(current_id)" "$what: current"
	check_live "$what"
	check_store "$what"
	deploy_ok "$what"
}

step "calls of a clean deploy"
next_version
links=$(helper_calls linkat deploy --from "$SRC")
CONTENT[$(current_id)]="<?php echo \"v$VER\";"
next_version
renames=$(helper_calls renameat deploy --from "$SRC")
CONTENT[$(current_id)]="<?php echo \"v$VER\";"
printf '    helper: %s linkat, %s renameat a deploy\n' "$links" "$renames" >&2
assert_lt 11 "$links" "a deploy of a dozen files links each of them" || fatal "too few linkat to test"
assert_lt 3 "$renames" "renames of a deploy" || fatal "too few renameat to test"

step "SIGKILL at every linkat of a freeze"
for n in $(seq 1 "$links"); do
	crash_deploy linkat "$n"
done

step "SIGKILL at every renameat of a deploy"
for n in $(seq 1 "$renames"); do
	crash_deploy renameat "$n"
done

step "SIGKILL at unlinkat of a prune"
next_version
assert_ok co deploy --from "$SRC" || fatal "deploy before the prune count failed"
CONTENT[$(current_id)]="<?php echo \"v$VER\";"
unlinks=$(helper_calls unlinkat prune --keep 1)
printf '    helper: %s unlinkat a prune\n' "$unlinks" >&2
assert_lt 11 "$unlinks" "a prune of a release of a dozen files" || fatal "too few unlinkat to test"
deploy_ok "before the prune kills"
# About 8 points spread over the prune (tree entries, objects, fan-out
# directories), the first and the last included.
step_n=$(((unlinks + 6) / 7))
for n in $(seq 1 "$step_n" "$unlinks") "$unlinks"; do
	crash_prune "$n"
done
