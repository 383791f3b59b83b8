#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 17: the CI user's resource limits. A caller that
# lowered, say, the CPU time could kill the helper (SIGXCPU, SIGKILL) at a
# moment it chooses. Every process of a run must start from the fixed
# limits of docs/SECURITY.md (all sixteen RLIMIT_*), read from
# /proc/PID/limits of the front end, the helper, the sandbox init and the
# build step while the step sleeps; the build step has its own
# RLIMIT_FSIZE (max_size) on top.
#
#  1. every soft limit lowered through sudo: the deploy works, with the
#     fixed limits everywhere;
#  2. hard limits lowered (`ulimit -t 77 -v ... -i 20`), which only root
#     with CAP_SYS_RESOURCE can raise again: with it, as 1; without it
#     (some containers' root) the run stops before the helper starts,
#     with exit 1 and one message naming the limit, and changes nothing.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
printf 'if [ -e slow ]; then touch started; sleep 3; fi\n' >"$SRC/step.sh"
hostile_deploy_good
touch "$SRC/slow"
set_index "$SRC" v2
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)
NOBODY=$(id -u nobody)
cases=0

# The fixed limits (docs/SECURITY.md, the launcher's row): name, soft, hard
# as /proc/PID/limits shows them.
FIXED='Max cpu time|unlimited|unlimited
Max file size|unlimited|unlimited
Max data size|unlimited|unlimited
Max stack size|8388608|unlimited
Max core file size|0|0
Max resident set|unlimited|unlimited
Max processes|4096|4096
Max open files|4096|4096
Max locked memory|8388608|8388608
Max address space|unlimited|unlimited
Max file locks|unlimited|unlimited
Max pending signals|4096|4096
Max msgqueue size|819200|819200
Max nice priority|0|0
Max realtime priority|0|0
Max realtime timeout|unlimited|unlimited'

# limits PID: "name|soft|hard" per line of /proc/PID/limits.
limits()
{
	awk 'NR > 1 { name = substr($0, 1, 26); sub(/ +$/, "", name); rest = substr($0, 27); split(rest, f, " +")
		print name "|" f[1] "|" f[2] }' "/proc/$1/limits" 2>/dev/null
}

# check_limits PID WHAT [FSIZE]: every limit as fixed; the file size limit
# FSIZE (soft and hard) if given.
check_limits()
{
	local want=$FIXED

	[[ -n ${3:-} ]] && want=$(sed "s/^Max file size|.*/Max file size|$3|$3/" <<<"$FIXED")
	assert_eq "$want" "$(limits "$1")" "$2: /proc/$1/limits"
	cases=$((cases + 1))
}

# deploy_checked WHAT PREFIX: deploys v$n through sudo from a bash set
# up by PREFIX; while the build step sleeps, every process of the run must
# show the fixed limits.
deploy_checked()
{
	local what=$1 prefix=$2 pid= procs front helper init stepsh fsize

	n=$((n + 1))
	set_index "$SRC" "v$n"
	rm -f "$ROOT"/.cutover/staging/*/started 2>/dev/null
	bg pid "${CI_RUN[@]}" bash -c "$prefix exec sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\"" \
		"$CUTOVER_BIN" "$APP" "$SRC"
	wait_for 20 staging_started started || fatal "$what: the build step never started" "$(cutover_procs)"
	procs=$(cutover_procs)
	front=$(awk -v u="$NOBODY" '$4 == "cutover" && $3 == u { print $1 }' <<<"$procs")
	helper=$(awk -v f="$front" '$4 == "cutover-helper" && $2 == f { print $1 }' <<<"$procs")
	init=$(awk -v h="$helper" '$4 == "cutover-helper" && $2 == h { print $1 }' <<<"$procs")
	[[ $front =~ ^[0-9]+$ && $helper =~ ^[0-9]+$ && $init =~ ^[0-9]+$ ]] ||
		fatal "$what: cannot find the front end, helper and sandbox init" "$procs"
	stepsh=$(grep -l "^PPid:[[:space:]]*$init\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
	check_limits "$front" "$what: the front end"
	check_limits "$helper" "$what: the helper"
	check_limits "$init" "$what: the sandbox init"
	if [[ -n $stepsh ]]; then
		fsize=$(awk '$1 == "Max" && $2 == "file" && $3 == "size" { print $4 }' "/proc/$stepsh/limits")
		check_limits "$stepsh" "$what: the build step" "$fsize"
		assert_ne unlimited "$fsize" "$what: the build step keeps its own RLIMIT_FSIZE (max_size)"
	else
		fail "$what: no build step process below the sandbox init"
	fi
	bg_wait "$pid"
	assert_eq 0 "$RC" "$what: the deploy works" || printf '%s\n' "$(it_last_output)"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$n\";" "$what: the new release is live"
}

n=2
step "a deploy through sudo with every soft limit lowered"
# An unprivileged caller can always lower a soft limit (sudo may reset
# some of them on its way).
deploy_checked "soft limits" \
	'ulimit -S -t 77 -v 4000000 -d 3000000 -s 2000 -m 100000 -u 300 -l 64 -x 50 -i 20 -q 1000 -c 0;'

step "a deploy through sudo with hard limits lowered (CPU time 77 s, address space)"
# sudo passes a lowered hard limit on: only root with CAP_SYS_RESOURCE
# can raise it again. With it the deploy must work with the fixed limits;
# without it (the root of some containers, this machine's perhaps) the
# run must stop before the helper starts, and change nothing.
hard='ulimit -t 77 -v 4000000 -i 20;'
# A sanitizer build (SANITIZE=address) cannot start at all under a lowered
# address space (ASan reserves terabytes of shadow memory before main()):
# there, the CPU time and pending-signal limits only.
if grep -q -a '__asan_init' "$CUTOVER_BIN"; then
	hard='ulimit -t 77 -i 20;'
	echo "   note: sanitizer build: the hard address-space limit is left out"
fi
if ((0x$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status) & (1 << 24))); then
	deploy_checked "hard limits" "$hard"
else
	before=$(app_state)
	set_index "$SRC" "v$((n + 1))"
	run "${CI_RUN[@]}" bash -c "$hard exec sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\"" \
		"$CUTOVER_BIN" "$APP" "$SRC"
	assert_refused 1 "clean process state" "hard limits without CAP_SYS_RESOURCE"
	SERVING="<?php echo \"v$n\";" assert_app_unchanged "$before" "hard limits without CAP_SYS_RESOURCE"
	echo "   note: no CAP_SYS_RESOURCE here: $(printf '%s\n' "$ERR" | grep '^cutover: ')"
	cases=$((cases + 1))
fi
echo "cases: $cases"
