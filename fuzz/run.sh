#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds and runs the libFuzzer harnesses of fuzz/.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]
#
# SECONDS (default 60) is the run time of each harness; HARNESS names are
# those of fuzz/fuzz_NAME.c (default: all). Harnesses run FUZZ_JOBS at a
# time (default: the number of CPUs), each on a temporary copy of
# fuzz/corpus/NAME plus the read-only fuzz/regress/NAME, so the repository
# corpus never grows unless FUZZ_MERGE=1, which merges what is new (and adds
# coverage) back into fuzz/corpus/NAME.
#
# Exits 0 if no harness crashed, 1 if one did (the input is left under
# build/fuzz/crashes/NAME/), 2 for a usage or build problem.
#
# Environment: CLANG (default clang), FUZZ_JOBS, FUZZ_MERGE=1,
# FUZZ_BUILD (default build/fuzz), FUZZ_ARGS (extra libFuzzer flags).
#
# CI: fuzz/run.sh 30   (9 harnesses, about 3 minutes on 2 cores)

set -euo pipefail

cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
OUT=${FUZZ_BUILD:-build/fuzz}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
SECONDS_EACH=60

ALL=(config names proto member extract fpm_status fcgi migrate dispatch)

# Sources each harness links besides its own file.
declare -A SRCS=(
	[config]="src/common/config.c src/common/util.c src/common/names.c"
	[names]="src/common/names.c helpers/release_id.c"
	[proto]="src/common/proto.c src/common/names.c"
	[member]="src/frontend/artifact.c src/frontend/output.c src/frontend/result.c src/common/util.c src/common/names.c"
	[extract]="src/frontend/artifact.c src/frontend/output.c src/frontend/result.c src/common/util.c src/common/names.c"
	[fpm_status]="src/frontend/fpm_status.c src/common/util.c"
	[fcgi]="src/frontend/fcgi_response.c src/common/fcgi.c src/common/util.c"
	[migrate]="src/frontend/migrate.c src/common/util.c"
	[dispatch]="helpers/dispatch.c src/common/proto.c src/common/names.c src/common/util.c"
)
declare -A PKGS=(
	[config]="inih"
	[member]="libarchive"
	[extract]="libarchive"
)

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }

if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
	SECONDS_EACH=$1
	shift
fi
[[ $SECONDS_EACH -ge 1 ]] || die "SECONDS must be at least 1"
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -gt 0 ]] || HARNESSES=("${ALL[@]}")
for h in "${HARNESSES[@]}"; do
	[[ -n ${SRCS[$h]+x} ]] || die "unknown harness '$h'; known: ${ALL[*]}"
done
[[ $JOBS =~ ^[0-9]+$ && $JOBS -ge 1 ]] || die "FUZZ_JOBS must be a positive number"

# ---- toolchain ---------------------------------------------------------

command -v "$CLANG" >/dev/null 2>&1 ||
	die "$CLANG not found; install clang (Debian: apt-get install -y clang libclang-rt-14-dev)"
mkdir -p "$OUT"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	> "$probe/p.c"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" \
	> "$probe/log" 2>&1; then
	cat "$probe/log" >&2
	die "$CLANG cannot link -fsanitize=fuzzer (libFuzzer runtime missing); on Debian 12: apt-get install -y libclang-rt-14-dev (or the libclang-rt-N-dev matching 'clang --version')"
fi

# ---- build -------------------------------------------------------------

# shellcheck disable=SC2054   # the commas belong to -fsanitize=
CFLAGS=(-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-Wall -Wextra -Wno-unused-parameter -Isrc/common -Isrc/frontend -Ihelpers -Ifuzz)

build() {
	local h=$1 flags="" pkgflags=()
	if [[ -n ${PKGS[$h]:-} ]]; then
		flags=$(pkg-config --cflags --libs "${PKGS[$h]}") ||
			die "pkg-config ${PKGS[$h]} failed; run 'make deps'"
		read -ra pkgflags <<< "$flags"
	fi
	# shellcheck disable=SC2086
	"$CLANG" "${CFLAGS[@]}" -o "$OUT/fuzz_$h" "fuzz/fuzz_$h.c" ${SRCS[$h]} \
		"${pkgflags[@]}" 2> "$OUT/fuzz_$h.build.log" || {
		cat "$OUT/fuzz_$h.build.log" >&2
		die "building fuzz_$h failed"
	}
}

