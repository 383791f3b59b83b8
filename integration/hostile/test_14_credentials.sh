#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 14: what each process of a deploy through sudo runs
# with, read from /proc/PID/status while a build step sleeps. The front
# end (the cutover process, now the deploy user): no capability in any
# set, NoNewPrivs 1, Seccomp 2, every uid nobody and every gid nogroup, no
# supplementary groups. The helper, as docs/SECURITY.md lists it: uid 0,
# NoNewPrivs 1, Seccomp 2, the effective set exactly the ten documented
# capabilities, the permitted set those and CAP_SYS_PTRACE, the bounding
# set no more than that (not full), nothing inheritable or ambient. Its
# sandbox init: the same. The build step: no capability, NoNewPrivs 1,
# Seccomp 2, nobody.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
printf 'if [ -e slow ]; then touch started; sleep 3; fi\n' >"$SRC/step.sh"
hostile_deploy_good
touch "$SRC/slow"
set_index "$SRC" v2

# CAP_CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, KILL, SETGID,
# SETUID, SETPCAP (bits 0-8) and SYS_ADMIN (21); SYS_PTRACE is bit 19 and
# SYS_CHROOT bit 18 (both permitted only: setns into php-fpm's namespace).
HELPER_EFF=00000000002001ff
HELPER_PRM=00000000002c01ff
HELPER_BND_MAX=$((0x2c01ff))
NOBODY=$(id -u nobody) NOGROUP=$(id -g nobody)
cases=0

# check_unprivileged PID WHAT: no capabilities, NoNewPrivs, seccomp,
# nobody/nogroup with no other groups.
check_unprivileged()
{
	local pid=$1 what=$2 f

	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_eq 0000000000000000 "$(status_field "$pid" "$f")" "$what: $f"
	done
	assert_eq 1 "$(status_field "$pid" NoNewPrivs)" "$what: NoNewPrivs"
	assert_eq 2 "$(status_field "$pid" Seccomp)" "$what: Seccomp (2: filter)"
	assert_eq "$NOBODY $NOBODY $NOBODY $NOBODY" "$(status_field "$pid" Uid | tr -s '\t ' ' ')" "$what: real, effective, saved, fs uid"
	assert_eq "$NOGROUP $NOGROUP $NOGROUP $NOGROUP" "$(status_field "$pid" Gid | tr -s '\t ' ' ')" "$what: real, effective, saved, fs gid"
	assert_eq "" "$(status_field "$pid" Groups | tr -d ' \t')" "$what: supplementary groups"
	cases=$((cases + 1))
}

# check_helper PID WHAT
check_helper()
{
	local pid=$1 what=$2 bnd

	assert_eq "0 0 0 0" "$(status_field "$pid" Uid | tr -s '\t ' ' ')" "$what: uid"
	assert_eq "$HELPER_EFF" "$(status_field "$pid" CapEff)" "$what: CapEff (the ten documented capabilities)"
	assert_eq "$HELPER_PRM" "$(status_field "$pid" CapPrm)" "$what: CapPrm (those, CAP_SYS_PTRACE and CAP_SYS_CHROOT)"
	bnd=$((0x$(status_field "$pid" CapBnd)))
	assert_eq 0 $((bnd & ~HELPER_BND_MAX)) "$what: CapBnd holds nothing beyond the documented set ($(status_field "$pid" CapBnd))"
	assert_ne "$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)" "$(status_field "$pid" CapBnd)" "$what: CapBnd is not full"
	assert_eq 0000000000000000 "$(status_field "$pid" CapInh)" "$what: CapInh"
	assert_eq 0000000000000000 "$(status_field "$pid" CapAmb)" "$what: CapAmb"
	assert_eq 1 "$(status_field "$pid" NoNewPrivs)" "$what: NoNewPrivs"
	assert_eq 2 "$(status_field "$pid" Seccomp)" "$what: Seccomp (2: filter)"
	cases=$((cases + 1))
}

step "a deploy through sudo, looked at during its build step"
pid=
bg pid ci_cutover deploy "$APP" --from "$SRC"
wait_for 20 staging_started started || fatal "the build step never started" "$(cutover_procs)"
procs=$(cutover_procs)
printf '%s\n' "$procs" | sed 's/^/   pid ppid uid name: /'
front=$(awk -v u="$NOBODY" '$4 == "cutover" && $3 == u { print $1 }' <<<"$procs")
helper=$(awk -v f="$front" '$4 == "cutover-helper" && $2 == f { print $1 }' <<<"$procs")
init=$(awk -v h="$helper" '$4 == "cutover-helper" && $2 == h { print $1 }' <<<"$procs")
assert_match "$front" '^[0-9]+$' "exactly one front end (cutover as nobody)" || fatal "no front end" "$procs"
assert_match "$helper" '^[0-9]+$' "exactly one helper, child of the front end" || fatal "no helper" "$procs"
assert_match "$init" '^[0-9]+$' "exactly one sandbox init, child of the helper" || fatal "no sandbox init" "$procs"
# grep, not awk: processes come and go while /proc is read.
stepsh=$(grep -l "^PPid:[[:space:]]*$init\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
assert_eq "" "$(awk -v u="$NOBODY" '$4 == "cutover" && $3 != u' <<<"$procs")" "no other cutover process (the source reader is gone)"

check_unprivileged "$front" "the front end (pid $front)"
check_helper "$helper" "the helper (pid $helper)"
check_helper "$init" "the sandbox init (pid $init)"
if [[ -n $stepsh ]]; then
	check_unprivileged "$stepsh" "the build step (pid $stepsh)"
else
	fail "no build step process below the sandbox init"
fi
bg_wait "$pid"
assert_eq 0 "$RC" "the deploy finishes" || printf '%s\n' "$(it_last_output)"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "the new release is live"
echo "cases: $cases"
