#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 6: the process state the CI user hands over: closed
# stdin, stdout and stderr; extra inherited fds (a directory and a file of
# the attacker, open on 7, 8 and 200); umask 000; RLIMIT_FSIZE of one
# block and RLIMIT_NOFILE of 10, as soft limits and as soft and hard ones.
# Each through sudo as the CI user, and directly as root (-c), which
# exercises cutover's own clean-up rather than sudo's (sudo closes fds and
# applies its own umask itself). Every deploy works (a lowered hard limit:
# only where root has CAP_SYS_RESOURCE to raise it again; without, the
# deploy must fail cleanly and change nothing); no process of the run
# (front end, helper, sandbox init, build step) holds an inherited fd
# (/proc/PID/fd, read while the step sleeps); frozen files are 0440 or
# 0550, directories 0550, nothing in the app root is writable by others and
# only shared/ by the group; a 2 MiB file arrives whole despite the
# 1-block limit.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
printf 'if [ -e slow ]; then touch started; sleep 2; fi\n' >"$SRC/step.sh"
head -c 2097152 /dev/urandom >"$SRC/public/big.bin"
hostile_deploy_good
SERVING_FILE=$(sha256sum <"$SRC/public/big.bin")
CI_RUN=(setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups --)

attacker=$S/attacker
mkdir -m 0700 "$attacker"
touch "$attacker/loot"
chown -R "$CI_USER" "$attacker"
cases=0
n=1

# check_release WHAT: the release just deployed is live, complete and
# frozen as documented.
check_release()
{
	local id rel bad

	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$n\";" "$1: the new release is live"
	id=$(current_id)
	rel=$ROOT/releases/$id
	assert_manifest_ok "$ROOT" "$id"
	assert_eq "$SERVING_FILE" "$(sha256sum <"$rel/public/big.bin")" "$1: the 2 MiB file arrived whole"
	bad=$(find "$rel" \( -type f ! -perm 0440 ! -perm 0550 \) -o \( -type d ! -perm 0550 \) | head -n 5)
	assert_eq "" "$bad" "$1: frozen files 0440/0550, directories 0550"
	bad=$(find "$ROOT" ! -type l -perm -o+w | head -n 5)
	assert_eq "" "$bad" "$1: nothing in the app root is writable by others"
	bad=$(find "$ROOT" ! -type l -perm -g+w ! -path "$ROOT/shared/*" | head -n 5)
	assert_eq "" "$bad" "$1: only shared/ is group-writable"
	assert_eq "2770 640" "$(stat -c %a "$ROOT/shared/storage" "$ROOT/shared/.env" | paste -sd' ' -)" \
		"$1: modes of shared/storage and shared/.env"
	cases=$((cases + 1))
}

# deploy_as WHO WHAT SHELL_PREFIX: deploys version n+1 as WHO (ci: through
# sudo; root: directly, with -c) from a bash whose state SHELL_PREFIX sets
# up ("exec 7<dir;", "umask 000;", ...); sets RC.
deploy_as()
{
	local who=$1 what=$2 prefix=$3 cmd

	n=$((n + 1))
	set_index "$SRC" "v$n"
	step "$what ($who)"
	if [[ $who == ci ]]; then
		cmd="$prefix exec sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\""
		run "${CI_RUN[@]}" bash -c "$cmd" "$CUTOVER_BIN" "$APP" "$SRC"
	else
		cmd="$prefix exec \"\$0\" -c \"\$3\" deploy \"\$1\" --from \"\$2\""
		run bash -c "$cmd" "$CUTOVER_BIN" "$APP" "$SRC" "$CONF"
	fi
	assert_eq 0 "$RC" "$what ($who): the deploy works" || printf '%s\n' "$(it_last_output)"
}

