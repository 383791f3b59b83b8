#!/bin/bash
# SPDX-License-Identifier: MIT
#
# integration/run.sh [TEST...]: runs the end-to-end tests (every
# integration/test_*.sh and integration/hostile/test_*.sh, or the ones
# named: "test_x", "hostile/test_y" or a path), each as its own bash process,
# one after the other. Prints PASS/FAIL per test (with the test's output
# when it fails) and, as the very last line, "N passed, N failed"; exits 1
# if any test failed.
#
# The tests must never change the host's mounts: the mount table
# (/proc/self/mountinfo: every mount's mount point, root, options, type
# and source) is compared before and after each test, and any difference
# fails that test. Not being root fails every test: nothing is skipped.
#
# IT_TIMEOUT (seconds, default 120) bounds each test; IT_VERBOSE=1 shows
# the output of passing tests too.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The build to test: build/ unless BUILD names another (the sanitizer
# build, say); relative to the top of the tree.
build=${BUILD:-build}
timeout_s=${IT_TIMEOUT:-120}
passed=0
failed=0

# One line per mount; the mount and parent ids are left out on purpose
# (they carry no meaning across a snapshot), everything else is kept.
mount_table()
{
	awk '{
		sep = 0
		for (i = 7; i <= NF; i++)
			if ($i == "-") { sep = i; break }
		print "point=" $5, "root=" $4, "opts=" $6, "type=" $(sep + 1), "source=" $(sep + 2)
	}' /proc/self/mountinfo | LC_ALL=C sort
}

