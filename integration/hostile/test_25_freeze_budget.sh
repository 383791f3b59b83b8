#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 25 (review 2, M2): an artifact whose build step makes
# chains of relative symlinks, each going 400 directories down and back up
# to the next link of its chain (40 links to a chain, as many hops as the
# kernel follows). The freeze judges every relative link as the kernel
# resolves it, and used to re-open the whole directory prefix from the
# release root for every component, with no overall bound: 1,000 such
# links kept the freeze (and the app's lock) busy for minutes. Through
# sudo:
#   - 1,000 links, 400 deep: the freeze gives up within seconds with a
#     message that names a link and the budget; the app is unchanged,
#     nothing is left running, the lock is free;
#   - 1,000 links of the same chains, 3 deep (a lot of resolving, still
#     an ordinary tree): the deploy succeeds.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh gen.sh' 'timeout = 600'
# gen.sh N DEPTH: l/0x .. l/(N-1)x, each to the next of its chain of 40
# (the last of a chain to itself) by way of DEPTH directories down and up.
cat >"$SRC/gen.sh" <<'GEN'
[ -e size ] || exit 0
read -r n depth <size
down=$(printf 'd/%.0s' $(seq "$depth")); up=$(printf '../%.0s' $(seq "$depth"))
mkdir -p "$down" l
i=0
while [ $i -lt "$n" ]; do
	next=$(( (i % 40 == 39) ? i : i + 1 ))
	ln -s "../$down${up}l/${next}x" "l/${i}x"
	i=$((i + 1))
done
GEN
hostile_deploy_good
BEFORE=$(app_state)

deploy_size()
{
	printf '%s %s\n' "$1" "$2" >"$SRC/size"
	chmod a+r "$SRC/size"
	run ci_cutover deploy "$APP" --from "$SRC"
}

step "1,000 chained links, each 400 directories down and back up"
deploy_size 1000 400
assert_refused 1 "lookups" "deep chains"
assert_contains "$ERR" "l/" "deep chains: the message names a link"
assert_lt "$ELAPSED_MS" 20000 "deep chains: the freeze gave up within seconds (ms)"
assert_no_cutover_procs "deep chains" 10
assert_app_unchanged "$BEFORE" "deep chains"
run "$CUTOVER_BIN" --json status "$APP"
assert_eq null "$(jq -r .lock <<<"$OUT")" "deep chains: no lock holder afterwards"

step "1,000 chained links, 3 directories down and back up: an ordinary tree"
deploy_size 1000 3
assert_eq 0 "$RC" "shallow chains: the deploy succeeds" || it_last_output
assert_no_cutover_procs "shallow chains" 10
[[ -L $ROOT/current/l/0x ]] || fail "shallow chains: the links are in the release"
