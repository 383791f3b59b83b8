# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib.sh: sourced by every integration/test_*.sh.
#
# Gives each test scratch directories under /tmp (removed on exit, even on
# failure), an app source tree and config to deploy, a `cutover` wrapper
# pointing at this tree's build/, and assertions that print what was
# expected and what happened. Assertions do not stop the test: they count
# failures, and the EXIT trap turns any failure into exit status 1. Use
# `fatal` where going on makes no sense.
#
# The EXIT trap also stops every background process the test started and
# fails the test if any process is still running in or on its scratch
# directories (a build step or helper left behind).

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

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$IT_DIR")
CUTOVER_BIN=${CUTOVER_BIN:-$REPO_ROOT/build/cutover}
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
		[[ ${BASH_SOURCE[i]} == "${BASH_SOURCE[0]}" ]] && continue
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

# The binary under test. Arguments as for cutover(1).
cutover()
{
	"$CUTOVER_BIN" "$@"
}

# co [-q|--json...] VERB [ARGS...]: cutover -c $CONF [OPTIONS] VERB $APP
# ARGS... for the current app.
co()
{
	local opts=()

	while [[ ${1:-} == -* ]]; do
		opts+=("$1")
		shift
	done
	"$CUTOVER_BIN" -c "$CONF" "${opts[@]}" "$1" "$APP" "${@:2}"
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

# ---- scratch directories and apps --------------------------------------

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

# app_source DIR TEXT: a small PHP app whose public/index.php prints TEXT.
# Only what git can represent (no empty dirs; modes 0644/0755), so every
# kind of source can carry the same tree.
app_source()
{
	local dir=$1 text=$2

	mkdir -p "$dir/public/css" "$dir/src/Controller" "$dir/bin" || fatal "cannot create $dir"
	printf '<?php echo "%s";\n' "$text" >"$dir/public/index.php"
	printf 'body { color: #333; }\n' >"$dir/public/css/app.css"
	printf '<?php\nnamespace App\\Controller;\nclass Home {}\n' >"$dir/src/Controller/Home.php"
	printf '{ "name": "it/demo", "require": {} }\n' >"$dir/composer.json"
	printf '#!/bin/sh\necho tool\n' >"$dir/bin/tool"
	chmod 0755 "$dir/bin/tool"
	ln -s index.php "$dir/public/home.php"
	ln -s ../src "$dir/public/src-link"
}

# app_config FILE ROOT [BUILD_LINE...]: writes a config (mode 0644, root)
# for an app at ROOT. Each BUILD_LINE goes under [build] as written
# ("run = true" if none). APP_USER, APP_GROUP, APP_KEEP override nobody,
# nogroup, 3. IT_BIND=1 adds mode = bind, live = ROOT/live.
app_config()
{
	local file=$1 root=$2 line

	shift 2
	{
		printf '[app]\n'
		printf 'root = %s\n' "$root"
		printf 'user = %s\n' "${APP_USER:-nobody}"
		printf 'group = %s\n' "${APP_GROUP:-nogroup}"
		printf 'web_group = www-data\n'
		printf 'keep = %s\n' "${APP_KEEP:-3}"
		if [[ ${IT_BIND:-0} == 1 ]]; then
			printf 'mode = bind\n'
			printf 'live = %s/live\n' "$root"
		fi
		printf '[shared]\n'
		printf 'dirs = storage\n'
		printf 'files = .env\n'
		printf '[build]\n'
		if (($# == 0)); then
			printf 'run = true\n'
		fi
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$file" || fatal "cannot write $file"
	chmod 0644 "$file"
}

# app_init [BUILD_LINE...]: a fresh app in a new scratch dir. Sets S (the
# scratch dir), SRC (source tree, index.php prints "v1"), ROOT, CONF and
# APP (default "demo", or $APP if set).
app_init()
{
	scratch_new S
	APP=${APP:-demo}
	SRC=$S/src
	ROOT=$S/root
	CONF=$S/app.conf
	app_source "$SRC" v1
	app_config "$CONF" "$ROOT" "$@"
}

# set_index DIR TEXT: makes DIR's index.php print TEXT.
set_index()
{
	printf '<?php echo "%s";\n' "$2" >"$1/public/index.php"
}

# ---- looking at an app root --------------------------------------------

# current_id [ROOT]: the id current points to ("" if none, or if current
# is not a releases/ID symlink: then the raw readlink with a "!" prefix).
current_id()
{
	local t

	t=$(readlink "${1:-$ROOT}/current" 2>/dev/null) || { printf ''; return; }
	if [[ $t == releases/* ]]; then
		printf '%s' "${t#releases/}"
	else
		printf '!%s' "$t"
	fi
}

# dir_list DIR: the names in DIR, sorted, space-separated.
dir_list()
{
	[[ -d $1 ]] || return 0
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | paste -sd' ' -
}

# sorted WORD...: the words sorted, space-separated.
sorted()
{
	(($# == 0)) && return 0
	printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' ' -
}

# tree_snapshot ROOT: every path under ROOT with its type, mode, owner and
# symlink target; for comparing an app root before and after a failure.
tree_snapshot()
{
	find "$1" -printf '%P %y %m %u:%g %l\n' | LC_ALL=C sort
}

# list_json: `cutover --json list` of the current app, as a compact
# array sorted by id.
list_json()
{
	co --json list | jq -c 'sort_by(.id)'
}

# new_release_id BEFORE: the single entry of releases/ not in the
# space-separated list BEFORE.
new_release_id()
{
	# shellcheck disable=SC2086 # BEFORE is a list of words
	comm -13 <(printf '%s\n' $1 | LC_ALL=C sort) \
		<(find "$ROOT/releases" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)
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

# ---- assertions --------------------------------------------------------

# assert_exit CODE CMD...: runs CMD (see run) and checks its exit code.
assert_exit()
{
	local want=$1

	shift
	run "$@"
	[[ $RC == "$want" ]] && return 0
	fail "expected exit code $want from: $*" "$(it_last_output)"
}

assert_ok()
{
	assert_exit 0 "$@"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq()
{
	[[ $1 == "$2" ]] && return 0
	fail "${3:-values differ}" "expected: '$1'" "actual:   '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne()
{
	[[ $1 != "$2" ]] && return 0
	fail "${3:-values are equal}" "expected anything but: '$1'"
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains()
{
	[[ $1 == *"$2"* ]] && return 0
	fail "${3:-text does not contain: $2}" "expected to contain: '$2'" "actual text:" "$1"
}

# assert_not_contains HAYSTACK NEEDLE WHAT
assert_not_contains()
{
	[[ $1 != *"$2"* ]] && return 0
	fail "${3:-text contains: $2}" "expected not to contain: '$2'" "actual text:" "$1"
}

# assert_match STRING ERE WHAT
assert_match()
{
	[[ $1 =~ $2 ]] && return 0
	fail "${3:-text does not match /$2/}" "expected to match: /$2/" "actual: '$1'"
}

# assert_lt A B WHAT: integers, A < B.
assert_lt()
{
	(($1 < $2)) && return 0
	fail "${3:-$1 is not less than $2}" "expected: $1 < $2"
}

assert_file_absent()
{
	[[ ! -e $1 && ! -L $1 ]] && return 0
	fail "${2:-$1 should not exist}" "found: $(ls -ld "$1" 2>&1)"
}

assert_file_exists()
{
	[[ -e $1 || -L $1 ]] && return 0
	fail "${2:-$1 should exist}" "missing: $1"
}

# assert_file_content FILE TEXT WHAT
assert_file_content()
{
	local got

	got=$(cat "$1" 2>&1) || { fail "${3:-cannot read $1}" "$got"; return 1; }
	assert_eq "$2" "$got" "${3:-content of $1}"
}

assert_dir_empty()
{
	local l

	l=$(dir_list "$1")
	[[ -d $1 && -z $l ]] && return 0
	fail "${2:-$1 should be an empty directory}" "found: '$l'$([[ -d $1 ]] || printf ' (no such directory)')"
}

# assert_error_line CODE: the last run exited CODE, printed nothing on
# stdout, and exactly one "cutover: " line on stderr (the other stderr
# lines are progress).
assert_error_line()
{
	local want=$1 n

	[[ $RC == "$want" ]] || { fail "expected exit code $want" "$(it_last_output)"; return 1; }
	n=$(printf '%s\n' "$ERR" | grep -c '^cutover: ')
	[[ $n == 1 ]] || { fail "expected exactly one 'cutover: ...' line on stderr, got $n" "$(it_last_output)"; return 1; }
	[[ -z $OUT ]] || { fail "expected nothing on stdout" "$(it_last_output)"; return 1; }
}

# assert_usage_error: the last run exited 2 with stderr exactly one
# "cutover: " line and nothing on stdout.
assert_usage_error()
{
	local n

	[[ $RC == 2 ]] || { fail "expected exit code 2" "$(it_last_output)"; return 1; }
	n=$(printf '%s' "$ERR" | grep -c '')
	[[ $n == 1 && $ERR == "cutover: "* ]] ||
		{ fail "expected stderr to be exactly one 'cutover: ...' line, got $n line(s)" "$(it_last_output)"; return 1; }
	[[ -z $OUT ]] || { fail "expected nothing on stdout" "$(it_last_output)"; return 1; }
}

# assert_tree_same SNAPSHOT ROOT WHAT: ROOT looks as when snapshotted.
assert_tree_same()
{
	local now

	now=$(tree_snapshot "$2")
	[[ $1 == "$now" ]] && return 0
	fail "${3:-$2 changed}" "diff (- before, + after):" \
		"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
}

# assert_manifest_ok ROOT ID: the release verifies against its manifest.
assert_manifest_ok()
{
	local out

	out=$(cd "$1/releases/$2" && sha256sum --quiet --strict -c "$1/.cutover/manifest/$2.sha256" 2>&1) &&
		return 0
	fail "release $2 does not match its manifest" "$out"
}

no_procs_on()
{
	[[ -z $(procs_on "$1") ]]
}

# assert_no_procs DIR WHAT [SECONDS]: within SECONDS (default 5), no
# process runs in or on DIR.
assert_no_procs()
{
	local left

	wait_for "${3:-5}" no_procs_on "$1" && return 0
	left=$(procs_on "$1")
	[[ -z $left ]] && return 0
	fail "${2:-processes still running in $1}" "$left"
}

# ---- cleanup -----------------------------------------------------------

# at_exit COMMAND: runs COMMAND (a string, eval'd) when the test exits,
# whatever the reason, after its background processes are stopped.
at_exit()
{
	IT_AT_EXIT+=("$1")
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
	trap - EXIT TERM INT HUP
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

# ---- web stack helpers (fpm tests) ----
#
# For integration/test_fpm_*.sh: a private nginx + php-fpm stack on
# loopback (lib/web.sh) serving ROOT/current/public, releases of the
# bench test app (integration/testapp/make.sh) deployed into ROOT by cutover,
# and build/loadgen counting what visitors saw. Each release is made with
# a label (v1, v2, ...) that the app prints ("a=v1 b=v1 i=v1") and that
# cutover appends to its release id (...-v1); loadgen only knows the
# labels, so the switch log names labels, never cutover's ids.

# shellcheck source=lib/web.sh
. "$IT_DIR/lib/web.sh"
LOADGEN_BIN=${LOADGEN_BIN:-$REPO_ROOT/build/loadgen}
LOAD_SUMMARY=''   # the summary line of the last load_stop

# web_app_init [WEB_OPTION...]: a new scratch dir S holding the app root
# ROOT, the stack's directory WEB (web_start with request_terminate_timeout
# = 10s, so that php-fpm's defaults draw no cutover warning, then the
# options given), the sources SRCS/LABEL, the switch log SWITCH_LOG and the
# config CONF (web_app_config). Sets URL; the stack is stopped at exit.
web_app_init()
{
	local docroot

	[[ -x $LOADGEN_BIN ]] || fatal "$LOADGEN_BIN is missing; run 'make build/loadgen' first"
	scratch_new S
	APP=${APP:-demo}
	ROOT=$S/root WEB=$S/web SRCS=$S/src CONF=$S/app.conf SWITCH_LOG=$S/switch.log
	mkdir -m 0755 "$WEB" "$SRCS" || fatal "cannot create $WEB and $SRCS"
	docroot=$ROOT/current/public
	if [[ ${IT_BIND:-0} == 1 ]]; then
		# As at boot (dist/cutover-mount@.service): cutover mount
		# first, which makes ROOT a shared mount, then php-fpm.
		docroot=$ROOT/live/public
		bind_cleanup_at_exit
		URL=http://127.0.0.1:1
		web_app_config
		run co mount
		[[ $RC == 0 ]] || fatal "cutover mount before the stack starts failed" "$(it_last_output)"
	fi
	at_exit "web_stop $(printf '%q' "$WEB")"
	web_start "$WEB" "$docroot" request_terminate_timeout=10s "$@" ||
		fatal "web_start $* failed" "$(tail -n 5 "$WEB/fpm.log" "$WEB/nginx-error.log" 2>&1)"
	URL=$(web_url "$WEB")
	web_app_config
}

# web_app_config [SECTION.KEY=VALUE...]: (re)writes CONF for the stack in
# WEB: the [fpm] and [health] settings of the fpm tests, each overridden by
# an argument; an empty VALUE leaves the key out. keep is APP_KEEP or 3.
# IT_BIND=1: mode = bind, live = ROOT/live, served from ROOT/live/public.
# shellcheck disable=SC2120 # the tests pass the arguments
web_app_config()
{
	local -A v=(
		[app.keep]=${APP_KEEP:-3}
		[fpm.pid_file]=$WEB/fpm.pid
		[fpm.reload]=graceful
		[fpm.socket]=$WEB/fpm.sock
		[fpm.status_path]=/fpm-status
		[fpm.max_inflight_ms]=500
		[fpm.timeout]=30
		[health.url]=$URL/up
		[health.expect_status]=200
		[health.expect_body]=OK
		[health.retries]=3
		[health.rollback]=yes
		[health.precheck]=yes
	)
	local arg section key

	if [[ ${IT_BIND:-0} == 1 ]]; then
		v[app.mode]=bind
		v[app.live]=$ROOT/live
	fi
	for arg in "$@"; do
		[[ $arg =~ ^(app|fpm|health)\.[a-z_]+= ]] || fatal "web_app_config: '$arg' is not SECTION.KEY=VALUE"
		v[${arg%%=*}]=${arg#*=}
	done
	{
		printf '[app]\nroot = %s\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n' "$ROOT"
		for section in app build fpm health; do
			case $section in
			app) ;;
			build) printf '[build]\nrun = true\n' ;;
			*) printf '[%s]\n' "$section" ;;
			esac
			for key in $(printf '%s\n' "${!v[@]}" | grep "^$section\." | LC_ALL=C sort); do
				[[ -n ${v[$key]} ]] && printf '%s = %s\n' "${key#*.}" "${v[$key]}"
			done
		done
	} >"$CONF" || fatal "cannot write $CONF"
	chmod 0644 "$CONF"
}

# app_version LABEL [MAKE_OPTION...]: the test app's source SRCS/LABEL,
# printing LABEL (integration/testapp/make.sh options: --size N, --slow-ms N).
app_version()
{
	local label=$1 out

	shift
	out=$("$IT_DIR/testapp/make.sh" "$SRCS/$label" "$label" "$@" 2>&1) ||
		fatal "make.sh $label $* failed" "$out"
}

# deploy_version LABEL [CUTOVER_OPTION...]: cutover OPTION... deploy APP
# --from SRCS/LABEL --label LABEL, making the source first if there is
# none (use it under run or assert_exit).
deploy_version()
{
	local label=$1

	shift
	if [[ ! -d $SRCS/$label ]]; then
		"$IT_DIR/testapp/make.sh" "$SRCS/$label" "$label" >/dev/null || return 1
	fi
	co "$@" deploy --from "$SRCS/$label" --label "$label"
}

# release_of LABEL: the id of the release in ROOT/releases labelled LABEL
# ("" if none).
release_of()
{
	find "$ROOT/releases" -mindepth 1 -maxdepth 1 -name "*-$1" -printf '%f\n' 2>/dev/null
}

# served PATH: the body nginx answers for GET PATH.
served()
{
	curl -s --max-time 10 "$URL$1"
}

# switch_logged LABEL: appends "<now ns> LABEL" to SWITCH_LOG: from now on
# every response must come from LABEL.
switch_logged()
{
	printf '%s %s\n' "$(date +%s%N)" "$1" >>"$SWITCH_LOG"
}

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

# fpm_running PATTERN [MIN_MS]: how many php-fpm workers are running a
# request whose URI contains PATTERN (and that has run for MIN_MS or more),
# from the status page.
fpm_running()
{
	web_status "$WEB" 2>/dev/null | awk -v p="$1" -v min="${2:-0}" '
		/^state:/ { running = $2 == "Running" }
		/^request duration:/ { us = $3 }
		/^request URI:/ { if (running && index($3, p) && us >= min * 1000) n++ }
		END { print n + 0 }'
}

# fpm_master_pid: the php-fpm master's pid from WEB/fpm.pid, checked by
# web.sh to be the stack's master.
fpm_master_pid()
{
	web_fpm_pid "$WEB" 2>/dev/null
}

# ---- mode = bind helpers ----
#
# For integration/test_bind_*.sh. They set IT_OWN_MOUNT_NS=1 before
# sourcing this file (see its top: each runs in a private mount namespace
# of its own) and IT_BIND=1, with which app_init and web_app_init
# configure mode = bind, live = ROOT/live.

IT_BIND_CLEANUP=0

# bind_app_init [BUILD_LINE...]: app_init in mode = bind; what it mounts
# is unmounted at exit.
bind_app_init()
{
	IT_BIND=1
	app_init "$@"
	bind_cleanup_at_exit
}

# bind_cleanup_at_exit: at exit, unmounts everything mounted in the
# test's scratch directories (ROOT's bind of itself, live, stacked
# mounts), so that they can be removed.
bind_cleanup_at_exit()
{
	((IT_BIND_CLEANUP)) && return 0
	IT_BIND_CLEANUP=1
	at_exit bind_unmount_scratch
}

bind_unmount_scratch()
{
	local d t i

	for ((i = 0; i < 100; i++)); do
		# The deepest first; at one path, the top first.
		t=$(for d in "${IT_SCRATCH[@]}"; do
			awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' /proc/self/mountinfo
		done | sort -rn | head -n 1 | cut -d' ' -f2-)
		[[ -n $t ]] || return 0
		umount -l -- "$t" || { fail "cannot unmount $t"; return 1; }
	done
}

# live_mounts [PID]: "ID ROOT OPTIONS" of each mount at ROOT/live in the
# mount table of PID's namespace (default: ours), in table order.
live_mounts()
{
	awk -v t="$ROOT/live" '$5 == t { print $1, $4, $6 }' "/proc/${1:-self}/mountinfo"
}

# assert_live ID WHAT [PID]: exactly one mount at ROOT/live (in PID's
# namespace), its root releases/ID, read-only, nosuid, nodev.
assert_live()
{
	local id=$1 what=$2 lines n mid root opts

	lines=$(live_mounts "${3:-self}")
	n=$(printf '%s' "$lines" | grep -c '')
	if [[ $n != 1 ]]; then
		fail "$what: expected exactly one mount at $ROOT/live, found $n" "$lines"
		return 1
	fi
	read -r mid root opts <<<"$lines"
	if [[ $root != */releases/"$id" ]]; then
		fail "$what: $ROOT/live shows $root, not releases/$id" "mount $mid: $root $opts"
		return 1
	fi
	[[ ,$opts, == *,ro,* && ,$opts, == *,nosuid,* && ,$opts, == *,nodev,* ]] && return 0
	fail "$what: $ROOT/live is mounted $opts, not ro, nosuid, nodev"
}

# assert_erofs PATH WHAT: creating PATH fails with EROFS (as root).
assert_erofs()
{
	local out

	if out=$(touch -- "$1" 2>&1); then
		rm -f -- "$1"
		fail "$2: $1 could be created"
		return 1
	fi
	assert_contains "$out" "Read-only file system" "$2: creating $1"
}

# as_web CMD...: CMD as www-data (the web server's user and group).
as_web()
{
	setpriv --reuid=www-data --regid=www-data --clear-groups -- "$@"
}

# ---- sudo and hostile helpers ----
#
# For integration/hostile/test_*.sh: cutover driven the way CI drives it,
# as the unprivileged user cutover-ci through a real sudo rule, for apps
# configured in /etc/cutover (cutover refuses -c under sudo), and what the
# hostile cases check after each refusal. Whatever a test creates on the
# host outside its scratch directories (the CI user, a sudoers include,
# files in /etc/cutover and the directory itself, secret files) is undone
# at exit, in reverse order, by the test that created it, even when the
# test fails. Nothing that existed before is changed.

CI_USER=cutover-ci
CI_CWD=/              # the cwd of ci_sudo (a relative --from is read there)
HOSTILE_UNDO=()       # commands run at exit, last first
declare -A HOSTILE_OWNED=()   # files outside the scratch dirs this test made
HOSTILE_TOOLS=        # where tool_build puts its binaries
GOOD_ID=''            # the known-good release hostile_app_init deployed
SUDO_RULE=''          # the sudoers include sudo_rule_install wrote last
SUDO_RULE_BASE='' SUDO_RULE_SEQ=0
SERVING=''            # what current/public/index.php must hold

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

# random_hex N: N random lowercase hex digits.
random_hex()
{
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"
}

# hostile_lock: one hostile test at a time on this machine (two suites
# running at once would share CI_USER and /etc/cutover, and the first to
# finish would delete them under the other). The lock is a flock on
# /etc/sudoers.d itself, so it leaves no file behind; it goes with the test.
hostile_lock()
{
	[[ -n ${HOSTILE_LOCK_FD:-} ]] && return 0
	exec {HOSTILE_LOCK_FD}</etc/sudoers.d || fatal "cannot open /etc/sudoers.d"
	flock -w 90 "$HOSTILE_LOCK_FD" ||
		fatal "another hostile test has been running on this machine for 90 s; run one suite at a time"
}

# ci_user_ensure: the CI user exists; created if missing (a system user
# without home or shell) and then deleted at exit.
ci_user_ensure()
{
	command -v sudo >/dev/null || fatal "sudo is not installed (.ci/deps.sh installs it)"
	hostile_lock
	id -u "$CI_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --shell /usr/sbin/nologin "$CI_USER" ||
		fatal "cannot create the user $CI_USER"
	# With the user go sudo's records of it (timestamp file).
	undo_push "userdel $CI_USER >/dev/null 2>&1 || echo 'cannot delete the user $CI_USER' >&2
		rm -f /run/sudo/ts/$CI_USER /var/lib/sudo/lectured/$CI_USER"
}

# etc_dir_ensure: /etc/cutover exists (root, 0755); if this test created
# it, it is removed at exit (once empty again).
etc_dir_ensure()
{
	[[ -d /etc/cutover ]] && return 0
	mkdir -m 0755 /etc/cutover || fatal "cannot create /etc/cutover"
	undo_push "rmdir /etc/cutover 2>/dev/null || echo '/etc/cutover is not empty; left in place' >&2"
}

# etc_file_owned PATH: removes PATH at exit (a file this test created
# outside its scratch directories).
etc_file_owned()
{
	undo_push "rm -f -- $(printf '%q' "$1")"
}

# app_name_new: a fresh app name ("it-" and 8 hex digits).
app_name_new()
{
	printf 'it-%s' "$(random_hex 8)"
}

# etc_conf_write APP ROOT [BUILD_LINE...]: /etc/cutover/APP.conf (root,
# 0644) as app_config writes it (again, if this test wrote it before);
# removed at exit.
etc_conf_write()
{
	local f=/etc/cutover/$1.conf

	shift
	etc_dir_ensure
	if [[ -z ${HOSTILE_OWNED[$f]:-} ]]; then
		[[ -e $f || -L $f ]] && fatal "$f exists already; not touching it"
		HOSTILE_OWNED[$f]=1
		etc_file_owned "$f"
	fi
	rm -f -- "$f"
	app_config "$f" "$@"
	chown root:root "$f"
}

# sudo_rule_install [--any] [--setenv] APP...: a sudoers include
# /etc/sudoers.d/cutover-it-RANDOM-NN (0440, checked with visudo -cf before
# it is installed; removed at exit) that lets CI_USER run CUTOVER_BIN,
# pinned by its sha256 so that the rule is worthless for any other file,
# as root without a password: the verbs of dist/sudoers.example for
# each APP (deploy, stage, switch, rollback, prune with any arguments;
# status, list, check). --any: the binary with any arguments, for the
# cases that test cutover's own refusals of what a careless rule lets
# through. --setenv: SETENV, and env_keep of the variables of case 5.
sudo_rule_install()
{
	local any=0 setenv=0 app digest alias file tmp cmds=() c tag='NOPASSWD:'

	while [[ ${1:-} == --* ]]; do
		case $1 in
		--any) any=1 ;;
		--setenv) setenv=1 ;;
		*) fatal "sudo_rule_install: unknown option $1" ;;
		esac
		shift
	done
	digest=$(sha256sum <"$CUTOVER_BIN" | cut -d' ' -f1) || fatal "cannot hash $CUTOVER_BIN"
	c="sha256:$digest $CUTOVER_BIN"
	if ((any)); then
		cmds+=("$c")
	fi
	for app in "$@"; do
		cmds+=("$c deploy $app *" "$c stage $app *" "$c switch $app *" "$c rollback $app"
			"$c rollback $app *" "$c prune $app" "$c prune $app *" "$c status $app"
			"$c list $app" "$c check $app")
	done
	((${#cmds[@]} > 0)) || fatal "sudo_rule_install: no app and no --any"
	alias=CUTOVER_IT_$(random_hex 8 | tr a-f A-F)
	# sudo reads sudoers.d in name order and the last matching rule wins:
	# a test's later rules sort after its earlier ones.
	[[ -n $SUDO_RULE_BASE ]] || SUDO_RULE_BASE=/etc/sudoers.d/cutover-it-$(random_hex 10)
	SUDO_RULE_SEQ=$((SUDO_RULE_SEQ + 1))
	file=$SUDO_RULE_BASE-$(printf '%02d' "$SUDO_RULE_SEQ")
	tmp=$IT_TMP/sudoers.$$
	((setenv)) && tag='NOPASSWD:SETENV:'
	{
		printf '# %s: written by integration/hostile/%s; removed when it ends\n' "${file##*/}" "$IT_NAME"
		if ((setenv)); then
			printf 'Defaults:%s env_keep += "LD_PRELOAD LD_AUDIT GLIBC_TUNABLES LIBMOUNT_FSTAB LIBMOUNT_DEBUG PATH BASH_ENV IFS"\n' "$CI_USER"
		fi
		printf 'Cmnd_Alias %s = ' "$alias"
		for ((c = 0; c < ${#cmds[@]}; c++)); do
			((c > 0)) && printf ', \\\n\t'
			printf '%s' "${cmds[c]}"
		done
		printf '\n%s ALL=(root) %s %s\n' "$CI_USER" "$tag" "$alias"
	} >"$tmp"
	visudo -cqf "$tmp" >/dev/null || fatal "visudo rejects the rule written for the test" "$(cat "$tmp")" "$(visudo -cf "$tmp" 2>&1)"
	[[ -e $file ]] && fatal "$file exists already"
	install -m 0440 -o root -g root "$tmp" "$file" || fatal "cannot install $file"
	undo_push "rm -f -- $(printf '%q' "$file")"
	rm -f "$tmp"
	# The whole policy must still parse, or sudo would stop working for
	# everyone on this machine.
	if ! visudo -cq >/dev/null 2>&1; then
		rm -f -- "$file"
		fatal "sudoers does not parse with $file; removed it again" "$(visudo -c 2>&1 | tail -n 3)"
	fi
	SUDO_RULE=$file
}

# ci_sudo ARG...: `sudo -n -u root ARG...` run as CI_USER (its uid, gid and
# groups; no PAM session), in CI_CWD.
ci_sudo()
{
	(cd "$CI_CWD" && exec setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
		sudo -n -u root "$@")
}

# ci_cutover ARG...: cutover ARG... through sudo as CI_USER.
ci_cutover()
{
	ci_sudo "$CUTOVER_BIN" "$@"
}

# hostile_app_prepare [BUILD_LINE...]: a new app for the hostile cases:
# the CI user, a scratch dir S with the source SRC (index.php prints "v1",
# readable by everyone), the app root ROOT, the config CONF =
# /etc/cutover/APP.conf (APP = it-XXXXXXXX) and a sudo rule for it.
hostile_app_prepare()
{
	ci_user_ensure
	etc_dir_ensure
	scratch_new S
	APP=$(app_name_new)
	SRC=$S/src ROOT=$S/root CONF=/etc/cutover/$APP.conf
	app_source "$SRC" v1
	chmod -R a+rX "$SRC"
	etc_conf_write "$APP" "$ROOT" "$@"
	sudo_rule_install "$APP"
}

# hostile_app_init [BUILD_LINE...]: hostile_app_prepare, then a known-good
# release of SRC deployed through sudo: GOOD_ID is current and SERVING what
# its index.php holds.
hostile_app_init()
{
	hostile_app_prepare "$@"
	hostile_deploy_good
}

# hostile_deploy_good: deploys SRC through sudo as the known-good release.
hostile_deploy_good()
{
	chmod -R a+rX "$SRC"
	run ci_cutover deploy "$APP" --from "$SRC"
	[[ $RC == 0 ]] || fatal "the known-good deploy through sudo failed" "$(it_last_output)"
	GOOD_ID=$(current_id)
	SERVING='<?php echo "v1";'
	assert_file_content "$ROOT/current/public/index.php" "$SERVING" "the known-good release"
}

# mount_points: the host's mount points, sorted, one line.
mount_points()
{
	awk '{ print $5 }' /proc/self/mountinfo | LC_ALL=C sort | paste -sd' ' -
}

# app_state [ROOT]: what a refused or failed run must leave as it was:
# current and the bytes it serves, releases/, the staging, state, trash,
# failed, manifest and log directories, the history's length, stray
# .current.new, the top of ROOT, and the host's mount points.
app_state()
{
	local r=${1:-$ROOT} d

	printf 'current -> %s\n' "$(readlink "$r/current" 2>&1)"
	printf 'serves %s\n' "$(sha256sum <"$r/current/public/index.php" 2>&1 | cut -c1-16)"
	printf 'ROOT: %s\n' "$(dir_list "$r")"
	for d in releases .cutover .cutover/staging .cutover/state .cutover/trash .cutover/failed \
		.cutover/manifest .cutover/logs; do
		printf '%s: %s\n' "$d" "$(dir_list "$r/$d")"
	done
	printf 'history lines: %s\n' "$(grep -c '' "$r/.cutover/history.jsonl" 2>/dev/null)"
	printf 'mounts: %s\n' "$(mount_points)"
}

# assert_app_unchanged BEFORE WHAT: app_state is still BEFORE, and
# current still serves SERVING.
assert_app_unchanged()
{
	local now

	now=$(app_state "$ROOT")
	if [[ $1 != "$now" ]]; then
		fail "$2: the app root or the mounts changed" "diff (- before, + after):" \
			"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
		return 1
	fi
	assert_file_content "$ROOT/current/public/index.php" "$SERVING" "$2: what current serves"
}

# assert_serving_php WHAT: php executes current/public/index.php and
# prints what the known-good release prints.
assert_serving_php()
{
	local got

	command -v php >/dev/null || return 0
	got=$(php "$ROOT/current/public/index.php" 2>&1)
	assert_eq "${SERVING_OUTPUT:-v1}" "$got" "$1: php runs current/public/index.php"
}

# assert_refused CODE NEEDLE WHAT: the last run was refused by cutover
# itself (not by sudo) with exit code CODE: nothing on stdout, exactly one
# "cutover: " line on stderr, containing NEEDLE (if not empty); for exit
# code 2 that is all of stderr; no control characters but newlines
# anywhere on stderr; no "sudo:" line.
assert_refused()
{
	local want=$1 needle=$2 what=$3 n line

	if [[ $RC != "$want" ]]; then
		fail "$what: expected exit code $want" "$(it_last_output)"
		return 1
	fi
	if printf '%s\n' "$ERR" | grep -q '^sudo:'; then
		fail "$what: sudo refused, cutover never ran (the test's sudo rule is wrong)" "$(it_last_output)"
		return 1
	fi
	n=$(printf '%s\n' "$ERR" | grep -c '^cutover: ')
	if [[ $n != 1 ]]; then
		fail "$what: expected exactly one 'cutover: ' line on stderr, got $n" "$(it_last_output)"
		return 1
	fi
	if [[ $want == 2 && $(printf '%s' "$ERR" | grep -c '') != 1 ]]; then
		fail "$what: a usage or configuration error must be one line on stderr" "$(it_last_output)"
		return 1
	fi
	if LC_ALL=C grep -q '[[:cntrl:]]' <<<"$(printf '%s' "$ERR" | tr -d '\n')"; then
		fail "$what: raw control characters on stderr" "$(printf '%s' "$ERR" | od -c | head -n 20)"
		return 1
	fi
	[[ -z $OUT ]] || { fail "$what: expected nothing on stdout" "$(it_last_output)"; return 1; }
	line=$(printf '%s\n' "$ERR" | grep '^cutover: ')
	[[ ${IT_VERBOSE:-0} == 1 ]] && printf '   (exit %s) %s\n' "$RC" "$line"
	[[ -z $needle || $line == *"$needle"* ]] ||
		{ fail "$what: the message does not say '$needle'" "message: $line"; return 1; }
	return 0
}

# secret_new VAR: a unique marker string for "no byte of it may leak".
secret_new()
{
	printf -v "$1" 'cutover-it-secret-%s' "$(random_hex 16)"
}

# assert_no_secret SECRET WHAT [DIR...]: SECRET appears in no file under
# ROOT (releases, shared, .cutover/logs, everything) or the DIRs, nor in
# the last run's output. Directories named SECRET_HOME (where a test keeps
# the secret itself) are not searched.
assert_no_secret()
{
	local secret=$1 what=$2 hits

	shift 2
	hits=$(grep -rlaF --exclude-dir="${SECRET_HOME:-/}" -- "$secret" "$ROOT" "$@" 2>/dev/null)
	[[ -z $hits ]] || fail "$what: the secret leaked into files" "$hits"
	[[ $OUT$ERR != *"$secret"* ]] || fail "$what: the secret appears in cutover's output" "$(it_last_output)"
}

# tool_build NAME [GCC_ARG...]: compiles integration/tools/NAME.c into
# HOSTILE_TOOLS (a scratch dir, made on first use); sets TOOL to the
# binary. NAME.so for a shared library.
tool_build()
{
	local name=$1 src out err

	shift
	command -v gcc >/dev/null || fatal "gcc is missing (.ci/deps.sh installs build-essential)"
	if [[ -z $HOSTILE_TOOLS ]]; then
		scratch_new HOSTILE_TOOLS
	fi
	src=$IT_DIR/tools/${name%.so}.c
	out=$HOSTILE_TOOLS/$name
	if [[ $name == *.so ]]; then
		err=$(gcc -O2 -Wall -shared -fPIC "$@" -o "$out" "$src" 2>&1)
	else
		err=$(gcc -O2 -Wall "$@" -o "$out" "$src" 2>&1)
	fi
	[[ $? == 0 && -x $out ]] || fatal "cannot compile $src" "$err"
	chmod 0755 "$out"
	TOOL=$out
}

# cutover_procs: "PID PPID UID NAME" of every running process of the
# binaries under test (front end, source reader, helper, sandbox init).
cutover_procs()
{
	local exe bindir

	bindir=$(dirname "$CUTOVER_BIN")
	# One find, not a readlink per process: this runs in polling loops.
	find /proc/[0-9]*/exe -maxdepth 0 \( -lname "$bindir/cutover" -o -lname "$bindir/cutover-helper" \) \
		-printf '%h %l\n' 2>/dev/null |
		while read -r exe name; do
			awk -v pid="${exe#/proc/}" -v name="${name##*/}" '
				$1 == "PPid:" { pp = $2 } $1 == "Uid:" { u = $2 }
				END { if (pp != "") print pid, pp, u, name }' "$exe/status" 2>/dev/null
		done
}

no_cutover_procs()
{
	[[ -z $(cutover_procs) ]]
}

# procs_in_root: "PID CWD" of processes working in ROOT (a build step's,
# whose cwd is its release; also as seen from its own mount namespace).
procs_in_root()
{
	find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$ROOT" -o -lname "$ROOT/*" \) -printf '%h %l\n' 2>/dev/null
}

no_procs_in_root()
{
	[[ -z $(procs_in_root) ]]
}

# assert_no_cutover_procs WHAT [SECONDS]: within SECONDS (default 5), no
# process of cutover's binaries and none working in ROOT is left.
assert_no_cutover_procs()
{
	wait_for "${2:-5}" no_cutover_procs ||
		fail "$1: cutover processes left running" "$(cutover_procs)"
	wait_for "${2:-5}" no_procs_in_root ||
		fail "$1: processes left working in $ROOT" "$(procs_in_root)"
}

# status_field PID FIELD: FIELD's value in /proc/PID/status.
status_field()
{
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status" 2>/dev/null
}

# staging_started FILE: some build step of ROOT created FILE in its
# release (seen from the host in .cutover/staging).
staging_started()
{
	compgen -G "$ROOT/.cutover/staging/*/$1" >/dev/null
}

# mktar_build OUT SPEC [FILTER...]: the tar stream integration/tools/mktar
# makes from SPEC (its lines, see mktar.c), piped through FILTER (e.g.
# zstd -q -c), written to OUT (0644).
mktar_build()
{
	local out=$1 spec=$2

	shift 2
	[[ -n ${MKTAR:-} ]] || { tool_build mktar; MKTAR=$TOOL; }
	(($# > 0)) || set -- cat
	printf '%s\n' "$spec" | "$MKTAR" | "$@" >"$out" || fatal "mktar | $* failed"
	chmod 0644 "$out"
}

# ---- laravel helpers ----
#
# For integration/test_laravel_*.sh: the bundled Laravel 8 app
# (examples/laravel, on Debian's php-laravel-framework) deployed by
# cutover with preset = laravel into ROOT and served by the stack of the
# fpm tests (lib/web.sh, with the PHP extensions the app needs: its
# php.ini is its own). Set up as examples/demo.sh does it: before the
# first deploy the administrator prepares the shared .env (config:cache
# bakes it in at build time) and the SQLite database DB in ROOT/shared/db,
# writable by the deploy user (migrations) and the web group (the app).

LARAVEL_EXAMPLE=$REPO_ROOT/examples/laravel
LARAVEL_PHP_EXTENSIONS='ctype mbstring intl tokenizer pdo pdo_sqlite'
HTTP_STATUS='' HTTP_BODY='' HTTP_LOCATION=''   # set by http_request

# laravel_app_init [WEB_OPTION...]: a new scratch dir S holding the app
# root ROOT (with the shared .env and database DB prepared), the stack's
# directory WEB (started as the demo starts it, then the options given),
# the sources SRCS/LABEL, the switch log SWITCH_LOG, the cookie jars'
# directory JARS and the config CONF (laravel_config). APP is "shop"
# unless set. Sets URL; the stack is stopped at exit.
laravel_app_init()
{
	local extra

	[[ -f /usr/share/php/Illuminate/autoload.php ]] ||
		fatal "Debian's php-laravel-framework is missing; run 'bash .ci/deps.sh'"
	[[ -x $LOADGEN_BIN ]] || fatal "$LOADGEN_BIN is missing; run 'make build/loadgen' first"
	scratch_new S
	APP=${APP:-shop}
	ROOT=$S/root WEB=$S/web SRCS=$S/src CONF=$S/app.conf SWITCH_LOG=$S/switch.log JARS=$S/jars
	DB=$ROOT/shared/db/database.sqlite
	mkdir -m 0755 "$WEB" "$SRCS" "$JARS" || fatal "cannot create $WEB, $SRCS and $JARS"
	laravel_shared_prepare
	at_exit "web_stop $(printf '%q' "$WEB")"
	# shellcheck disable=SC2086 # a list of words
	extra=$(printf 'extension=%s\n' $LARAVEL_PHP_EXTENSIONS)
	WEB_PHP_INI_EXTRA=$extra web_start "$WEB" "$ROOT/current/public" process_control_timeout=10s \
		request_terminate_timeout=10s pm=static children=6 "$@" ||
		fatal "web_start $* failed" "$(tail -n 5 "$WEB/fpm.log" "$WEB/nginx-error.log" 2>&1)"
	URL=$(web_url "$WEB")
	laravel_config
}

# laravel_shared_prepare: what the administrator prepares once, as in
# examples/demo.sh: ROOT/shared/.env from the app's .env.example (the
# database DB, APP_URL on loopback) and an empty SQLite database in
# ROOT/shared/db, owned by nobody:www-data.
laravel_shared_prepare()
{
	mkdir -p "$ROOT/shared/db" || fatal "cannot create $ROOT/shared/db"
	sed -e "s#^DB_DATABASE=.*#DB_DATABASE=$DB#" -e "s#^APP_URL=.*#APP_URL=http://127.0.0.1#" \
		"$LARAVEL_EXAMPLE/app-v1/.env.example" >"$ROOT/shared/.env" || fatal "cannot write the shared .env"
	touch "$DB"
	chown nobody:www-data "$ROOT/shared/.env" "$ROOT/shared/db" "$DB" || fatal "cannot chown the shared files"
	chmod 0640 "$ROOT/shared/.env"
	chmod 2770 "$ROOT/shared/db"
	chmod 0660 "$DB"
}

# laravel_config [LINE...]: (re)writes CONF as examples/demo.sh does
# (preset = laravel; [fpm] and [health] for the stack in WEB; precheck
# LARAVEL_PRECHECK or yes, keep APP_KEEP or 4), then each LINE as written
# ("[hooks]", "after_switch = ...", "[migrate]", ...).
laravel_config()
{
	{
		printf '[app]\nroot = %s\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n' "$ROOT"
		printf 'preset = laravel\nkeep = %s\n' "${APP_KEEP:-4}"
		printf '[fpm]\npid_file = %s\nsocket = %s\nstatus_path = /fpm-status\n' "$WEB/fpm.pid" "$WEB/fpm.sock"
		printf '[health]\nurl = %s/up\nexpect_body = OK\nretries = 2\nprecheck = %s\n' \
			"$URL" "${LARAVEL_PRECHECK:-yes}"
		if (($# > 0)); then
			printf '%s\n' "$@"
		fi
	} >"$CONF" || fatal "cannot write $CONF"
	chmod 0644 "$CONF"
}

# laravel_version LABEL [VERSION]: the source of VERSION (default LABEL)
# of the example app (make-release.sh) in SRCS/LABEL.
laravel_version()
{
	local out

	out=$("$LARAVEL_EXAMPLE/make-release.sh" "${2:-$1}" "$SRCS/$1" 2>&1) ||
		fatal "make-release.sh ${2:-$1} failed" "$out"
}

# laravel_deploy LABEL [DEPLOY_ARG...]: cutover deploy APP --from
# SRCS/LABEL --label LABEL DEPLOY_ARG... (use it under run or
# assert_exit); makes the source first (VERSION = LABEL) if there is none.
laravel_deploy()
{
	local label=$1

	shift
	if [[ ! -d $SRCS/$label ]]; then
		"$LARAVEL_EXAMPLE/make-release.sh" "$label" "$SRCS/$label" >/dev/null || return 1
	fi
	co deploy --from "$SRCS/$label" --label "$label" "$@"
}

# db_query SQL: the rows SQL returns from DB, one a line, columns joined
# by "|". The database is opened read-only, so that root leaves no file
# (journal) behind in ROOT/shared/db.
db_query()
{
	local load=()

	php -r 'exit(extension_loaded("pdo_sqlite") ? 0 : 1);' 2>/dev/null || load=(-d extension=pdo_sqlite)
	php "${load[@]}" -r '
		$db = new PDO("sqlite:" . $argv[1], null, null,
			[PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::SQLITE_ATTR_OPEN_FLAGS => PDO::SQLITE_OPEN_READONLY]);
		foreach ($db->query($argv[2], PDO::FETCH_NUM) as $row)
			echo implode("|", $row), "\n";' -- "$DB" "$1" 2>&1
}

# db_columns TABLE: TABLE's column names in DB, space-separated.
db_columns()
{
	db_query "SELECT name FROM pragma_table_info('$1') ORDER BY cid" | paste -sd' ' -
}

# db_migrations: the migrations recorded in DB, space-separated.
db_migrations()
{
	db_query 'SELECT migration FROM migrations ORDER BY id' | paste -sd' ' -
}

# http_request METHOD PATH [JAR [NAME=VALUE...]]: one request to URL PATH
# with curl, keeping cookies in JARS/JAR (if JAR is given), the pairs
# form-encoded as the body; sets HTTP_STATUS ("000" if none),
# HTTP_BODY and HTTP_LOCATION (a redirect's target).
http_request()
{
	local method=$1 path=$2 jar=${3:-} pair args=() out

	shift 3 2>/dev/null || shift $#
	[[ -n $jar ]] && args+=(-b "$JARS/$jar" -c "$JARS/$jar")
	for pair in "$@"; do
		args+=(--data-urlencode "$pair")
	done
	out=$(curl -s --max-time 10 -X "$method" -o "$IT_TMP/http.body" \
		-w '%{http_code} %{redirect_url}' "${args[@]}" "$URL$path")
	HTTP_STATUS=${out%% *}
	HTTP_LOCATION=${out#* }
	HTTP_BODY=$(cat "$IT_TMP/http.body" 2>/dev/null)
	rm -f "$IT_TMP/http.body"
}

# csrf_token: the value of the form's _token field in HTTP_BODY.
csrf_token()
{
	sed -n 's/.*name="_token" value="\([^"]*\)".*/\1/p' <<<"$HTTP_BODY" | head -n 1
}

# page_version: what GET / says in <p id="version"> ("version: v1").
page_version()
{
	curl -s --max-time 10 "$URL/" | sed -n 's/.*id="version">\([^<]*\)<.*/\1/p'
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

# ---- git repositories for tests ----

# git_scratch_dir VAR: a scratch directory for a git+file:// repository.
# git runs in the build sandbox, whose /tmp, /var/tmp and /dev/shm are
# private, so the repository must live elsewhere: /srv (Debian has it),
# else /var/lib. Removed on exit like the other scratch directories.
git_scratch_dir()
{
	local base d

	for base in /srv /var/lib; do
		[[ -d $base ]] || continue
		d=$(mktemp -d "$base/cutover-it-git.XXXXXXXX") || continue
		chmod 755 "$d"
		IT_SCRATCH+=("$d")
		printf -v "$1" '%s' "$d"
		return 0
	done
	fatal "no directory outside /tmp for a git repository"
}
