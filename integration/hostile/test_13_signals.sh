#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 13: signals at random moments of a deploy through
# sudo, 50 times: SIGTERM (20) and SIGINT (15) sent to sudo, which relays
# them, and SIGKILL (15) sent to the cutover process itself. The deploy
# imports a 24 MiB tarball and runs a build step that sleeps 0-300 ms; the
# signal comes at a random moment within the time an uninterrupted deploy
# takes. After each: no process of the run
# is left (the helper may finish its clean-up after a killed front end),
# current points at a complete frozen release whose manifest verifies,
# every release in releases/ is frozen (no half-built one), the staging
# and trash directories are empty, there is no stray .current.new, no
# mount below the app root and no lock holder, and the next deploy
# (--wait 5) succeeds.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
cat >"$SRC/step.sh" <<'STEP'
if [ -e slow ]; then
	ms=$(( $(od -An -N2 -tu2 /dev/urandom) % 300 ))
	sleep "$(printf '0.%03d' "$ms")"
fi
STEP
hostile_deploy_good
SMALL=$SRC
BIG=$S/big.tar
big=$S/big
cp -r "$SRC" "$big"
touch "$big/slow"
head -c 25165824 /dev/urandom >"$big/public/blob.bin"
set_index "$big" interrupted
tar -C "$big" -cf "$BIG" . || fatal "cannot make $BIG"
chmod 0644 "$BIG"
rm -rf "$big"
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)

# invariants WHAT: the app root after an interrupted run.
invariants()
{
	local what=$1 cur bad id

	assert_no_cutover_procs "$what" 15
	cur=$(current_id)
	if [[ $cur =~ ^[0-9A-Za-z][0-9A-Za-z._-]*$ && -d $ROOT/releases/$cur ]]; then
		assert_manifest_ok "$ROOT" "$cur"
	else
		fail "$what: current is not a release" "current -> $(readlink "$ROOT/current")"
	fi
	bad=''
	for id in $(dir_list "$ROOT/releases"); do
		grep -qx 'state=frozen' "$ROOT/.cutover/state/$id" 2>/dev/null || bad+="$id "
		[[ -z $(find "$ROOT/releases/$id" -maxdepth 0 -perm /0222) ]] || bad+="$id(writable) "
	done
	assert_eq "" "$bad" "$what: releases that are not frozen"
	assert_dir_empty "$ROOT/.cutover/staging" "$what: staging"
	assert_dir_empty "$ROOT/.cutover/trash" "$what: trash"
	assert_file_absent "$ROOT/.current.new" "$what: a stray .current.new"
	assert_eq "" "$(awk -v d="$ROOT" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)" "$what: mounts below the app root"
	run co --json status
	assert_eq null "$(jq -r .lock <<<"$OUT")" "$what: the lock holder"
}

step "one uninterrupted deploy of the big tarball, to time the signals"
run ci_cutover deploy "$APP" --from "$BIG"
assert_eq 0 "$RC" "the big tarball deploys" || fatal "the big tarball does not deploy" "$(it_last_output)"
# The last fifth of a deploy is prune and exit: aim at the rest.
span=$((ELAPSED_MS * 4 / 5))
((span < 300)) && span=300
echo "   an uninterrupted deploy takes $ELAPSED_MS ms: signals come 0-$span ms after the start"

# Shuffled: 20 TERM, 15 INT, 15 KILL.
mapfile -t signals < <({ for i in $(seq 20); do echo TERM; done; for i in $(seq 15); do echo INT; done
	for i in $(seq 15); do echo KILL; done; } | shuf)
declare -A outcome=()
n=0
for sig in "${signals[@]}"; do
	n=$((n + 1))
	delay=$(( $(od -An -N2 -tu2 /dev/urandom) % span ))
	step "run $n: SIG$sig after $delay ms"
	# A background job of a script starts with SIGINT ignored, and sudo
	# would inherit that: env restores the default first.
	sudo_pid=
	bg sudo_pid env --default-signal=INT "${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$BIG"
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	if [[ $sig == KILL ]]; then
		# The cutover process whose parent is not cutover (that is the
		# source reader): sudo's child, or its monitor's under use_pty.
		front=$(cutover_procs | awk '$4 == "cutover" { pid[$1] = $2 } END { for (p in pid) if (!(pid[p] in pid)) print p }' | head -n 1)
		[[ -n $front ]] && kill -KILL "$front" 2>/dev/null
	else
		kill -"$sig" "$sudo_pid" 2>/dev/null
	fi
	# (no "Killed" job notice in the log: sudo dies of the KILL too)
	{ bg_wait "$sudo_pid"; } 2>/dev/null
	case $RC in
	0) outcome[$sig-completed]=$((${outcome[$sig-completed]:-0} + 1)) ;;
	1) outcome[$sig-interrupted]=$((${outcome[$sig-interrupted]:-0} + 1))
	   assert_refused 1 "" "run $n: SIG$sig" ;;
	*) outcome[$sig-rc$RC]=$((${outcome[$sig-rc$RC]:-0} + 1)) ;;
	esac
	invariants "run $n (SIG$sig after $delay ms, exit $RC)"
	set_index "$SMALL" "next$n"
	run ci_cutover deploy "$APP" --wait 5 --from "$SMALL"
	assert_eq 0 "$RC" "run $n: the next deploy succeeds" || printf '%s\n' "$(it_last_output)"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"next$n\";" "run $n: the next deploy is live"
done
echo "   outcomes: $(for k in "${!outcome[@]}"; do printf '%s=%s ' "$k" "${outcome[$k]}"; done)"
assert_lt 9 "$(( ${outcome[TERM-interrupted]:-0} + ${outcome[INT-interrupted]:-0} + ${outcome[KILL-rc137]:-0} ))" \
	"at least 10 signals landed during a deploy"
echo "cases: $n"
