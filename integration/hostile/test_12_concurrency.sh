#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 12: concurrent deploys of one app through sudo. Eight
# at once, with a build step that takes 3 s: exactly one wins; the other
# seven exit 1 within 2 s of starting, with one "cutover: " line naming
# the lock holder, and build nothing. Then three at once with --wait 60:
# all three succeed, one after the other. history.jsonl stays consistent:
# every line valid JSON, one line per successful switch, each line's
# "from" the previous line's "to"; no lock holder, staging entry or stray
# .current.new is left.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
printf 'if [ -e slow ]; then sleep 3; fi\n' >"$SRC/step.sh"
hostile_deploy_good
touch "$SRC/slow"
set_index "$SRC" concurrent
cases=0

# timed FILE CMD...: runs CMD, then writes the time it ended (ms) to FILE.
timed()
{
	local rc

	"${@:2}"
	rc=$?
	now_ms >"$1"
	return "$rc"
}

step "8 deploys at once"
pids=()
for i in $(seq 1 8); do
	bg pid timed "$S/end.$i" ci_cutover deploy "$APP" --from "$SRC"
	pids+=("$pid")
done
winners=0 losers=0 i=0
for pid in "${pids[@]}"; do
	i=$((i + 1))
	t0=${IT_BG_T0[$pid]}
	bg_wait "$pid"
	took=$(($(cat "$S/end.$i") - t0))
	if [[ $RC == 0 ]]; then
		winners=$((winners + 1))
	else
		losers=$((losers + 1))
		assert_refused 1 "locked by" "a deploy that lost the race"
		assert_lt "$took" 2000 "a loser exits promptly (took $took ms)"
	fi
	cases=$((cases + 1))
done
assert_eq "1 7" "$winners $losers" "winners and losers of 8 concurrent deploys"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "concurrent";' "the winner is live"
assert_eq 2 "$(find "$ROOT/releases" -mindepth 1 -maxdepth 1 | wc -l)" "the losers built nothing"

step "3 deploys at once, with --wait 60"
pids=()
for i in 1 2 3; do
	set_index "$SRC" "waited$i"
	bg pid ci_cutover deploy "$APP" --wait 60 --from "$SRC"
	pids+=("$pid")
	# Let this one read its source before the next changes it.
	sleep 0.5
done
for pid in "${pids[@]}"; do
	bg_wait "$pid"
	assert_eq 0 "$RC" "a deploy with --wait 60" || printf '%s\n' "$(it_last_output)"
	cases=$((cases + 1))
done

step "history.jsonl"
hist=$ROOT/.cutover/history.jsonl
n=0 prev=null
while IFS= read -r line; do
	n=$((n + 1))
	if ! jq -e . >/dev/null 2>&1 <<<"$line"; then
		fail "history line $n is not valid JSON" "$line"
		continue
	fi
	assert_eq "$prev" "$(jq -r '.from // "null"' <<<"$line")" "history line $n: from is the previous line's to"
	prev=$(jq -r .to <<<"$line")
done < <(grep '"to":"' "$hist")
assert_eq 5 "$n" "history lines: the known-good deploy, the winner, the three waiting deploys"
assert_eq "$(current_id)" "$prev" "the last history line is current"
run co --json status
assert_eq null "$(jq -r .lock <<<"$OUT")" "no lock holder afterwards"
assert_dir_empty "$ROOT/.cutover/staging" "staging afterwards"
assert_file_absent "$ROOT/.current.new"
assert_no_cutover_procs "after the concurrent deploys"
cases=$((cases + 1))
echo "cases: $cases"
