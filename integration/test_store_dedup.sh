#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The object store deduplicates: 10 deploys of an app of 300 files, one
# file changed each time. The store holds one object per distinct file
# (the app once, plus the 9 changed versions); releases and store together
# (du, hard links counted once) take at most 1.4 times one release; list
# shows each release's own and shared bytes; prune removes the objects no
# kept release links, and the kept releases still verify.
. "$(dirname "$0")/lib.sh"

APP_KEEP=10 app_init
# 300 files of 32 KiB, each distinct, besides the app's own.
for d in $(seq 1 10); do
	mkdir -p "$SRC/vendor/pkg$d"
	for f in $(seq 1 30); do
		head -c 32768 /dev/urandom >"$SRC/vendor/pkg$d/file$f.php"
	done
done
NFILES=$(find "$SRC" -type f | wc -l)

ids=()
for i in $(seq 1 10); do
	set_index "$SRC" "v$i"
	assert_ok co deploy --from "$SRC" || fatal "deploy v$i failed"
	ids+=("$(current_id)")
done
assert_eq 10 "$(dir_list "$ROOT/releases" | wc -w)" "10 releases kept"

step "one object per distinct file"
objects=$(find "$ROOT/.cutover/objects" -type f | wc -l)
assert_eq $((NFILES + 9)) "$objects" "objects: the app's $NFILES files once, and 9 more versions of index.php"
assert_eq "" "$(find "$ROOT/.cutover/objects" -type f -links 1)" "no object without a release"
assert_eq "" "$(find "$ROOT/releases" -type f -links 1)" "every file of a release is an object link"

step "status: the store's totals"
run co --json status
assert_eq "$objects" "$(jq -r .store.objects <<<"$OUT")" "status counts every object"
assert_eq "$(find "$ROOT/.cutover/objects" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')" \
	"$(jq -r .store.bytes <<<"$OUT")" "status sums the objects' bytes, each once"
run co status
assert_match "$OUT" "store: +$objects objects, " "status names the store's totals"

step "disk use"
one=$(du -sk "$ROOT/releases/${ids[9]}" | cut -f1)
all=$(du -sk -c "$ROOT/releases" "$ROOT/.cutover/objects" | tail -n 1 | cut -f1)
echo "    one release ${one} KiB, releases and objects together ${all} KiB" >&2
assert_ok awk -v a="$all" -v o="$one" 'BEGIN { exit !(a <= 1.4 * o) }'
[[ $RC == 0 ]] || fail "releases + objects take $all KiB, more than 1.4 x one release ($one KiB)"

step "list: own and shared bytes"
run co --json list
idx=$(stat -c %s "$ROOT/releases/${ids[9]}/public/index.php")
assert_eq "$idx" "$(jq -r --arg id "${ids[9]}" '.releases[] | select(.id == $id) | .own_bytes' <<<"$OUT")" \
	"the newest release owns only its index.php"
assert_eq "$(jq -r --arg id "${ids[9]}" '.releases[] | select(.id == $id) | .bytes - .own_bytes' <<<"$OUT")" \
	"$(jq -r --arg id "${ids[9]}" '.releases[] | select(.id == $id) | .shared_bytes' <<<"$OUT")" "the rest it shares"
run co list
assert_match "$(head -n 1 <<<"$OUT")" 'RELEASE +STATE +CREATED +SIZE +OWN +SHARED' "list's columns"

step "prune removes the objects of removed releases"
assert_ok co prune --keep 2
assert_eq "$(sorted "${ids[8]}" "${ids[9]}")" "$(dir_list "$ROOT/releases")" "current and previous kept"
assert_eq $((NFILES + 1)) "$(find "$ROOT/.cutover/objects" -type f | wc -l)" "objects: the app once and one more index.php"
assert_eq "" "$(find "$ROOT/.cutover/objects" -type f -links 1)" "no object without a release after prune"
for id in "${ids[8]}" "${ids[9]}"; do
	run co verify "$id"
	assert_eq 0 "$RC" "kept release $id verifies ($OUT $ERR)"
done
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v10";' "what current serves"