result()
{
	local verdict=$1 name=$2 detail=$3

	printf '%s %s%s\n' "$verdict" "$name" "${detail:+ ($detail)}"
	if [[ $verdict == PASS ]]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

tests=()
if (($# > 0)); then
	for t in "$@"; do
		t=${t%.sh}
		# "hostile/test_x" (or a path ending so) names a hostile test; a
		# bare name is looked up in integration/, then in hostile/.
		if [[ $t == hostile/* || $t == */hostile/* ]]; then
			t=hostile/${t##*/}
		else
			t=${t##*/}
			[[ ! -f $here/$t.sh && -f $here/hostile/$t.sh ]] && t=hostile/$t
		fi
		tests+=("$here/$t.sh")
	done
else
	for t in "$here"/test_*.sh "$here"/hostile/test_*.sh; do
		[[ -e $t ]] && tests+=("$t")
	done
fi
if ((${#tests[@]} == 0)); then
	echo "integration: no tests found in $here"
	echo "0 passed, 1 failed"
	exit 1
fi

# Preconditions: any that is not met fails every test, with the reason.
problem=
if [[ $(id -u) != 0 ]]; then
	problem="not running as root: cutover and these tests need root; run 'sudo make integration'"
else
	for tool in jq tar gzip zstd xz git sha256sum setpriv runuser timeout find awk; do
		if ! command -v "$tool" >/dev/null; then
			problem="$tool is missing (needed by the tests; install it, e.g. with 'make deps')"
			break
		fi
	done
	for who in nobody daemon; do
		id "$who" >/dev/null 2>&1 || problem="user $who does not exist"
	done
	getent group www-data >/dev/null || problem="group www-data does not exist"
	for bin in cutover cutover-helper; do
		[[ -x $(dirname "$here")/$build/$bin ]] || problem="$build/$bin is missing; run 'make' first"
	done
fi
if [[ -n $problem ]]; then
	echo "integration: $problem"
	for t in "${tests[@]}"; do
		t=${t#"$here"/}
		result FAIL "${t%.sh}" "not run"
	done
	echo "$passed passed, $failed failed"
	exit 1
fi

# procs_on DIR: pids of processes whose command line or cwd is in DIR.
procs_on()
{
	local p cmd cwd

	for p in /proc/[0-9]*; do
		[[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
		if [[ $cmd == *"$1"* || $cwd == "$1" || $cwd == "$1"/* ]]; then
			printf '%s\n' "${p#/proc/}"
		fi
	done
}

# remove_dir DIR: rm -rf, unless something is mounted in DIR (a leaked
# bind mount of a host directory would have its contents deleted).
remove_dir()
{
	if awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "integration: not removing $1: something is mounted in it" >&2
		return 1
	fi
	rm -rf --one-file-system -- "$1"
}

logdir=$(mktemp -d /tmp/cutover-it-run.XXXXXXXX) || exit 1
trap 'remove_dir "$logdir"' EXIT
# Everything below is root-owned and 0755: cutover trusts a config only if
# every directory above it is.
chmod 0755 "$logdir"
# Test the build as it is now: a copy of both binaries (side by side, as
# cutover looks for its helper next to itself), so that a `make` running
# meanwhile cannot swap them halfway through the suite.
mkdir -m 0755 "$logdir/bin" "$logdir/scratch" &&
	cp "$(dirname "$here")/$build/cutover" "$(dirname "$here")/$build/cutover-helper" \
		"$(dirname "$here")/$build/opcache-reset.php" "$logdir/bin/" ||
	exit 1
export CUTOVER_BIN=$logdir/bin/cutover
suite_t0=$SECONDS

for t in "${tests[@]}"; do
	# "test_x" or "hostile/test_x"; files of the run use "hostile_test_x".
	name=${t#"$here"/}
	name=${name%.sh}
	log=$logdir/${name//\//_}.log
	if [[ ! -f $t ]]; then
		result FAIL "$name" "no such test: $t"
		continue
	fi
	# The test's scratch directories go here, so that whatever it leaves
	# (killed by the timeout, say) can be found and removed.
	base=$logdir/scratch/${name//\//_}
	mkdir -m 0755 "$base" || exit 1
	before=$(mount_table)
	t0=$(date +%s%N)
	# timeout(1) signals its whole process group: the test and all it started.
	IT_SCRATCH_BASE=$base timeout -k 10 "$timeout_s" bash "$t" </dev/null >"$log" 2>&1
	rc=$?
	secs=$(( ($(date +%s%N) - t0) / 1000000 ))
	secs=$(printf '%d.%01ds' $((secs / 1000)) $((secs % 1000 / 100)))
	after=$(mount_table)
	detail=$secs
	verdict=PASS
	if ((rc == 124 || rc == 137)); then
		verdict=FAIL
		detail="$secs, timed out after ${timeout_s}s"
	elif ((rc != 0)); then
		verdict=FAIL
		detail="$secs, exit code $rc"
	fi
	if [[ $before != "$after" ]]; then
		verdict=FAIL
		detail="$detail, the host mount table changed"
		{
			echo "  FAIL: the host mount table changed during the test (- before, + after):"
			diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") |
				grep '^[<>]' | sed 's/^</      -/; s/^>/      +/'
		} >>"$log"
	fi
	left=$(procs_on "$base")
	if [[ -n $left ]]; then
		verdict=FAIL
		detail="$detail, processes left running"
		echo "  FAIL: processes left running after the test (killed now):" >>"$log"
		for pid in $left; do
			echo "      $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" >>"$log"
			kill -KILL "$pid" 2>/dev/null
		done
		sleep 0.5
	fi
	if [[ -n $(find "$base" -mindepth 1 -maxdepth 1) ]]; then
		verdict=FAIL
		detail="$detail, scratch files left behind"
		echo "  FAIL: the test left scratch files behind: $(find "$base" -mindepth 1 -maxdepth 1 | paste -sd' ' -)" >>"$log"
	fi
	remove_dir "$base"
	result "$verdict" "$name" "$detail"
	if [[ $verdict != PASS || ${IT_VERBOSE:-0} == 1 ]]; then
		sed 's/^/    /' "$log"
	fi
done

echo "total $((SECONDS - suite_t0))s"
echo "$passed passed, $failed failed"
((failed == 0))
