#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 10: ROOT/current is not what cutover made it. Replaced
# by a real directory (holding a site of its own), by a symlink to "/", by
# a symlink climbing out of releases/ ("releases/../../.."), by a regular
# file. switch, rollback and deploy through sudo refuse to replace it
# (exit 1, one "cutover: " line): current stays exactly as it was (same
# type, target, inode and content), no release is published, nothing is
# left in the staging or state directories beyond the release a deploy
# built (kept frozen for a later switch, or removed), and status reports
# the problem. Once current is put back, switch works again.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
set_index "$SRC" v2
assert_ok ci_cutover deploy "$APP" --from "$SRC" || fatal "second deploy failed"
V2=$(current_id)
cases=0

# current_fingerprint: what current is, down to its inode and content.
current_fingerprint()
{
	stat -c '%F %i %a %U' "$ROOT/current"
	readlink "$ROOT/current"
	[[ -d $ROOT/current && ! -L $ROOT/current ]] && find "$ROOT/current" -printf '%P %y %s\n' | LC_ALL=C sort
	[[ -f $ROOT/current && ! -L $ROOT/current ]] && cat "$ROOT/current"
	return 0
}

# replaced WHAT SETUP: puts current aside (as root), runs SETUP to plant
# the replacement, then tries switch, rollback and deploy.
replaced()
{
	local what=$1 setup=$2 fp releases staged

	rm -f "$ROOT/current"
	eval "$setup"
	fp=$(current_fingerprint)
	for verb in switch rollback deploy; do
		step "current is $what: $verb"
		releases=$(dir_list "$ROOT/releases")
		case $verb in
		switch) run ci_cutover switch "$APP" "$GOOD_ID" ;;
		rollback) run ci_cutover rollback "$APP" "$GOOD_ID" ;;
		deploy) run ci_cutover deploy "$APP" --from "$SRC" ;;
		esac
		assert_refused 1 "current" "$verb with current $what"
		assert_eq "$fp" "$(current_fingerprint)" "$verb with current $what: current is as it was"
		assert_dir_empty "$ROOT/.cutover/staging" "$verb with current $what: staging"
		assert_file_absent "$ROOT/.current.new" "$verb with current $what: a stray .current.new"
		if [[ $verb == deploy ]]; then
			staged=$(comm -13 <(tr ' ' '\n' <<<"$releases") <(dir_list "$ROOT/releases" | tr ' ' '\n'))
			if [[ -n $staged ]]; then
				# The deploy built and froze a release, then could not
				# publish it: it must be complete and frozen, or gone.
				assert_manifest_ok "$ROOT" "$staged"
				assert_eq "" "$(find "$ROOT/releases/$staged" -perm /0222 | head -n 3)" "the unpublished release is frozen"
				echo "   note: the unpublished release $staged was kept (frozen)"
				ci_cutover prune "$APP" --keep 2 >/dev/null 2>&1
			fi
		else
			assert_eq "$releases" "$(dir_list "$ROOT/releases")" "$verb with current $what: releases/"
		fi
		assert_eq "$(dir_list "$ROOT/.cutover/state")" \
			"$(dir_list "$ROOT/releases")" "$verb with current $what: state files match releases/"
		cases=$((cases + 1))
	done
	step "current is $what: status says so"
	run ci_cutover status "$APP"
	assert_eq 1 "$RC" "status with current $what"
	assert_contains "$OUT" "not a cutover symlink" "status with current $what"
	rm -rf "$ROOT/current"
	ln -s "releases/$V2" "$ROOT/current"
}

replaced "a real directory" 'mkdir -m 0755 "$ROOT/current" "$ROOT/current/public" && echo "<?php echo \"hijack\";" >"$ROOT/current/public/index.php"'
replaced "a symlink to /" 'ln -s / "$ROOT/current"'
replaced "a symlink climbing out of releases/" 'ln -s "releases/../../.." "$ROOT/current"'
replaced "a regular file" 'echo hijack >"$ROOT/current"'
replaced "an absolute symlink to a release" 'ln -s "$ROOT/releases/$V2" "$ROOT/current"'

step "current put back: switch works again"
assert_ok ci_cutover switch "$APP" "$GOOD_ID"
assert_file_content "$ROOT/current/public/index.php" "$SERVING" "after switching back to the known-good release"
assert_serving_php "after the refusals"
echo "cases: $cases"
