#!/usr/bin/env bash
# bench/git.sh (called by bench/run.sh): `cutover stage --from
# git+file://ORIGIN#main` with its repository cache warm, against the shell
# recipe it replaces, measured in the same run on the same repository:
# `git fetch` into a mirror, then `git archive | tar -x` into a new
# directory. The mirror is packed, as one cloned over the network is (a
# clone of a local path would hard-link the origin's loose objects, whose
# archive is slower); the loose one is measured too, for the numbers
# before. Each run first commits a small change (one file of 40) to the
# origin, so both fetch a delta. Prints the ratio of the medians (target
# <= 1.2x); numbers for reading, not for gating CI.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cutover=$top/build/cutover
runs=${BENCH_RUNS:-5}

if [ "$(id -u)" != 0 ]; then
	echo "bench: must run as root (cutover needs root)" >&2
	exit 1
fi
# Not below /tmp: the build sandbox has a private /tmp, where git would
# not find the origin.
base=/srv; [ -d "$base" ] || base=/var/lib
scratch=$(mktemp -d "$base/cutover-bench-git.XXXXXX")
chmod 755 "$scratch"
# [build] git_user: a user of its own, made for this run.
gu=cutbench$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
useradd --system --no-create-home --shell /usr/sbin/nologin "$gu"
trap 'rm -rf "$scratch"; userdel "$gu"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
gitq() { git -c user.name=bench -c user.email=bench@example.invalid "$@" >/dev/null 2>&1; }

echo "bench: generating a 3,000-file, 40 MB repository..."
work=$scratch/work
mkdir -p "$work"
for d in $(seq -w 0 29); do
	mkdir -p "$work/dir$d"
	head -c 1048576 /dev/urandom | base64 -w 76 > "$scratch/chunk"
	truncate -s 1398101 "$scratch/chunk"
	split -b 13982 -a 3 -d "$scratch/chunk" "$work/dir$d/f"
done
rm -f "$scratch/chunk"
gitq -C "$work" init -q -b main && gitq -C "$work" add -A && gitq -C "$work" commit -q -m 0
origin=$scratch/origin.git
git clone -q --bare "$work" "$origin"
# The uncached fetch runs as the deploy user (nobody), and git serves only
# repositories of their own user: the origin is nobody's, and this
# script's own git may use it.
chown -R nobody:nogroup "$origin"
printf '[safe]\n\tdirectory = *\n' > "$scratch/gitconfig"
export GIT_CONFIG_GLOBAL=$scratch/gitconfig
git clone -q --mirror "file://$origin" "$scratch/mirror.git"
git clone -q --mirror "$origin" "$scratch/mirror-loose.git"

cat > "$scratch/bench.conf" <<CONF
[app]
root = $scratch/root
user = nobody
group = nogroup
web_group = www-data
keep = 2
[build]
git_user = $gu
CONF
# The same app without git_user: the uncached fetch, for comparison.
sed -e "s|root = $scratch/root|root = $scratch/root-nocache|" -e '/^\[build\]/,$d' "$scratch/bench.conf" > "$scratch/nocache.conf"
# Warm the cache (the first fetch is the whole tree, as a first clone is).
"$cutover" -q -c "$scratch/bench.conf" stage bench --from "git+file://$origin#main" > /dev/null

