#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 29 (review 3, H1 and M2): a build step nests
# directories deeply. The freeze walked them recursively with about 13 KB
# of stack a level and a bound of 1,024: 640 levels crashed the helper
# (stack overflow), and the removal of the staging tree stopped at 1,024
# levels, so after a build nesting 1,100 directories every later deploy
# and prune failed ("cannot clean up leftovers of an earlier run") until
# root removed the tree by hand. Through sudo:
#   - 600 and 1,100 levels: the deploy fails with exit 1 and one message
#     (the freeze's bound, 512), the helper does not crash, the lock is
#     free, the app is unchanged, nothing is left in staging or trash;
#   - the next ordinary deploy succeeds, and so does a prune;
#   - a leftover 1,500 levels deep in the trash (as a crash mid-removal
#     leaves it) is removed by the next prune.
# On the code before the fix, 600 levels deployed (exit 0) and 1,100
# crashed the helper and blocked every later deploy.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh nest.sh' 'timeout = 600'
# nest.sh: as many nested directories as the file "depth" says (none
# when it is absent: the known-good and the ordinary deploys).
cat >"$SRC/nest.sh" <<'NEST'
[ -e depth ] || exit 0
read -r n <depth
i=0
while [ $i -lt "$n" ]; do
	mkdir d && cd d || exit 1
	i=$((i + 1))
done
NEST
hostile_deploy_good
BEFORE=$(app_state)

deploy_depth()
{
	printf '%s\n' "$1" >"$SRC/depth"
	chmod a+r "$SRC/depth"
	run ci_cutover deploy "$APP" --from "$SRC"
}

for n in 600 1100; do
	step "a build step nesting $n directories"
	deploy_depth "$n"
	assert_refused 1 "is nested too deeply" "depth $n"
	assert_not_contains "$OUT$ERR" "segfault" "depth $n: no crash"
	assert_not_contains "$ERR" "stopped unexpectedly" "depth $n: the helper did not crash"
	assert_no_cutover_procs "depth $n" 10
	assert_app_unchanged "$BEFORE" "depth $n"
	assert_eq "" "$(dir_list "$ROOT/.cutover/staging")$(dir_list "$ROOT/.cutover/trash")" \
		"depth $n: nothing left in staging or trash"
	run "$CUTOVER_BIN" --json status "$APP"
	assert_eq null "$(jq -r .lock <<<"$OUT")" "depth $n: no lock holder afterwards"
done

step "the next ordinary deploy and a prune"
rm -f "$SRC/depth"
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "ordinary deploy after the deep builds" || it_last_output
[[ $(current_id) != "$GOOD_ID" ]] || fail "ordinary deploy: current is a new release"
run ci_cutover prune "$APP" --keep 1
assert_eq 0 "$RC" "prune after the deep builds" || it_last_output

step "a leftover 1,500 levels deep in the trash"
deep=$ROOT/.cutover/trash/leftover
mkdir -p "$deep"
(cd "$deep" && for _ in $(seq 1500); do mkdir d && cd d || exit 1; done) || fatal "cannot nest the leftover"
run ci_cutover prune "$APP" --keep 1
assert_eq 0 "$RC" "prune with a deep leftover" || it_last_output
assert_eq "" "$(dir_list "$ROOT/.cutover/trash")" "the deep leftover is removed"
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "deploy after the deep leftover" || it_last_output
assert_no_cutover_procs "end" 10
