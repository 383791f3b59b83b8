# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/load.sh: load on the web stack from loadgen, the load
# generator that make builds into $BUILD/loadgen, in the background, and
# what its summary must show.

LOADGEN_BIN=${LOADGEN_BIN:-$IT_BUILD/loadgen}
LOAD_SUMMARY=''   # the summary line of the last load_stop

# load_start VAR PATH [LOADGEN_OPTION...]: starts loadgen on URL PATH in
# the background (see bg) and stores its pid in VAR. Without --duration it
# runs until load_stop (at most 90 s).
load_start()
{
	local var=$1 path=$2

	shift 2
	[[ " $* " == *" --duration "* ]] || set -- --duration 90 "$@"
	bg "$var" "$LOADGEN_BIN" --url "$URL$path" "$@"
}

# load_stop PID: SIGINT (stop sending, finish what is in flight), then
# waits for loadgen; sets LOAD_SUMMARY, and OUT, ERR, RC as bg_wait.
load_stop()
{
	kill -INT "$1" 2>/dev/null
	load_wait "$1"
}

# load_wait PID: waits for a loadgen that stops by itself; as load_stop.
load_wait()
{
	bg_wait "$1"
	LOAD_SUMMARY=$(printf '%s\n' "$OUT" | tail -n 1)
}

# load_key KEY: KEY's value in LOAD_SUMMARY.
load_key()
{
	printf '%s\n' "$LOAD_SUMMARY" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# assert_load_clean WHAT: the last loadgen run had requests, all of them
# 2xx, and no socket error, torn, unparsed or stale response.
assert_load_clean()
{
	local key bad=()

	if [[ $LOAD_SUMMARY != "summary "* ]]; then
		fail "$1: loadgen printed no summary (exit code $RC)" "$ERR"
		return 1
	fi
	[[ $(load_key ok) =~ ^[1-9] ]] || bad+=("ok=$(load_key ok)")
	for key in non2xx errors torn unparsed stale; do
		[[ $(load_key "$key") == 0 ]] || bad+=("$key=$(load_key "$key")")
	done
	((${#bad[@]} == 0)) && return 0
	fail "$1: loadgen saw ${bad[*]}" "$(printf '%s\n' "$OUT" | tail -n 40)" "$ERR"
}

# assert_load_served WHAT: the last loadgen run on a page that does not
# print "a=... b=..." (so unparsed is expected): requests, all of them
# 2xx, no socket error.
assert_load_served()
{
	local key bad=()

	if [[ $LOAD_SUMMARY != "summary "* ]]; then
		fail "$1: loadgen printed no summary (exit code $RC)" "$ERR"
		return 1
	fi
	[[ $(load_key ok) =~ ^[1-9] ]] || bad+=("ok=$(load_key ok)")
	for key in non2xx errors; do
		[[ $(load_key "$key") == 0 ]] || bad+=("$key=$(load_key "$key")")
	done
	((${#bad[@]} == 0)) && return 0
	fail "$1: loadgen saw ${bad[*]}" "$(printf '%s\n' "$OUT" | tail -n 40)" "$ERR"
}