echo "building ${HARNESSES[*]} into $OUT/ ..."
pids=()
for h in "${HARNESSES[@]}"; do
	build "$h" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || exit 2
done

# ---- run ---------------------------------------------------------------

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cutover-fuzz-run.XXXXXX")
trap 'rm -rf "$probe" "$WORK"' EXIT

run_one() {
	local h=$1
	local corpus=$WORK/corpus/$h crashes=$OUT/crashes/$h
	local dirs=("$corpus") rc=0
	# Crash inputs of an earlier run are stale once this one starts.
	rm -rf "$crashes"
	mkdir -p "$corpus" "$crashes"
	if [[ -d fuzz/corpus/$h ]]; then
		cp -R "fuzz/corpus/$h/." "$corpus/"
	fi
	if [[ -d fuzz/regress/$h ]]; then
		dirs+=("fuzz/regress/$h")
	fi
	# shellcheck disable=SC2086
	"$OUT/fuzz_$h" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
		-timeout=20 -print_final_stats=1 -artifact_prefix="$crashes/" \
		${FUZZ_ARGS:-} "${dirs[@]}" > "$WORK/$h.log" 2>&1 || rc=$?
	echo "$rc" > "$WORK/$h.rc"
	if [[ ${FUZZ_MERGE:-0} == 1 && $rc == 0 ]]; then
		mkdir -p "fuzz/corpus/$h"
		"$OUT/fuzz_$h" -merge=1 "fuzz/corpus/$h" "$corpus" \
			> "$WORK/$h.merge.log" 2>&1 || true
	fi
}

echo "running each for ${SECONDS_EACH}s, $JOBS at a time ..."
running=0
for h in "${HARNESSES[@]}"; do
	if [[ $running -ge $JOBS ]]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$h" &
	running=$((running + 1))
done
wait || true

# ---- report ------------------------------------------------------------

stat_of() { sed -n "s/^stat::$2: *//p" "$WORK/$1.log" | tail -n 1; }

failed=()
printf '\n%-11s %12s %9s %7s %7s %6s  %s\n' harness executions exec/s cov ft corpus result
for h in "${HARNESSES[@]}"; do
	rc=$(cat "$WORK/$h.rc" 2>/dev/null || echo 99)
	execs=$(stat_of "$h" number_of_executed_units)
	rate=$(stat_of "$h" average_exec_per_sec)
	last=$(grep -E '(^|[[:space:]])cov: [0-9]+' "$WORK/$h.log" | tail -n 1 || true)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
	ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<< "$last")
	corp=$(sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p' <<< "$last")
	result=ok
	if [[ $rc != 0 ]]; then
		result="CRASH (exit $rc)"
		failed+=("$h")
	fi
	printf '%-11s %12s %9s %7s %7s %6s  %s\n' "$h" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done

if [[ ${#failed[@]} -gt 0 ]]; then
	for h in "${failed[@]}"; do
		cp "$WORK/$h.log" "$OUT/crashes/$h.log"
		echo
		echo "== fuzz_$h failed; log: $OUT/crashes/$h.log"
		grep -E 'ERROR: |invariant violated|runtime error|SUMMARY|Test unit written' \
			"$WORK/$h.log" | head -n 8 | sed 's/^/   /'
		for f in "$OUT/crashes/$h"/*; do
			[[ -f $f ]] || continue
			echo "   input: $f"
			echo "   reproduce: $OUT/fuzz_$h $f"
			known=""
			for r in "fuzz/regress/$h"/*; do
				if [[ -f $r ]] && cmp -s "$f" "$r"; then
					known=$r
				fi
			done
			if [[ -n $known ]]; then
				echo "   known: the same input is $known, a bug not fixed yet"
			else
				echo "   keep as a regression test: mkdir -p fuzz/regress/$h && cp $f fuzz/regress/$h/"
			fi
		done
	done
	exit 1
fi
[[ ${FUZZ_MERGE:-0} == 1 ]] && echo "merged new inputs into fuzz/corpus/"
exit 0