# deploy_limited WHO WHAT PREFIX: as deploy_as, with a hard limit the
# caller lowered. cutover resets its limits, which needs CAP_SYS_RESOURCE
# for a hard limit: with it (any root on a normal host) the deploy must
# work; without it (this machine's root may lack it) it must fail
# cleanly, changing nothing.
deploy_limited()
{
	local who=$1 what=$2 before

	if ((0x$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status) & (1 << 24))); then
		deploy_as "$@"
		check_release "$what ($who)"
		return
	fi
	before=$(app_state)
	n=$((n + 1))
	set_index "$SRC" "v$n"
	step "$what ($who), without CAP_SYS_RESOURCE on this machine: a clean failure"
	if [[ $who == ci ]]; then
		run "${CI_RUN[@]}" bash -c "$3 exec sudo -n -u root \"\$0\" deploy \"\$1\" --from \"\$2\"" \
			"$CUTOVER_BIN" "$APP" "$SRC"
	else
		run bash -c "$3 exec \"\$0\" -c \"\$3\" deploy \"\$1\" --from \"\$2\"" \
			"$CUTOVER_BIN" "$APP" "$SRC" "$CONF"
	fi
	if [[ $RC == 0 ]]; then
		check_release "$what ($who)"
	else
		assert_refused 1 "" "$what ($who)"
		SERVING="<?php echo \"v$((n - 1))\";" assert_app_unchanged "$before" "$what ($who)"
		n=$((n - 1))
		echo "   note: failed cleanly: $(printf '%s\n' "$ERR" | grep '^cutover: ')"
	fi
	cases=$((cases + 1))
}

for who in ci root; do
	n=$((n + 1))
	set_index "$SRC" "v$n"
	step "closed stdin, stdout and stderr ($who)"
	if [[ $who == ci ]]; then
		"${CI_RUN[@]}" sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC" <&- >&- 2>&-
	else
		"$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC" <&- >&- 2>&-
	fi
	RC=$?
	assert_eq 0 "$RC" "closed stdin, stdout and stderr ($who): exit code"
	check_release "closed stdio ($who)"

	deploy_as "$who" "umask 000" "umask 000;"
	check_release "umask 000 ($who)"

	deploy_as "$who" "RLIMIT_FSIZE of 1 block (soft)" "ulimit -S -f 1;"
	check_release "RLIMIT_FSIZE 1 block, soft ($who)"
	deploy_as "$who" "RLIMIT_NOFILE of 10 (soft)" "ulimit -S -n 10;"
	check_release "RLIMIT_NOFILE 10, soft ($who)"

	# Soft and hard: only CAP_SYS_RESOURCE may raise a hard limit again.
	deploy_limited "$who" "RLIMIT_FSIZE of 1 block (soft and hard)" "ulimit -f 1;"
	deploy_limited "$who" "RLIMIT_NOFILE of 10 (soft and hard)" "ulimit -n 10;"
done

# fds_on_attacker: "PID FD -> TARGET" of every fd of the run's processes
# (cutover's and the build step's) that leads to the attacker's files.
fds_on_attacker()
{
	local pid fd target pids

	pids=$(cutover_procs | cut -d' ' -f1; procs_on "$ROOT" | cut -d: -f1)
	for pid in $pids; do
		for fd in /proc/"$pid"/fd/*; do
			target=$(readlink "$fd" 2>/dev/null) || continue
			if [[ $target == "$attacker"* ]]; then
				printf '%s %s -> %s (%s)\n' "$pid" "${fd##*/}" "$target" \
					"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
			fi
		done
	done
}

touch "$SRC/slow"
for who in ci root; do
	n=$((n + 1))
	set_index "$SRC" "v$n"
	step "inherited fds 7, 8, 200 on the attacker's directory and file ($who)"
	if [[ $who == ci ]]; then
		bg pid "${CI_RUN[@]}" bash -c 'exec 7<"$1" 8>>"$1/loot" 200<"$1"; exec sudo -n -u root "$2" deploy "$3" --from "$4"' \
			_ "$attacker" "$CUTOVER_BIN" "$APP" "$SRC"
	else
		bg pid bash -c 'exec 7<"$1" 8>>"$1/loot" 200<"$1"; exec "$2" -c "$5" deploy "$3" --from "$4"' \
			_ "$attacker" "$CUTOVER_BIN" "$APP" "$SRC" "$CONF"
	fi
	if wait_for 20 staging_started started; then
		procs=$(cutover_procs)
		assert_match "$procs" "cutover-helper" "the helper runs during the build step"
		held=$(fds_on_attacker)
		assert_eq "" "$held" "inherited fds held by a process of the run ($who)"
		cases=$((cases + 1))
	else
		fail "the build step never started ($who)"
	fi
	bg_wait "$pid"
	assert_eq 0 "$RC" "inherited fds ($who): the deploy works" || printf '%s\n' "$(it_last_output)"
	check_release "inherited fds ($who)"
done
rm -f "$SRC/slow"
assert_no_cutover_procs "after the deploys"
echo "cases: $cases"
