# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/core.sh: what every test needs; integration/lib.sh
# loads it first. Scratch directories under /tmp (removed on exit, even on
# failure), running commands with their output captured, background
# processes, and reporting: assertions do not stop the test, they count
# failures, and the EXIT trap turns any failure into exit status 1. Use
# `fatal` where going on makes no sense.
#
# The EXIT trap also stops every background process the test started,
# runs what the test asked for (at_exit, the undo stack), and fails the
# test if any process is still running in or on its scratch directories
# (a build step or helper left behind).

set -u -o pipefail

# A test that mounts (the mode = bind tests) sets IT_OWN_MOUNT_NS=1 before
# sourcing this file: it is then run again, from the start, in a mount
# namespace of its own with every mount private, so nothing it mounts can
# reach the host's mount table (run.sh compares it) and whatever it leaves
# mounted goes with the namespace when the test ends.
if [[ ${IT_OWN_MOUNT_NS:-0} == 1 && -z ${IT_IN_OWN_MOUNT_NS:-} ]]; then
	export IT_IN_OWN_MOUNT_NS=1
	exec unshare --mount --propagation private -- bash "$0" "$@"
fi

# This file's directory, integration/lib; the loader and every file here
# are the library, whose frames it_where skips.
IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_DIR=$(dirname "$IT_LIB_DIR")
REPO_ROOT=$(dirname "$IT_DIR")
CUTOVER_BIN=${CUTOVER_BIN:-$REPO_ROOT/build/cutover}
# The build holding the binaries the tests use besides cutover's own (the
# test tools, loadgen): BUILD as for make and run.sh, relative to the top
# of the tree unless absolute.
IT_BUILD=${BUILD:-build}
[[ $IT_BUILD == /* ]] || IT_BUILD=$REPO_ROOT/$IT_BUILD
IT_NAME=$(basename "$0" .sh)
# Where scratch directories go (run.sh gives each test its own place).
IT_SCRATCH_BASE=${IT_SCRATCH_BASE:-/tmp}

IT_FAILURES=0
IT_SCRATCH=()     # directories to remove on exit
IT_PIDS=()        # background processes to stop on exit
declare -A IT_BG_SEQ=() IT_BG_T0=()
IT_AT_EXIT=()     # commands to run on exit, before the scratch dirs go
IT_TMP=           # the library's own files (captured output)

# Results of the last `run` / `assert_exit`.
OUT='' ERR='' RC=0 ELAPSED_MS=0

# ---- reporting ---------------------------------------------------------

# Where in the test the library was called: "file:line", followed by the
# lines of the test's own functions' callers ("<- line").
it_where()
{
	local i where=

	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		# Frames of the library: its files and the loader (lib.sh).
		[[ ${BASH_SOURCE[i]} == "$IT_LIB_DIR"/* || ${BASH_SOURCE[i]} == "${IT_LOADER:-}" ]] && continue
		if [[ -z $where ]]; then
			where="$(basename "${BASH_SOURCE[i]}"):${BASH_LINENO[i - 1]}"
		elif ((BASH_LINENO[i - 1] > 0)); then
			where+=" <- ${BASH_LINENO[i - 1]}"
		fi
	done
	printf '%s' "${where:-?}"
}

# step TEXT: marks progress, so a failure shows where it happened.
step()
{
	printf -- '-- %s\n' "$*"
}

# fail SUMMARY [DETAIL...]: records a failure; always returns 1.
fail()
{
	local line

	IT_FAILURES=$((IT_FAILURES + 1))
	printf '  FAIL (%s): %s\n' "$(it_where)" "$1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/      /'
	done
	return 1
}

# fatal SUMMARY [DETAIL...]: records a failure and ends the test.
fatal()
{
	fail "$@"
	exit 1
}

# The captured output of the last `run`, for failure messages.
it_last_output()
{
	printf 'exit code: %s (after %s ms)\n' "$RC" "$ELAPSED_MS"
	printf 'stdout:\n%s\n' "$(printf '%s' "$OUT" | tail -n 15 | sed 's/^/  | /')"
	printf 'stderr:\n%s\n' "$(printf '%s' "$ERR" | tail -n 25 | sed 's/^/  | /')"
}

# ---- running commands --------------------------------------------------

now_ms()
{
	local s ns

	read -r s ns < <(date '+%s %N')
	printf '%d' $((s * 1000 + 10#$ns / 1000000))
}

# run CMD...: runs CMD with stdin from /dev/null; sets OUT, ERR, RC and
# ELAPSED_MS. Never fails by itself.
run()
{
	local t0

	t0=$(now_ms)
	"$@" </dev/null >"$IT_TMP/out" 2>"$IT_TMP/err"
	RC=$?
	ELAPSED_MS=$(($(now_ms) - t0))
	OUT=$(cat "$IT_TMP/out")
	ERR=$(cat "$IT_TMP/err")
	return 0
}

# bg VAR CMD...: starts CMD in the background (stdin /dev/null, output
# captured); stores its pid in VAR. Stopped on exit if still running.
bg()
{
	local var=$1 n=${#IT_PIDS[@]} t0

	shift
	t0=$(now_ms)
	"$@" </dev/null >"$IT_TMP/bg.$n.out" 2>"$IT_TMP/bg.$n.err" &
	IT_PIDS+=("$!")
	IT_BG_SEQ[$!]=$n
	IT_BG_T0[$!]=$t0
	printf -v "$var" '%s' "$!"
}

# bg_wait PID: waits for a process started with bg; sets RC, OUT, ERR
# and ELAPSED_MS (since it was started).
bg_wait()
{
	local n=${IT_BG_SEQ[$1]}

	wait "$1"
	RC=$?
	ELAPSED_MS=$(($(now_ms) - IT_BG_T0[$1]))
	OUT=$(cat "$IT_TMP/bg.$n.out")
	ERR=$(cat "$IT_TMP/bg.$n.err")
	return 0
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds;
# returns 1 if it has not within SECONDS.
wait_for()
{
	local deadline=$(($(now_ms) + $1 * 1000))

	shift
	until "$@"; do
		(($(now_ms) >= deadline)) && return 1
		sleep 0.05
	done
	return 0
}

# random_hex N: N random lowercase hex digits.
random_hex()
{
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"
}

# ---- scratch directories -----------------------------------------------

# scratch_new VAR: a new directory under /tmp ($IT_SCRATCH_BASE), root's
# and 0755 as cutover requires of every directory above a config; removed
# on exit.
scratch_new()
{
	local d

	d=$(mktemp -d "$IT_SCRATCH_BASE/cutover-it.XXXXXXXX") || fatal "mktemp -d failed"
	chmod 755 "$d"
	IT_SCRATCH+=("$d")
	printf -v "$1" '%s' "$d"
}

# procs_on DIR: "pid: cmdline (cwd)" of every process other than this
# shell whose command line or working directory is in DIR.
procs_on()
{
	local p pid cmd cwd

	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
		if [[ $cmd == *"$1"* || $cwd == "$1" || $cwd == "$1"/* ]]; then
			printf '%s: %s(cwd %s)\n' "$pid" "$cmd" "$cwd"
		fi
	done
}

no_procs_on()
{
	[[ -z $(procs_on "$1") ]]
}

# ---- cleanup -----------------------------------------------------------

# What a test changes outside its scratch directories (a user, a sudoers
# include, files in /etc) it undoes at exit through the undo stack, in
# reverse order, even when the test fails.
HOSTILE_UNDO=()       # the undo stack: commands run at exit, last first

# at_exit COMMAND: runs COMMAND (a string, eval'd) when the test exits,
# whatever the reason, after its background processes are stopped.
at_exit()
{
	IT_AT_EXIT+=("$1")
}

hostile_undo_all()
{
	local i

	for ((i = ${#HOSTILE_UNDO[@]} - 1; i >= 0; i--)); do
		eval "${HOSTILE_UNDO[i]}"
	done
	HOSTILE_UNDO=()
}

# undo_push COMMAND: runs COMMAND (eval'd) at exit, before everything
# pushed earlier.
undo_push()
{
	((${#HOSTILE_UNDO[@]} == 0)) && at_exit hostile_undo_all
	HOSTILE_UNDO+=("$1")
}

# Stops what the test started in the background: the processes started
# with bg, and any other job of this shell. TERM first, KILL after 10 s.
it_stop_pids()
{
	local pid i pids

	# shellcheck disable=SC2046 # one pid per word
	pids=$(printf '%s\n' "${IT_PIDS[@]}" $(jobs -p) | sort -u)
	for pid in $pids; do
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null
	done
}

it_cleanup()
{
	local rc=$? d left pid mounts

	set +e
	# A second signal must not cut the clean-up short: timeout(1) signals
	# the child and then its process group, so a test often gets two, and
	# one arriving here used to leave the test's nginx and php-fpm running.
	trap - EXIT
	trap '' TERM INT HUP
	cd / || true
	if ((rc != 0 && IT_FAILURES == 0)); then
		# Died without an assertion failing (set -u, a signal, ...): say so,
		# with the stderr of the command that was running, if any.
		fail "the test script stopped with exit code $rc" \
			"$( [[ -s $IT_TMP/err ]] && echo "stderr of the last command run:" && tail -n 5 "$IT_TMP/err")"
	fi
	it_stop_pids
	for d in "${IT_AT_EXIT[@]}"; do
		eval "$d"
	done
	for d in "${IT_SCRATCH[@]}"; do
		if ! wait_for 5 no_procs_on "$d"; then
			left=$(procs_on "$d")
			fail "processes left running in $d (killed now)" "$left"
			for pid in $(printf '%s\n' "$left" | cut -d: -f1); do
				kill -KILL "$pid" 2>/dev/null
			done
			sleep 0.2
		fi
		# Never rm -rf through a mount: a leaked bind mount of a host
		# directory would have its contents deleted.
		mounts=$(awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)
		if [[ -n $mounts ]]; then
			fail "mounts left under $d; not removing it" "$mounts"
			continue
		fi
		rm -rf --one-file-system -- "$d"
	done
	[[ -n $IT_TMP ]] && rm -rf -- "$IT_TMP"
	if ((IT_FAILURES > 0)); then
		printf '%s: %d assertion(s) failed\n' "$IT_NAME" "$IT_FAILURES"
		((rc == 0)) && rc=1
	fi
	exit "$rc"
}

trap it_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

IT_TMP=$(mktemp -d "$IT_SCRATCH_BASE/cutover-it-lib.XXXXXXXX") || fatal "mktemp -d failed"

[[ $(id -u) == 0 ]] || fatal "integration tests must run as root (cutover refuses anything else)"
[[ -x $CUTOVER_BIN && -x $(dirname "$CUTOVER_BIN")/cutover-helper ]] ||
	fatal "$CUTOVER_BIN or its cutover-helper is missing; run 'make' first"