shell_times=() cutover_times=() nocache_times=() loose_times=() durable_times=()
# Each measurement starts with nothing of the one before left to write
# back (the freeze's syncfs would otherwise pay for it).
for i in $(seq 1 "$runs"); do
	head -c 8192 /dev/urandom | base64 > "$work/dir$(printf %02d $((i % 30)))/f00$((i % 10))"
	gitq -C "$work" commit -q -am "$i" && gitq -C "$work" push -q "$origin" main
	out=$scratch/out.$i
	sync
	t0=$(now)
	git -C "$scratch/mirror.git" fetch -q --prune origin
	mkdir "$out" && git -C "$scratch/mirror.git" archive main | tar -x -C "$out"
	t1=$(now)
	shell_times+=("$(calc "$t1 - $t0")")
	rm -rf "$out"
	sync
	t0=$(now)
	"$cutover" -q -c "$scratch/bench.conf" stage bench --from "git+file://$origin#main" > /dev/null
	t1=$(now)
	cutover_times+=("$(calc "$t1 - $t0")")
	sync
	t0=$(now)
	git -C "$scratch/mirror-loose.git" fetch -q --prune origin
	mkdir "$out" && git -C "$scratch/mirror-loose.git" archive main | tar -x -C "$out"
	t1=$(now)
	loose_times+=("$(calc "$t1 - $t0")")
	rm -rf "$out"
	# The recipe made durable as a freeze is (syncfs), for comparison:
	# without it the tree is only in the page cache.
	sync
	t0=$(now)
	git -C "$scratch/mirror.git" fetch -q --prune origin
	mkdir "$out" && git -C "$scratch/mirror.git" archive main | tar -x -C "$out" && sync -f "$out"
	t1=$(now)
	durable_times+=("$(calc "$t1 - $t0")")
	rm -rf "$out"
	sync
	t0=$(now)
	"$cutover" -q -c "$scratch/nocache.conf" stage bench --from "git+file://$origin#main" > /dev/null
	t1=$(now)
	nocache_times+=("$(calc "$t1 - $t0")")
done
# The spread, for judging the noise (other work on the machine): the
# fastest and slowest run of each, and the per-run ratio's range.
range() { sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.3f-%.3f", lo, hi}'; }
ratios=()
for i in "${!shell_times[@]}"; do
	ratios+=("$(calc "${cutover_times[$i]} / ${shell_times[$i]}")")
done
[ -n "${BENCH_VERBOSE:-}" ] && paste <(printf "%s\n" "${shell_times[@]}") <(printf "%s\n" "${cutover_times[@]}") <(printf "%s\n" "${loose_times[@]}") <(printf "%s\n" "${ratios[@]}") | sed "s/^/git     run: shell, cutover, loose, ratio /"
printf 'git     runs: shell %s s, cutover %s s, uncached %s s; per-run ratio cutover/shell %s (median %.2f)\n' \
	"$(printf '%s\n' "${shell_times[@]}" | range)" "$(printf '%s\n' "${cutover_times[@]}" | range)" \
	"$(printf '%s\n' "${nocache_times[@]}" | range)" "$(printf '%s\n' "${ratios[@]}" | range)" \
	"$(printf '%s\n' "${ratios[@]}" | median)"
shell_med=$(printf '%s\n' "${shell_times[@]}" | median)
cutover_med=$(printf '%s\n' "${cutover_times[@]}" | median)
nocache_med=$(printf '%s\n' "${nocache_times[@]}" | median)
printf 'git     mirror fetch + git archive | tar -x median %.3f s, cutover stage from git median %.3f s (%d runs): ratio %.2fx (target <= 1.2x)\n' \
	"$shell_med" "$cutover_med" "$runs" "$(calc "$cutover_med / $shell_med")"
loose_med=$(printf '%s\n' "${loose_times[@]}" | median)
printf 'git     the same with a loose mirror (hard-linked objects) median %.3f s: cutover %.2fx of it\n' \
	"$loose_med" "$(calc "$cutover_med / $loose_med")"
durable_med=$(printf '%s\n' "${durable_times[@]}" | median)
printf 'git     the recipe + syncfs (durable, as the freeze) median %.3f s: cutover %.2fx of it\n' \
	"$durable_med" "$(calc "$cutover_med / $durable_med")"
printf 'git     without git_user (no cache: the whole tree, shallow) median %.3f s: ratio %.2fx\n' \
	"$nocache_med" "$(calc "$nocache_med / $shell_med")"
