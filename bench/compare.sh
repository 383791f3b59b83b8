#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/compare.sh: the ways of replacing a PHP release on a live server,
# measured in one run on one machine under the same load, so that the
# numbers in docs/ZERO-DOWNTIME.md can be reproduced and compared.
#
#   bench/compare.sh            full run, 10 switches per method (~8 min)
#   QUICK=1 bench/compare.sh    smoke run, 2 switches per method (~2 min)
#
# As root itself (a root shell, `sudo -i`), not through `sudo CMD`: the
# script runs cutover with `-c` and its own configuration files, which
# cutover accepts only from root, never through sudo.
#
# Every method gets a fresh private nginx + php-fpm stack (integration/lib/web.sh) on
# 127.0.0.1, a fresh root, and the same open-loop load: loadgen with 16
# keep-alive connections sending RATE requests/s to the test app's `/`
# (20 ms a request). Open-loop, so a method that answers fast with errors
# (a 503 takes 1 ms) is not handed ten times the requests of the others.
#
#   steady  no switch at all: the latency baseline
#   a       maintenance mode: a flag file makes index.php answer 503 while
#           the new code is copied in place during a simulated 5 s build,
#           then php-fpm is reloaded and the flag removed (`artisan down`,
#           `git pull`, `artisan up`)
#   b       the new files copied over the live docroot while it serves
#           ($document_root, opcache.validate_timestamps=1, PHP's default
#           revalidate_freq=2: how a copy deploy makes new code visible)
#   c       `current` replaced by unlink + symlink (the non-atomic classic)
#   c2      `ln -sfn` as this machine's coreutils does it
#   d       atomic `mv -T` of a new symlink over `current`, no reload
#           ($document_root)
#   e       atomic swap, $realpath_root, raw SIGUSR2 with
#           process_control_timeout = 0
#   g       atomic swap, $realpath_root, raw SIGUSR2 with
#           process_control_timeout = 10s (the plain graceful reload)
#   f       `cutover deploy` ($realpath_root, process_control_timeout = 10s)
#   h       `cutover rollback` and `cutover switch`, alternating
#   f2      `cutover deploy` with $document_root, which is what Apache's
#           mod_proxy_fcgi passes (it does not resolve the symlink)
#
# Then: the medians of cutover's deploy, switch and rollback durations; the
# OPcache overflow demo (`reload = none` against `reload = graceful` with
# opcache.memory_consumption=64 and releases of ~21 MB of OPcache each); and
# `reload = opcache-reset` under constant load, with and without a long
# request in flight, against a graceful reload.
#
# Output: progress and every loadgen summary line as they come, then the
# markdown tables. OUT=DIR keeps the logs (loadgen timelines, cutover JSON,
# fpm logs); everything else lives in one scratch directory that is removed
# on exit, after every process this script started has been stopped.
#
# The machine is shared: latencies, and the counts of failures that depend
# on timing, move between runs. Read the numbers as orders of magnitude.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# The web stack of the integration tests (functions only).
# shellcheck source=integration/lib/web.sh
source "$top/integration/lib/web.sh"

QUICK=${QUICK:-0}
case ${1:-} in
"") ;;
--quick) QUICK=1 ;;
*) echo "usage: [QUICK=1] [OUT=DIR] [ONLY=methods,cutover,opcache,reset] bench/compare.sh [--quick]" >&2; exit 2 ;;
esac
if [[ $QUICK == 1 ]]; then
	SWITCHES=${SWITCHES:-2}
	SLOT_MS=${SLOT_MS:-1000}
	LEAD_MS=1000
	TAIL_MS=1500
	OPS=${OPS:-2}
	OPCACHE_DEPLOYS=${OPCACHE_DEPLOYS:-4}
	WINDOW_S=${WINDOW_S:-1}
	LONG_MS=${LONG_MS:-3000}
else
	SWITCHES=${SWITCHES:-10}
	SLOT_MS=${SLOT_MS:-2000}
	LEAD_MS=2000
	TAIL_MS=2000
	OPS=${OPS:-10}
	OPCACHE_DEPLOYS=${OPCACHE_DEPLOYS:-6}
	WINDOW_S=${WINDOW_S:-3}
	LONG_MS=${LONG_MS:-6000}    # the long request of the opcache-reset runs
fi
CONNECTIONS=${CONNECTIONS:-16}
RATE=${RATE:-300}
BUILD_MS=${BUILD_MS:-5000}          # maintenance mode: how long the site is down
OP_SLOT_MS=${OP_SLOT_MS:-1500}      # h: one rollback or switch every OP_SLOT_MS
OPCACHE_SIZE=${OPCACHE_SIZE:-1000}  # make.sh --size for the overflow demo
BUDGET_S=${BUDGET_S:-900}           # the whole run is stopped after this
ONLY=${ONLY:-methods,cutover,opcache,reset}   # the parts to run
APP=shop
OUT=${OUT:-}

