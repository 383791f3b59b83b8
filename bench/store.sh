#!/usr/bin/env bash
# bench/store.sh (the end of `make bench`): the object store against the
# shell recipe, on the generated 40 MB, 3,000-file tree of bench/run.sh.
# Prints ratios, never pass/fail (shared, noisy machines).
#
#   disk:    10 releases, one file changed in each, releases + store (each
#            inode counted once, as plain du does) against one release,
#            split into objects, release directories and manifests; the
#            same 10 releases as `cp -a` copies for the baseline
#   stage:   `cutover stage` of a tarball with one file changed since the
#            last release, against `tar -xf` of the same tarball
#            (interleaved runs, medians); the first stage into an empty
#            store against tar
#   verify:  `cutover verify` of one release: time and files a second
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cutover=$top/build/cutover
runs=${BENCH_RUNS:-5}
releases=${BENCH_RELEASES:-10}

if [ "$(id -u)" != 0 ]; then
	echo "bench store: must run as root (cutover needs root)" >&2
	exit 1
fi
scratch=$(mktemp -d /tmp/cutover-bench-store.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
kib() { du -sk "$@" | awk '{ s += $1 } END { print s + 0 }'; }

# The tree of bench/run.sh: 30 directories of 100 files, half random
# bytes, half base64 text, ~13.3 kB a file.
echo "bench store: generating a 40 MB, 3,000-file tree..."
tree=$scratch/tree
mkdir -p "$tree"
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
chmod -R a+rX "$tree"
files=$(find "$tree" -type f | wc -l)

# change_one N: a new version of one file of the tree (same size).
change_one()
{
	head -c 13982 /dev/urandom > "$tree/dir$(printf '%02d' $(($1 % 30)))/f000"
}

conf()
{
	cat > "$scratch/$1.conf" <<CONF
[app]
root = $scratch/$1
user = nobody
group = nogroup
web_group = www-data
keep = $((releases + runs + 2))
CONF
}
co() { local c=$1 v=$2; shift 2; "$cutover" -q -c "$scratch/$c.conf" "$v" bench "$@"; }

# ---- disk: 10 releases -------------------------------------------------
conf store
deploy_times=() cp_times=()
mkdir -p "$scratch/cp/releases"
for i in $(seq "$releases"); do
	change_one "$i"
	sync
	t0=$(now); co store deploy --from "$tree" > /dev/null; t1=$(now)
	deploy_times+=("$(calc "$t1 - $t0")")
	sync
	t0=$(now); cp -a "$tree" "$scratch/cp/releases/r$i"; t1=$(now)
	cp_times+=("$(calc "$t1 - $t0")")
done
root=$scratch/store
last=$(readlink "$root/current")
one=$(kib "$root/$last")
# One du: each inode is counted where it is first met, so the objects
# carry the bytes and releases/ only its directories and symlinks.
read -r objects dirs manifests < <(du -sk "$root/.cutover/objects" "$root/releases" \
	"$root/.cutover/manifest" "$root/.cutover/entries" "$root/.cutover/state" |
	awk '{ k[NR] = $1 } END { print k[1], k[2], k[3] + k[4] + k[5] }')
total=$(kib "$root")
cp_one=$(kib "$scratch/cp/releases/r$releases")
cp_total=$(kib "$scratch/cp/releases")
nobj=$(find "$root/.cutover/objects" -type f | wc -l)
rm -rf "$scratch/cp"

# ---- stage: one file changed, against tar -xf ---------------------------
tar_times=() stage_times=()
for i in $(seq "$runs"); do
	change_one $((releases + i))
	tar --zstd -C "$tree" -cf "$scratch/tree.tar.zst" .
	out=$scratch/x$i
	mkdir "$out"
	sync
	t0=$(now); tar -xf "$scratch/tree.tar.zst" -C "$out"; t1=$(now)
	tar_times+=("$(calc "$t1 - $t0")")
	rm -rf "$out"
	sync
	t0=$(now); co store stage --from "$scratch/tree.tar.zst" > /dev/null; t1=$(now)
	stage_times+=("$(calc "$t1 - $t0")")
done

# ---- verify -------------------------------------------------------------
verify_times=()
for i in $(seq 3); do
	t0=$(now); co store verify > /dev/null; t1=$(now)
	verify_times+=("$(calc "$t1 - $t0")")
done

# ---- first stage into an empty store, against tar -xf -------------------
first_tar=() first_stage=()
conf empty
for i in $(seq "$runs"); do
	out=$scratch/x$i
	mkdir "$out"
	sync
	t0=$(now); tar -xf "$scratch/tree.tar.zst" -C "$out"; t1=$(now)
	first_tar+=("$(calc "$t1 - $t0")")
	rm -rf "$out" "$scratch/empty"
	sync
	t0=$(now); co empty stage --from "$scratch/tree.tar.zst" > /dev/null; t1=$(now)
	first_stage+=("$(calc "$t1 - $t0")")
done
rm -rf "$scratch/empty"

med() { printf '%s\n' "$@" | median; }
deploy_med=$(med "${deploy_times[@]}") cp_med=$(med "${cp_times[@]}")
tar_med=$(med "${tar_times[@]}") stage_med=$(med "${stage_times[@]}")
ftar_med=$(med "${first_tar[@]}") fstage_med=$(med "${first_stage[@]}")
verify_med=$(med "${verify_times[@]}")

echo "bench store: $files files, one release ${one} KiB; $releases releases, one file changed in each"
printf '%-34s %12s %12s %8s\n' "" "store" "cp -a" "ratio"
printf '%-34s %9d KiB %9d KiB %7.2fx\n' "disk, $releases releases (inodes once)" "$total" "$cp_total" "$(calc "$total / $cp_total")"
printf '%-34s %11.2fx %11.2fx\n' "  against one release" "$(calc "$total / $one")" "$(calc "$cp_total / $cp_one")"
printf '%-34s %9d KiB  (%d objects)\n' "  objects" "$objects" "$nobj"
printf '%-34s %9d KiB\n' "  release directories, symlinks" "$dirs"
printf '%-34s %9d KiB\n' "  manifests, entries, state" "$manifests"
printf '%-34s %10.3f s %10.3f s %7.2fx\n' "deploy from a dir vs cp -a (median)" "$deploy_med" "$cp_med" "$(calc "$deploy_med / $cp_med")"
printf '%-34s %12s %12s\n' "" "stage" "tar -xf" 
printf '%-34s %10.3f s %10.3f s %7.2fx\n' "one file changed ($runs runs, median)" "$stage_med" "$tar_med" "$(calc "$stage_med / $tar_med")"
printf '%-34s %10.3f s %10.3f s %7.2fx\n' "into an empty store ($runs runs)" "$fstage_med" "$ftar_med" "$(calc "$fstage_med / $ftar_med")"
printf '%-34s %10.3f s  %.0f files/s\n' "verify of one release (3 runs)" "$verify_med" "$(calc "$files / $verify_med")"
