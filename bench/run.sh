#!/usr/bin/env bash
# make bench: cutover's staging and publishing against baselines measured in
# the same run, on the same machine. Prints ratios, never pass/fail: these
# machines are shared and noisy, so the numbers are for reading, not for
# gating CI.
#
#   stage:  `cutover stage` of a generated 40 MB, 3,000-file .tar.zst with no
#           build steps, against `tar -xf` of the same tarball (target <= 1.5x)
#   switch: median time of the publish step (temporary symlink, rename(2),
#           fsync of the directory) over 1,000 switches (target < 1 ms)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cutover=$top/build/cutover
runs=${BENCH_RUNS:-5}
switches=${BENCH_SWITCHES:-1000}

if [ "$(id -u)" != 0 ]; then
	echo "bench: must run as root (cutover needs root)" >&2
	exit 1
fi
scratch=$(mktemp -d /tmp/cutover-bench.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

echo "bench: generating a 40 MB, 3,000-file tree..."
tree=$scratch/tree
mkdir -p "$tree"
# 30 directories of 100 files; half random bytes, half base64 text (code
# compresses, media does not), ~13.3 kB a file.
for d in $(seq -w 0 29); do
	mkdir -p "$tree/dir$d"
	if [ $((10#$d % 2)) = 0 ]; then
		head -c 1398101 /dev/urandom > "$scratch/chunk"
	else
		head -c 1048576 /dev/urandom | base64 -w 76 > "$scratch/chunk"
		truncate -s 1398101 "$scratch/chunk"
	fi
	split -b 13982 -a 3 -d "$scratch/chunk" "$tree/dir$d/f"
done
rm -f "$scratch/chunk"
files=$(find "$tree" -type f | wc -l)
bytes=$(du -sb "$tree" | cut -f1)
tar --zstd -C "$tree" -cf "$scratch/tree.tar.zst" .
echo "bench: $files files, $bytes bytes, tarball $(stat -c %s "$scratch/tree.tar.zst") bytes"

cat > "$scratch/bench.conf" <<CONF
[app]
root = $scratch/root
user = nobody
group = nogroup
web_group = www-data
keep = 2
CONF

tar_times=() stage_times=()
for i in $(seq "$runs"); do
	out=$scratch/x$i
	mkdir "$out"
	sync
	t0=$(now); tar -xf "$scratch/tree.tar.zst" -C "$out"; t1=$(now)
	tar_times+=("$(calc "$t1 - $t0")")
	rm -rf "$out"
	sync
	t0=$(now); "$cutover" -q -c "$scratch/bench.conf" stage bench --from "$scratch/tree.tar.zst" > /dev/null; t1=$(now)
	stage_times+=("$(calc "$t1 - $t0")")
	"$cutover" -q -c "$scratch/bench.conf" prune bench --keep 1 > /dev/null
done
tar_med=$(printf '%s\n' "${tar_times[@]}" | median)
stage_med=$(printf '%s\n' "${stage_times[@]}" | median)
printf 'stage   tar -xf median %.3f s, cutover stage median %.3f s (%d runs): ratio %.2fx (target <= 1.5x)\n' \
	"$tar_med" "$stage_med" "$runs" "$(calc "$stage_med / $tar_med")"

# Two small frozen releases to switch between.
mkdir -p "$scratch/small/public"
echo '<?php echo 1;' > "$scratch/small/public/index.php"
a=$("$cutover" -q -c "$scratch/bench.conf" stage bench --from "$scratch/small")
b=$("$cutover" -q -c "$scratch/bench.conf" stage bench --from "$scratch/small")
publish=() durable=() total=()
for i in $(seq "$switches"); do
	if [ $((i % 2)) = 0 ]; then id=$a; else id=$b; fi
	t0=$(now)
	json=$("$cutover" -q --json -c "$scratch/bench.conf" switch bench "$id")
	t1=$(now)
	publish+=("$(echo "$json" | sed -n 's/.*"publish_ms":\([0-9.]*\).*/\1/p')")
	durable+=("$(echo "$json" | sed -n 's/.*"durable_ms":\([0-9.]*\).*/\1/p')")
	total+=("$(calc "($t1 - $t0) * 1000")")
done
pub_med=$(printf '%s\n' "${publish[@]}" | median)
pub_p99=$(printf '%s\n' "${publish[@]}" | sort -g | awk -v n="$switches" 'NR == int(n * 0.99) {print}')
dur_med=$(printf '%s\n' "${durable[@]}" | median)
tot_med=$(printf '%s\n' "${total[@]}" | median)
printf 'switch  publish (symlink + rename, visible) median %.3f ms, p99 %.3f ms over %d switches (target < 1 ms)\n' \
	"$pub_med" "$pub_p99" "$switches"
printf 'switch  durable (+ fsync of the directory) median %.3f ms; whole cutover command median %.1f ms\n' \
	"$dur_med" "$tot_med"

# The object store: disk of 10 releases, stage with one file changed, verify.
bash "$top/bench/store.sh"

# git+ sources through the repository cache (bench/git.sh)
BENCH_RUNS=$runs bash "$top/bench/git.sh"