cutover=$top/build/cutover
loadgen=$top/build/loadgen

die()
{
	printf 'compare.sh: %s\n' "$*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (php-fpm, nginx and cutover need it)"
[[ ${SUDO_UID:-0} == 0 ]] ||
	die "run it from a root shell (sudo -i), not through sudo: cutover accepts -c only from root itself"
[[ -x $cutover && -x $loadgen ]] || die "build first: make && make build/loadgen"
command -v python3 > /dev/null || die "python3 is needed for the switch watcher"
[[ -z $OUT || $OUT == /* ]] || OUT=$PWD/$OUT

# ---- clean-up ----------------------------------------------------------

scratch=$(mktemp -d /tmp/cutover-compare.XXXXXX)
chmod 755 "$scratch"   # www-data traverses it to fpm.sock and the docroots
STACKS=()              # web.sh stack directories to stop

# Background processes are stopped through the job table, which holds only
# this shell's children that are still running: a pid that exited long ago
# and was reused by someone else's process is never signalled.
cleanup()
{
	local rc=$? pid dir

	trap - EXIT INT TERM
	for pid in $(jobs -pr); do
		kill -TERM "$pid" 2> /dev/null || true
	done
	wait 2> /dev/null || true
	for dir in "${STACKS[@]}"; do
		web_stop "$dir" || true
	done
	if [[ -n $OUT ]]; then
		mkdir -p "$OUT"
		(cd "$scratch" && find . -type f \( -name '*.out' -o -name '*.json' -o -name '*.log' \
			-o -name '*.tsv' -o -name '*.err' -o -name '*.txt' -o -name '*.conf' \) -size -50M \
			-exec cp --parents -t "$OUT" {} +) || true
	fi
	rm -rf "$scratch"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A watchdog bounds the whole run; it exits by itself once we are gone.
(
	for ((i = 0; i < BUDGET_S; i++)); do
		sleep 1
		kill -0 $$ 2> /dev/null || exit 0
	done
	echo "compare.sh: still running after ${BUDGET_S}s; stopping" >&2
	kill -TERM $$
) &

# ---- small helpers -----------------------------------------------------

now_us() { printf '%s' "${EPOCHREALTIME/./}"; }
now_ns() { printf '%s000' "${EPOCHREALTIME/./}"; }

# sleep_until US: sleeps until the wall clock reaches US microseconds.
sleep_until()
{
	local left=$(($1 - $(now_us)))

	((left > 0)) || return 0
	sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
}

# log_switch DIR ID: "from now on the live release is ID", right after a switch.
log_switch() { printf '%s %s\n' "$(now_ns)" "$2" >> "$1/switch.log"; }

# key LINE NAME: the value of NAME= in a loadgen summary line.
key() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# json_num FILE NAME: every "NAME":number in a cutover JSON document, in
# order ("seconds" is the reload's first, then the whole command's).
json_num() { grep -o "\"$2\":[0-9.]*" "$1" 2> /dev/null | cut -d: -f2 || true; }

# new_stack DIR DOCROOT OPTION...: starts a web.sh stack, remembered for
# clean-up. Every stack uses request_terminate_timeout = 10s, the same as
# the graceful process_control_timeout, as docs/FPM.md recommends.
new_stack()
{
	local dir=$1 docroot=$2
	shift 2
	mkdir -p "$dir"
	STACKS+=("$dir")
	web_start "$dir" "$docroot" request_terminate_timeout=10s "$@" ||
		die "could not start the web stack in $dir"
}

# make_release DIR ID [make.sh options]
make_release() { "$top/integration/testapp/make.sh" "$@" > /dev/null; }

# warm URL: 16 requests at once, so the measured ones do not compile.
warm()
{
	(
		for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
			curl -s -o /dev/null --max-time 10 "$1/" &
		done
		wait
	)
}

# start_load DIR URL SECONDS MARKER [extra loadgen options]: loadgen in the
# background, output in DIR/load.out; sets LOAD_PID.
start_load()
{
	local dir=$1 url=$2 secs=$3 marker=$4
	shift 4
	: > "$dir/switch.log"
	"$loadgen" --url "$url" --connections "$CONNECTIONS" --rate "$RATE" \
		--duration "$secs" --switch-log "$dir/switch.log" \
		--expect-marker-file "$marker" --per-second "$@" > "$dir/load.out" 2> "$dir/load.err" &
	LOAD_PID=$!
}

# finish_load DIR KEY LABEL SWITCHES: waits for loadgen, prints and records
# its summary line.
finish_load()
{
	local dir=$1 keyname=$2 label=$3 n=$4 line

	wait "$LOAD_PID" || true
	line=$(tail -n 1 "$dir/load.out")
	[[ $line == summary* ]] || die "$keyname: loadgen printed no summary (see $dir/load.err)"
	printf '%-7s %s\n' "$keyname" "$line"
	printf '%s\t%s\t%s\t%s\n' "$keyname" "$label" "$n" "$line" >> "$scratch/rows.tsv"
}

# The switch watcher: appends "<ns> <release>" to a switch log the moment
# ROOT/current is renamed or created, reading the release id from the new
# target's RELEASE file. For switches made inside another program (cutover),
# where the script cannot log between the switch and the reload.
cat > "$scratch/watch.py" <<'PY'
import ctypes, os, struct, sys, time
root, log = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
IN_CREATE, IN_MOVED_TO = 0x100, 0x80
if fd < 0 or libc.inotify_add_watch(fd, root.encode(), IN_CREATE | IN_MOVED_TO) < 0:
    sys.exit("watch.py: inotify failed: %s" % os.strerror(ctypes.get_errno()))
while True:
    buf = os.read(fd, 65536)
    t = time.time_ns()
    i = 0
    while i < len(buf):
        _, _, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0")
        i += 16 + n
        if name != b"current":
            continue
        try:
            with open(os.path.join(root, "current", "RELEASE")) as f:
                rel = f.read().split()[0]
        except (OSError, IndexError):
            continue
        with open(log, "a") as f:
            f.write("%d %s\n" % (t, rel))
PY

# start_watch ROOT LOG: sets WATCH_PID.
start_watch()
{
	python3 "$scratch/watch.py" "$1" "$2" &
	WATCH_PID=$!
	sleep 0.2   # the watch is in place before anything switches
}

stop_pid() { kill -TERM "$1" 2> /dev/null || true; wait "$1" 2> /dev/null || true; }

# write_conf FILE ROOT WEBDIR RELOAD [EXTRA [fpm] LINES...]
write_conf()
{
	local file=$1 root=$2 web=$3 reload=$4 line
	shift 4
	{
		printf '[app]\nroot = %s\nuser = nobody\ngroup = nogroup\nweb_group = www-data\nkeep = 3\n' "$root"
		printf '[fpm]\npid_file = %s/fpm.pid\nreload = %s\nsocket = %s/fpm.sock\nstatus_path = /fpm-status\n' \
			"$web" "$reload" "$web"
		for line in "$@"; do printf '%s\n' "$line"; done
		printf '[health]\nurl = http://127.0.0.1:%s/up\nexpect_body = OK\n' "$(web_port "$web")"
	} > "$file"
	chmod 600 "$file"
}

# co CONF VERB ARGS...: cutover, quiet, JSON on stdout, messages appended
# to CONF.err.
co() { local conf=$1; shift; "$cutover" -q --json -c "$conf" "$@" 2>> "$conf.err"; }

# ---- the switch methods ------------------------------------------------
#
# setup_KEY DIR prepares DIR (releases r0..rN in DIR/src, the live tree,
# the stack) and sets URL and MARKER; switch_KEY DIR K makes release rK live
# and logs it. measure() runs the load around them.

make_sources()
{
	local dir=$1 k

	for ((k = 0; k <= SWITCHES; k++)); do
		make_release "$dir/src/r$k" "r$k"
	done
}

# Maintenance mode as Laravel's `artisan down` does it: index.php checks a
# flag file before anything else and answers 503.
add_maintenance_check()
{
	sed -i '1a if (is_file(__DIR__ . "/../storage/down")) { http_response_code(503); header("Retry-After: 5"); echo "down for maintenance\\n"; return; }' \
		"$1/public/index.php"
}

setup_inplace()   # a live tree at DIR/root/live, served through $document_root
{
	local dir=$1
	shift
	mkdir -p "$dir/root/live/storage"
	cp -R "$dir/src/r0/." "$dir/root/live/"
	new_stack "$dir/web" "$dir/root/live/public" root_var=document_root "$@"
	URL=$(web_url "$dir/web") MARKER=$dir/root/live/RELEASE
}

setup_symlink()   # releases in DIR/root/releases, current -> releases/r0
{
	local dir=$1
	shift
	mkdir -p "$dir/root/releases"
	cp -R "$dir/src/r0" "$dir/root/releases/r0"
	ln -s releases/r0 "$dir/root/current"
	new_stack "$dir/web" "$dir/root/current/public" "$@"
	URL=$(web_url "$dir/web") MARKER=$dir/root/current/RELEASE
}

# The "build" of the symlink methods: the release is copied into place
# before its switch, outside the timed part, as any release directory
# deploy does.
stage_release() { cp -R "$1/src/r$2" "$1/root/releases/r$2"; }

atomic_swap()
{
	ln -sfn "releases/r$2" "$1/root/current.new"
	mv -T "$1/root/current.new" "$1/root/current"
}

setup_steady() { make_sources "$1"; setup_symlink "$1"; }

setup_a()
{
	local dir=$1 k
	make_sources "$dir"
	for ((k = 0; k <= SWITCHES; k++)); do
		add_maintenance_check "$dir/src/r$k"
	done
	setup_inplace "$dir"
}
switch_a()
{
	local dir=$1 k=$2 t0
	t0=$(now_us)
	touch "$dir/root/live/storage/down"
	cp -R "$dir/src/r$k/." "$dir/root/live/"     # git pull / composer install
	sleep_until $((t0 + BUILD_MS * 1000))         # ... the rest of the build
	web_fpm_reload "$dir/web" --wait 20           # new code into the workers
	rm -f "$dir/root/live/storage/down"           # artisan up
	log_switch "$dir" "r$k"
}

setup_b()
{
	make_sources "$1"
	WEB_PHP_INI_EXTRA="opcache.revalidate_freq=2" setup_inplace "$1" opcache_validate_timestamps=1
}
switch_b()
{
	cp -R "$1/src/r$2/." "$1/root/live/"
	log_switch "$1" "r$2"
}

setup_c() { make_sources "$1"; setup_symlink "$1" root_var=document_root; }
switch_c()
{
	stage_release "$1" "$2"
	rm -f "$1/root/current"
	ln -s "releases/r$2" "$1/root/current"
	log_switch "$1" "r$2"
}

setup_c2() { setup_c "$1"; }
switch_c2()
{
	stage_release "$1" "$2"
	ln -sfn "releases/r$2" "$1/root/current"
	log_switch "$1" "r$2"
}

setup_d() { setup_c "$1"; }
switch_d()
{
	stage_release "$1" "$2"
	atomic_swap "$1" "$2"
	log_switch "$1" "r$2"
}

setup_e() { make_sources "$1"; setup_symlink "$1" root_var=realpath_root process_control_timeout=0; }
switch_e()
{
	stage_release "$1" "$2"
	atomic_swap "$1" "$2"
	log_switch "$1" "r$2"
	web_fpm_reload "$1/web" --wait 20
}

setup_g() { make_sources "$1"; setup_symlink "$1" root_var=realpath_root process_control_timeout=10s; }
switch_g() { switch_e "$@"; }

setup_f()
{
	local dir=$1
	make_sources "$dir"
	new_stack "$dir/web" "$dir/root/current/public" root_var="${F_ROOT_VAR:-realpath_root}" process_control_timeout=10s
	write_conf "$dir/app.conf" "$dir/root" "$dir/web" graceful
	co "$dir/app.conf" deploy "$APP" --from "$dir/src/r0" --label r0 > "$dir/deploy.0.json" ||
		die "f: the first cutover deploy failed (see $dir/app.conf.err)"
	URL=$(web_url "$dir/web") MARKER=$dir/root/current/RELEASE
}
switch_f()
{
	local dir=$1 k=$2 t0 t1
	t0=$(now_us)
	co "$dir/app.conf" deploy "$APP" --from "$dir/src/r$k" --label "r$k" > "$dir/deploy.$k.json" ||
		echo "compare.sh: f: cutover deploy r$k failed (see $dir/app.conf.err)" >&2
	t1=$(now_us)
	printf 'deploy %s %s\n' "$k" $(((t1 - t0) / 1000)) >> "$dir/wall.txt"
}

switch_f2() { switch_f "$@"; }

# h: alternately back to the previous release and forward to the newest,
# on f's stack and root.
switch_h()
{
	local dir=$1 k=$2 conf=$scratch/f/app.conf t0 t1 verb
	t0=$(now_us)
	if ((k % 2)); then
		verb=rollback
		co "$conf" rollback "$APP" > "$dir/op.$k.json" || true
	else
		verb=switch
		co "$conf" switch "$APP" "$H_NEWEST" > "$dir/op.$k.json" || true
	fi
	t1=$(now_us)
	grep -q '"seconds"' "$dir/op.$k.json" ||
		echo "compare.sh: h: cutover $verb failed (see $conf.err)" >&2
	printf '%s %s %s\n' "$verb" "$k" $(((t1 - t0) / 1000)) >> "$dir/wall.txt"
}

# measure KEY LABEL N SLOT_MS [DIR]: one load run with N switches of
# method KEY, one every SLOT_MS after a LEAD_MS lead-in, and TAIL_MS after.
measure()
{
	local keyname=$1 label=$2 n=$3 slot=$4 dir=${5:-$scratch/$1} secs t0 k

	local ms=$((LEAD_MS + (n > 0 ? n : 1) * slot + TAIL_MS))
	secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
	warm "$URL"
	start_load "$dir" "$URL/" "$secs" "$MARKER"
	[[ -n ${WATCH_ROOT:-} ]] && start_watch "$WATCH_ROOT" "$dir/switch.log"
	t0=$(now_us)
	for ((k = 1; k <= n; k++)); do
		sleep_until $((t0 + (LEAD_MS + (k - 1) * slot) * 1000))
		"switch_$keyname" "$dir" "$k"
	done
	finish_load "$dir" "$keyname" "$label" "$n"
	[[ -n ${WATCH_ROOT:-} ]] && stop_pid "$WATCH_PID"
	return 0
}

run_method()
{
	local keyname=$1 label=$2 slot=${3:-$SLOT_MS} n=${4:-$SWITCHES} dir=$scratch/$1

	mkdir -p "$dir"
	"setup_$keyname" "$dir"
	measure "$keyname" "$label" "$n" "$slot"
	web_stop "$dir/web"
}

# ---- the OPcache overflow demo -----------------------------------------

# opcache_snapshot URL: the key=value lines of the test app's /opcache.
opcache_snapshot() { curl -s --max-time 10 "$1/opcache" | tr '\n' ' '; }
ov() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }

opcache_demo()
{
	local mode=$1 dir=$scratch/opcache-$1 k before after line hits misses url

	mkdir -p "$dir"
	# Both modes deploy the same sources.
	for ((k = 1; k <= OPCACHE_DEPLOYS; k++)); do
		[[ -d $scratch/opcache-src/o$k ]] || make_release "$scratch/opcache-src/o$k" "o$k" --size "$OPCACHE_SIZE"
	done
	new_stack "$dir/web" "$dir/root/current/public" root_var=realpath_root opcache_memory=64
	url=$(web_url "$dir/web")
	write_conf "$dir/app.conf" "$dir/root" "$dir/web" "$mode"
	for ((k = 1; k <= OPCACHE_DEPLOYS; k++)); do
		co "$dir/app.conf" deploy "$APP" --from "$scratch/opcache-src/o$k" --label "o$k" > "$dir/deploy.$k.json" ||
			die "opcache demo: cutover deploy o$k failed (see $dir/app.conf.err)"
		warm "$url"
		before=$(opcache_snapshot "$url")
		"$loadgen" --url "$url/?sleep=0" --connections 4 --duration "$WINDOW_S" --quiet > "$dir/load.$k.out" 2>&1 || true
		after=$(opcache_snapshot "$url")
		line=$(tail -n 1 "$dir/load.$k.out")
		hits=$(($(ov "$after" hits) - $(ov "$before" hits)))
		misses=$(($(ov "$after" misses) - $(ov "$before" misses)))
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$k" \
			"$(ov "$after" full)" \
			"$(awk -v b="$(ov "$after" used_memory)" 'BEGIN { printf "%.1f", b / 1048576 }')" \
			"$(awk -v b="$(ov "$after" free_memory)" 'BEGIN { printf "%.1f", b / 1048576 }')" \
			"$(ov "$after" cached_scripts)" \
			"$(awk -v h="$hits" -v m="$misses" 'BEGIN { printf "%.1f", (h + m) ? 100 * h / (h + m) : 0 }')" \
			"$misses" "$(key "$line" p50_ms)" "$(key "$line" p99_ms)" "$(key "$line" rate)" \
			"$(ov "$after" oom_restarts)" "$(json_num "$dir/deploy.$k.json" seconds | tail -n 1)" \
			>> "$scratch/opcache.tsv"
		printf 'opcache %-8s deploy %d: %s | %s\n' "$mode" "$k" "$after" "$line"
	done
	web_stop "$dir/web"
}

# ---- reload = opcache-reset under load ---------------------------------

# A status page in each release of these runs, for watching the restart.
add_opstat()
{
	cat > "$1/public/opstat.php" <<-'PHP'
	<?php
	$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
	if (!is_array($s)) { echo "status=none\n"; return; }
	printf("enabled=%d pending=%d in_progress=%d manual=%d misses=%d scripts=%d\n",
		!empty($s['opcache_enabled']), !empty($s['restart_pending']), !empty($s['restart_in_progress']),
		$s['opcache_statistics']['manual_restarts'] ?? -1, $s['opcache_statistics']['misses'] ?? -1,
		$s['opcache_statistics']['num_cached_scripts'] ?? -1);
	PHP
}

# poll_opstat URL FILE END_US: /opstat.php every 50 ms until END_US.
poll_opstat()
{
	while (($(now_us) < $3)); do
		printf '%s %s\n' "$(now_us)" "$(curl -s --max-time 2 "$1/opstat.php" | tr -d '\n')" >> "$2"
		sleep 0.05
	done
}

# reset_run NAME RELOAD LONG FORCE_TIMEOUT: a load run with one deploy at
# LEAD_MS + 1 s; with LONG=1 a ?sleep=LONG_MS request starts 1 s before it.
# RELOAD is a cutover reload mode, or "raw" for web_fpm_reload after a
# cutover switch with reload = none.
reset_run()
{
	local name=$1 reload=$2 long=$3 force=$4 dir=$scratch/reset-$1 url t0 secs long_pid poll_pid
	local conf_reload=$2 t_deploy t_done long_out pend

	[[ $reload == raw ]] && conf_reload=none
	mkdir -p "$dir"
	make_release "$dir/src/x0" x0 --size 300
	make_release "$dir/src/x1" x1 --size 300
	add_opstat "$dir/src/x0"
	add_opstat "$dir/src/x1"
	WEB_PHP_INI_EXTRA="opcache.force_restart_timeout=$force" \
		new_stack "$dir/web" "$dir/root/current/public" root_var=realpath_root process_control_timeout=10s
	url=$(web_url "$dir/web")
	write_conf "$dir/app.conf" "$dir/root" "$dir/web" "$conf_reload"
	co "$dir/app.conf" deploy "$APP" --from "$dir/src/x0" --label x0 > /dev/null ||
		die "reset $name: first deploy failed (see $dir/app.conf.err)"
	URL=$url MARKER=$dir/root/current/RELEASE
	secs=$(((LEAD_MS + 1000 + LONG_MS + 3000) / 1000))
	warm "$url"
	start_load "$dir" "$url/" "$secs" "$MARKER" --out "$dir/requests.tsv"
	start_watch "$dir/root" "$dir/switch.log"
	t0=$(now_us)
	poll_opstat "$url" "$dir/opstat.txt" $((t0 + secs * 1000000)) &
	poll_pid=$!
	if [[ $long == 1 ]]; then
		sleep_until $((t0 + LEAD_MS * 1000))
		curl -s -o "$dir/long.body" --max-time 30 -w '%{http_code} %{time_total}' \
			"$url/?sleep=$LONG_MS" > "$dir/long.txt" &
		long_pid=$!
	fi
	sleep_until $((t0 + (LEAD_MS + 1000) * 1000))
	t_deploy=$(now_us)
	co "$dir/app.conf" deploy "$APP" --from "$dir/src/x1" --label x1 > "$dir/deploy.json" ||
		echo "compare.sh: reset $name: deploy failed (see $dir/app.conf.err)" >&2
	[[ $reload == raw ]] && web_fpm_reload "$dir/web" --wait 20
	t_done=$(now_us)
	finish_load "$dir" "reset-$name" "$name" 1
	stop_pid "$WATCH_PID"
	wait "$poll_pid" 2> /dev/null || true
	long_out="-"
	if [[ $long == 1 ]]; then
		wait "$long_pid" 2> /dev/null || true
		long_out="$(cat "$dir/long.txt" 2> /dev/null) $(head -c 40 "$dir/long.body" 2> /dev/null | tr -d '\n')"
	fi
	# Restart pending: from the first poll that saw pending=1 to the first
	# later one that saw pending=0 (50 ms resolution, plus a poll's own time).
	pend=$(awk '{ p = ""; for (i = 2; i <= NF; i++) if ($i ~ /^pending=/) p = substr($i, 9) }
		p == 1 && !s { s = $1 } p == 0 && s && !e { e = $1 }
		END { if (!s) print "not seen"; else if (!e) print "until the end"; else printf "%.2f", (e - s) / 1e6 }' "$dir/opstat.txt")
	# Latency of the short requests sent while the deploy command ran and
	# in the LONG_MS after it: where a stall or an uncached pool shows.
	awk -v a="$t_deploy" -v b=$((t_deploy + LONG_MS * 1000)) 'NR > 1 && $5 / 1000 >= a && $5 / 1000 < b && $8 != 0 { print $7 / 1000 }' \
		"$dir/requests.tsv" | sort -g > "$dir/window.txt"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$reload" "$long_out" "$pend" \
		"$(awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; if (NR) printf "%.1f / %.1f / %.1f", v[int((NR + 1) / 2)], v[i], v[NR]; else print "-" }' "$dir/window.txt")" \
		"$(awk -v a="$t_deploy" -v b="$t_done" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')" \
		"$(json_num "$dir/deploy.json" drain_wait_ms | head -n 1)" "$force" \
		>> "$scratch/reset.tsv"
	web_stop "$dir/web"
}

# ---- the run -----------------------------------------------------------

want() { [[ ",$ONLY," == *",$1,"* ]]; }
start_s=$SECONDS
echo "compare.sh: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, kernel $(uname -r), $("$WEB_PHP_FPM" -v | head -n 1 | cut -d' ' -f1-2), $("$WEB_NGINX" -v 2>&1 | cut -d' ' -f3), $(ln --version | head -n 1)"
echo "compare.sh: $SWITCHES switches per method, $CONNECTIONS connections at $RATE requests/s, 20 ms a request; QUICK=$QUICK"
: > "$scratch/rows.tsv"

: > "$scratch/opcache.tsv"
: > "$scratch/reset.tsv"

if want methods; then
	run_method steady "no deploy (baseline)" $((SWITCHES * SLOT_MS)) 0
	run_method a "a. maintenance mode (503 for ${BUILD_MS} ms build)" $((BUILD_MS + 1500))
	run_method b "b. copy over live docroot (document_root, validate_timestamps=1)"
	run_method c "c. unlink + symlink (document_root, no reload)"
	[[ $QUICK == 1 ]] || run_method c2 "c2. ln -sfn, coreutils 9 (document_root, no reload)"
	run_method d "d. mv -T swap (document_root, no reload)"
	run_method e "e. mv -T + SIGUSR2, process_control_timeout=0 (realpath_root)"
	run_method g "g. mv -T + SIGUSR2, process_control_timeout=10s (realpath_root)"
fi

# f and h share a stack and a root: h rolls back and forth between the
# last two releases f deployed.
if want cutover; then
	mkdir -p "$scratch/f" "$scratch/h"
	setup_f "$scratch/f"
	WATCH_ROOT=$scratch/f/root measure f "f. cutover deploy (realpath_root, process_control_timeout=10s)" "$SWITCHES" "$SLOT_MS"
	H_NEWEST=$(grep -o '"release":"[^"]*"' "$scratch/f/deploy.$SWITCHES.json" | cut -d'"' -f4 || true)
	[[ -n $H_NEWEST ]] || die "f: no release id in the last deploy's JSON"
	MARKER=$scratch/f/root/current/RELEASE
	WATCH_ROOT=$scratch/f/root measure h "h. cutover rollback / switch, alternating" $((2 * OPS)) "$OP_SLOT_MS" "$scratch/h"
	web_stop "$scratch/f/web"
	# What Apache's mod_proxy_fcgi gives: the path through the symlink.
	mkdir -p "$scratch/f2"
	F_ROOT_VAR=document_root setup_f "$scratch/f2"
	WATCH_ROOT=$scratch/f2/root measure f2 "f2. cutover deploy with document_root (as Apache passes it)" "$SWITCHES" "$SLOT_MS"
	web_stop "$scratch/f2/web"
fi

if want opcache; then
	opcache_demo none
	opcache_demo graceful
fi

if want reset; then
	if [[ $QUICK != 1 ]]; then
		reset_run short opcache-reset 0 180
		reset_run long opcache-reset 1 180
	fi
	reset_run long-force2 opcache-reset 1 2
	if [[ $QUICK != 1 ]]; then
		reset_run long-graceful graceful 1 180
		reset_run long-raw-usr2 raw 1 180
	fi
fi

# ---- the tables --------------------------------------------------------

echo
echo "## Switch methods under load ($CONNECTIONS connections, $RATE requests/s, 20 ms requests)"
echo
echo "| method | switches | requests | 2xx | non-2xx | socket errors | torn | unparsed | stale | stale s | p50 ms | p99 ms | max ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
while IFS=$'\t' read -r keyname label n line; do
	codes=$(tr ' ' '\n' <<< "$line" | sed -n 's/^code_\([0-9]*\)=\([0-9]*\)$/\2 × \1/p' | paste -sd, - | sed 's/,/, /g')
	non2xx=$(key "$line" non2xx)
	[[ -n $codes ]] && non2xx="$non2xx ($codes)"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$n" \
		"$(key "$line" requests)" "$(key "$line" ok)" "$non2xx" "$(key "$line" errors)" \
		"$(key "$line" torn)" "$(key "$line" unparsed)" "$(key "$line" stale)" \
		"$(key "$line" stale_seconds)" "$(key "$line" p50_ms)" "$(key "$line" p99_ms)" "$(key "$line" max_ms)"
done < <(grep -v '^reset-' "$scratch/rows.tsv")

if want cutover; then
fdir=$scratch/f hdir=$scratch/h
deploy_s=$(for k in $(seq 1 "$SWITCHES"); do json_num "$fdir/deploy.$k.json" seconds | tail -n 1; done | median)
deploy_stall=$(for k in $(seq 1 "$SWITCHES"); do json_num "$fdir/deploy.$k.json" stall_ms; done | median)
deploy_stall_max=$(for k in $(seq 1 "$SWITCHES"); do json_num "$fdir/deploy.$k.json" stall_ms; done | sort -g | tail -n 1)
switch_s=$(for k in $(seq 2 2 $((2 * OPS))); do json_num "$hdir/op.$k.json" seconds | tail -n 1; done | median)
rollback_s=$(for k in $(seq 1 2 $((2 * OPS))); do json_num "$hdir/op.$k.json" seconds | tail -n 1; done | median)
rollback_max=$(for k in $(seq 1 2 $((2 * OPS))); do json_num "$hdir/op.$k.json" seconds | tail -n 1; done | sort -g | tail -n 1)
wall() { cat "$fdir/wall.txt" "$hdir/wall.txt" 2> /dev/null | awk -v v="$1" '$1 == v { print $3 / 1000 }' | median; }
echo
echo "## cutover durations under the same load (median of $SWITCHES deploys, $OPS switches, $OPS rollbacks)"
echo
echo "| operation | median s (cutover's JSON \"seconds\") | median s (wall clock, with process start) | notes |"
echo "| --- | ---: | ---: | --- |"
echo "| deploy (stage, pre-switch check, switch, graceful reload, health, prune) | $deploy_s | $(wall deploy) | reload stall_ms median $deploy_stall, max $deploy_stall_max |"
echo "| switch (switch, graceful reload, health) | $switch_s | $(wall switch) | |"
echo "| rollback (switch, graceful reload, health) | $rollback_s | $(wall rollback) | max $rollback_max s; target < 1 s |"
echo
echo "Per-operation JSON (seconds / reload stall_ms):"
for k in $(seq 1 "$SWITCHES"); do printf ' deploy.%s=%s/%s' "$k" "$(json_num "$fdir/deploy.$k.json" seconds | tail -n 1)" "$(json_num "$fdir/deploy.$k.json" stall_ms)"; done
echo
for k in $(seq 1 $((2 * OPS))); do printf ' op.%s=%s/%s' "$k" "$(json_num "$hdir/op.$k.json" seconds | tail -n 1)" "$(json_num "$hdir/op.$k.json" stall_ms)"; done
echo
fi

echo
echo "## OPcache overflow: opcache.memory_consumption=64, make.sh --size $OPCACHE_SIZE, one cutover deploy after another"
echo
echo "| reload | deploy | cache_full | used MB | free MB | cached scripts | hit rate % | misses in window | p50 ms | p99 ms | req/s | oom restarts | deploy s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
while IFS=$'\x1f' read -r mode k full used free scripts rate misses p50 p99 rps oom ds; do
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$mode" "$k" "$full" "$used" "$free" "$scripts" "$rate" "$misses" "$p50" "$p99" "$rps" "$oom" "$ds"
done < <(tr '\t' '\037' < "$scratch/opcache.tsv")

echo
echo "## reload = opcache-reset under load (one deploy; long request: ?sleep=$LONG_MS started 1 s before it)"
echo
echo "| run | reload | long request (status, s, body) | restart pending s | short requests after the deploy started: p50 / p99 / max ms | deploy command s | drain wait ms | force_restart_timeout |"
echo "| --- | --- | --- | ---: | --- | ---: | ---: | ---: |"
while IFS=$'\x1f' read -r name reload long pend lat ds drain force; do
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$reload" "$long" "$pend" "$lat" "$ds" "${drain:--}" "$force"
done < <(tr '\t' '\037' < "$scratch/reset.tsv")
echo
echo "Whole-run summaries of those runs:"
{ grep '^reset-' "$scratch/rows.tsv" || true; } | cut -f1,4 | sed 's/^/  /'
echo
echo "compare.sh: done in $((SECONDS - start_s)) s"
