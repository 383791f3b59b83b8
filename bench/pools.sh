#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/pools.sh: issue 14 measured with cutover itself. The same load on
# two identical stacks (nginx + php-fpm, pm = static x CHILDREN, the test
# app's 20 ms requests), one app per stack:
#
#   graceful  `cutover switch` with [fpm] reload = graceful: `current`
#             renamed, then SIGUSR2 through the verified master, confirmed
#   swap      `cutover switch` with [fpm] reload = swap: a new master for
#             the release (a systemd unit; here the test double of
#             integration/lib/swap.sh), its pre-switch check in the new
#             pool, `current` and the live socket renamed, the old master
#             retired once its accept queue is empty (keep_warm = 0)
#   steady-g, steady-s   no switch at all, on each stack: the baselines
#   *-long    the same with one ?sleep=LONG_MS request started 1 s before
#             each switch
#   rollback  swap with keep_warm: two warm pools; `cutover rollback` and
#             `cutover switch` back and forth, each timed end to end (the
#             command, then the first response through nginx from the
#             target release)
#
# Modes run interleaved, RUNS times each. The p99 ratio of a mode is its
# p99 over that of the steady mode of its own stack in the same run
# (long modes: steady-long of the same stack). loadgen (open loop, RATE
# requests/s on CONNECTIONS keep-alive connections) counts failed, torn
# and stale responses against a switch log written when each cutover
# command has returned; the new release is live before that (at the
# rename; a graceful switch beside a long request returns 5 s later,
# after its drain wait), so its responses count as stale only when they
# come more than SLOT_MS - 1 s before the line (--switch-grace). Old code
# after a line is always stale.
#
#   bench/pools.sh               RUNS=3, 6 switches a mode (~8 min)
#   QUICK=1 bench/pools.sh       1 run, 2 switches, short
#   RUNS= SWITCHES= LONG_SWITCHES= RATE= CONNECTIONS= CHILDREN= ROLLBACKS= MODES=
#   KEEP=DIR  keep every mode's loadgen output (per second) and logs in DIR
#
# As root. It runs in a private mount namespace with its own /run (the
# swap stack's /run/cutover) and cleans up through the integration
# library (every process, mount and scratch directory).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../integration/lib.sh
. "$top/integration/lib.sh"
swap_env_enter "$@"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	RUNS=${RUNS:-1} SWITCHES=${SWITCHES:-2} LONG_SWITCHES=${LONG_SWITCHES:-1} ROLLBACKS=${ROLLBACKS:-4}
	LONG_MS=${LONG_MS:-3000}
else
	RUNS=${RUNS:-3} SWITCHES=${SWITCHES:-6} LONG_SWITCHES=${LONG_SWITCHES:-2} ROLLBACKS=${ROLLBACKS:-10}
	LONG_MS=${LONG_MS:-6000}
fi
SLOT_MS=${SLOT_MS:-2000}
LONG_SLOT_MS=$((LONG_MS + 2500))
RATE=${RATE:-300}
CONNECTIONS=${CONNECTIONS:-16}
CHILDREN=${CHILDREN:-8}
MODES=${MODES:-steady-g,graceful,steady-s,swap,steady-g-long,graceful-long,steady-s-long,swap-long,rollback}
makeapp=$top/integration/testapp/make.sh

[[ -x $LOADGEN_BIN ]] || fatal "build loadgen first: make build/loadgen"
[[ -x $CUTOVER_BIN ]] || fatal "build cutover first: make"

now_us() { printf '%s' "${EPOCHREALTIME/./}"; }
sleep_until() { local d=$(($1 - $(now_us))); ((d > 0)) && sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"; return 0; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
key() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }

# ---- the two stacks ----------------------------------------------------------

scratch_new B
PHP_OPCACHE='opcache.validate_timestamps=0'

# graceful: web.sh's own php-fpm (its php.ini: OPcache, timestamps off).
GROOT=$B/g/root GWEB=$B/g/web GCONF=$B/g/app.conf
mkdir -p -m 0755 "$B/g" "$GWEB"
at_exit "web_stop $(printf '%q' "$GWEB")"
web_start "$GWEB" "$GROOT/current/public" pm=static children="$CHILDREN" process_control_timeout=30s \
	request_terminate_timeout=30s port_from=18480 || fatal "the graceful stack did not start"
GURL=$(web_url "$GWEB")
# app_conf FILE ROOT URL: an app's config, its [fpm] lines from stdin.
app_conf()
{
	{
		printf '[app]\nroot = %s\nuser = nobody\ngroup = nogroup\nweb_group = www-data\nkeep = 40\n' "$2"
		printf '[build]\nrun = true\n[fpm]\n'
		cat
		printf '[health]\nurl = %s/up\nexpect_body = OK\n' "$3"
	} > "$1"
}
app_conf "$GCONF" "$GROOT" "$GURL" <<EOF
reload = graceful
pid_file = $GWEB/fpm.pid
socket = $GWEB/fpm.sock
status_path = /fpm-status
timeout = 30
EOF

# swap: the same pool, as the app's pool file; cutover runs its masters.
APP=sapp
SROOT=$B/s/root SWEB=$B/s/web SCONF=$B/s/app.conf POOL=$B/s/pool.conf
mkdir -p -m 0755 "$B/s" "$SWEB"
cat > "$POOL" <<EOF
[global]
process_control_timeout = 30s
[sapp]
listen = /nonexistent
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
listen.backlog = 1024
pm = static
pm.max_children = $CHILDREN
request_terminate_timeout = 30s
clear_env = yes
php_admin_value[opcache.validate_timestamps] = 0
EOF
CONF=$SCONF   # the double's ExecStart: cutover -c CONF fpm-exec APP:S
swap_double_start || fatal "the systemd double did not start"
at_exit "web_stop $(printf '%q' "$SWEB")"
web_start "$SWEB" "$SROOT/current/public" fpm_socket=/run/cutover/fpm/sapp.sock port_from=18680 ||
	fatal "the swap stack's nginx did not start"
SURL=$(web_url "$SWEB")
sconf() # KEEP_WARM
{
	printf 'reload = swap\nconfig = %s\nkeep_warm = %s\ntimeout = 30\n' "$POOL" "$1" |
		app_conf "$SCONF" "$SROOT" "$SURL"
}
sconf 0

co_g() { "$CUTOVER_BIN" -q -c "$GCONF" "$1" gapp "${@:2}"; }
co_s() { "$CUTOVER_BIN" -q -c "$SCONF" "$1" sapp "${@:2}"; }

# stage STACK ID: the test app's release ID, staged (not live).
stage()
{
	local dir=$B/src/$2
	"$makeapp" "$dir" "$2" > /dev/null || fatal "make.sh $2"
	"co_$1" stage --from "$dir" --id "$2" > /dev/null || fatal "stage $2 on $1"
}

echo "pools.sh: $(date -u '+%F %T UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(php-fpm8.2 -v | head -n 1 | cut -d' ' -f1-2)"
echo "pools.sh: RUNS=$RUNS, $SWITCHES switches a mode ($LONG_SWITCHES with a ${LONG_MS} ms request), $CONNECTIONS connections at $RATE requests/s, pm = static x $CHILDREN, $ROLLBACKS rollbacks"

# ---- one measured mode -------------------------------------------------------

# run_mode MODE RUN: appends a row to B/rows.tsv.
run_mode()
{
	local mode=$1 run=$2 stack n slot long=0 url root t0 k lpid line tag dir
	tag=$mode-$run dir=$B/out/$tag
	mkdir -p "$dir"
	: > "$dir/switch.log"
	[[ $mode == *-long ]] && long=1
	case $mode in
	*graceful* | steady-g*) stack=g url=$GURL root=$GROOT ;;
	*) stack=s url=$SURL root=$SROOT ;;
	esac
	n=$SWITCHES slot=$SLOT_MS
	((long)) && n=$LONG_SWITCHES slot=$LONG_SLOT_MS
	for ((k = 0; k <= n; k++)); do stage "$stack" "r$k-$tag"; done
	"co_$stack" switch "r0-$tag" || fatal "$tag: first switch"
	local warm=()
	for ((k = 0; k < 32; k++)); do curl -s -o /dev/null --max-time 5 "$url/?sleep=0" & warm+=($!); done
	wait "${warm[@]}"
	local longs=() ms=$((2000 + (n > 0 ? n : 1) * slot + 2000))
	"$LOADGEN_BIN" --url "$url/" --connections "$CONNECTIONS" --rate "$RATE" \
		--duration "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" --switch-log "$dir/switch.log" \
		--expect-marker-file "$root/current/RELEASE" --per-second --switch-grace $((slot - 1000)) \
		> "$dir/load.out" 2> "$dir/load.err" &
	lpid=$!
	t0=$(now_us)
	for ((k = 1; k <= n; k++)); do
		if ((long)); then
			sleep_until $((t0 + (2000 + (k - 1) * slot - 1000) * 1000))
			curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 \
				"$url/?sleep=$LONG_MS" >> "$dir/long.txt" &
			longs+=($!)
		fi
		sleep_until $((t0 + (2000 + (k - 1) * slot) * 1000))
		[[ $mode == steady* ]] && continue
		local c0=$(now_us)
		"co_$stack" switch "r$k-$tag" > /dev/null 2>> "$dir/switch.err" ||
			echo "pools.sh: $tag: switch $k failed (see $dir/switch.err)" >&2
		printf '%s r%s-%s\n' "$(date +%s%N)" "$k" "$tag" >> "$dir/switch.log"
		printf '%d\n' $((($(now_us) - c0) / 1000)) >> "$dir/cmd_ms.txt"
	done
	wait "$lpid"
	((${#longs[@]} == 0)) || wait "${longs[@]}"
	line=$(tail -n 1 "$dir/load.out")
	[[ $line == summary* ]] || fatal "$tag: loadgen printed no summary ($(cat "$dir/load.err"))"
	printf '%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "$line" \
		"$( [[ -s $dir/cmd_ms.txt ]] && median < "$dir/cmd_ms.txt" || echo -)" \
		"$(awk '{ printf "%s%s:%.2fs", (NR > 1 ? "," : ""), $1, $2 }' "$dir/long.txt" 2> /dev/null)" >> "$B/rows.tsv"
	printf '%-18s %s\n' "$tag" "$line"
	# The swap stack's pools stay for the next mode; prune the releases.
	"co_$stack" prune --keep 2 > /dev/null 2>&1 || true
}

# rollback RUN: two warm pools (keep_warm 300); ROLLBACKS times, alternately
# `cutover rollback` (back to A) and `cutover switch B`, under load; each
# timed as the command's wall time and until nginx answers from the target.
run_rollback()
{
	local run=$1 tag=rollback-$1 dir=$B/out/rollback-$1 k t0 t1 t2 out target lpid i
	mkdir -p "$dir"
	sconf 300
	stage s "A-$tag"; stage s "B-$tag"
	co_s switch "A-$tag" || fatal "$tag: switch A"
	co_s switch "B-$tag" || fatal "$tag: switch B"
	"$LOADGEN_BIN" --url "$SURL/" --connections "$CONNECTIONS" --rate "$RATE" \
		--duration $((ROLLBACKS * 1 + 4)) > "$dir/load.out" 2> "$dir/load.err" &
	lpid=$!
	sleep 1.5
	for ((k = 0; k < ROLLBACKS; k++)); do
		t0=$(now_us)
		if ((k % 2 == 0)); then
			co_s rollback > /dev/null 2>> "$dir/err" || echo "pools.sh: $tag: rollback failed" >&2
			target=A-$tag
		else
			co_s switch "B-$tag" > /dev/null 2>> "$dir/err" || echo "pools.sh: $tag: switch B failed" >&2
			target=B-$tag
		fi
		t1=$(now_us)
		for ((i = 0; i < 200; i++)); do
			out=$(curl -s --max-time 2 "$SURL/?sleep=0" || true)
			[[ $out == "a=$target b=$target"* ]] && break
		done
		t2=$(now_us)
		if ((k % 2 == 0)); then
			printf '%d %d\n' $(((t1 - t0) / 1000)) $(((t2 - t0) / 1000)) >> "$dir/rb.txt"
		else
			printf '%d %d\n' $(((t1 - t0) / 1000)) $(((t2 - t0) / 1000)) >> "$dir/sw.txt"
		fi
		sleep 0.5
	done
	wait "$lpid"
	line=$(tail -n 1 "$dir/load.out")
	printf '%s\trollback\t%s\t%s\t%s\n' "$run" "$line" \
		"$(awk '{ print $1 }' "$dir/rb.txt" | median)/$(awk '{ print $2 }' "$dir/rb.txt" | median)/$(awk '{ print $2 }' "$dir/rb.txt" | sort -g | tail -n 1)" \
		"$(awk '{ print $1 }' "$dir/sw.txt" | median)/$(awk '{ print $2 }' "$dir/sw.txt" | median)" >> "$B/rows.tsv"
	printf '%-18s %s\n' "$tag" "$line"
	sconf 0
	co_s prune --keep 2 > /dev/null 2>&1 || true
}

# Memory: Pss of every process of the swap stack's units (masters and
# workers), sampled every 50 ms during the swap modes: the peak with two
# pools against the floor with one.
pss_sample()
{
	local s pid sum p v
	while :; do
		sum=0
		for s in a b; do
			pid=$(swap_master_pid sapp "$s" 2> /dev/null) || pid=0
			[[ $pid != 0 ]] || continue
			for p in "$pid" $(pgrep -P "$pid"); do
				v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2> /dev/null || true)
				sum=$((sum + ${v:-0}))
			done
		done
		printf '%s\n' "$sum" >> "$B/pss.txt"
		sleep 0.05
	done
}
pss_sample &
PSS_PID=$!
at_exit "kill $PSS_PID 2>/dev/null"

: > "$B/rows.tsv"
IFS=, read -r -a modes <<< "$MODES"
for ((run = 1; run <= RUNS; run++)); do
	for mode in "${modes[@]}"; do
		if [[ $mode == rollback ]]; then run_rollback "$run"; else run_mode "$mode" "$run"; fi
	done
done
kill "$PSS_PID" 2> /dev/null

# ---- the tables --------------------------------------------------------------

echo
echo "## Per run (p99 ratio: over steady of the same stack in the same run; long modes over steady-long)"
echo
echo "| run | mode | requests | failed | torn | stale | p50 ms | p99 ms | max ms | p99 ratio | cutover command ms (median) | long requests |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
: > "$B/ratios.tsv"
while IFS=$'\t' read -r run mode line cmd long; do
	[[ $mode == rollback ]] && continue
	case $mode in
	*graceful*long | steady-g-long) base=steady-g-long ;;
	*graceful* | steady-g) base=steady-g ;;
	*long) base=steady-s-long ;;
	*) base=steady-s ;;
	esac
	basep99=$(awk -F'\t' -v r="$run" -v m="$base" '$1 == r && $2 == m { n = split($3, a, " "); for (i = 1; i <= n; i++) if (a[i] ~ /^p99_ms=/) print substr(a[i], 8) }' "$B/rows.tsv")
	p99=$(key "$line" p99_ms)
	ratio=$(awk -v a="$p99" -v b="$basep99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	failed=$(($(key "$line" non2xx) + $(key "$line" errors)))
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$mode" \
		"$(key "$line" requests)" "$failed" "$(key "$line" torn)" "$(key "$line" stale)" \
		"$(key "$line" p50_ms)" "$p99" "$(key "$line" max_ms)" "$ratio" "$cmd" "${long:--}"
	printf '%s\t%s\n' "$mode" "$ratio" >> "$B/ratios.tsv"
done < "$B/rows.tsv"
echo
echo "## Median p99 ratio per mode over $RUNS runs"
echo
for mode in "${modes[@]}"; do
	[[ $mode == rollback ]] && continue
	printf '%-16s %s\n' "$mode" "$(awk -F'\t' -v m="$mode" '$1 == m { print $2 }' "$B/ratios.tsv" | median)"
done
if grep -q $'\trollback\t' "$B/rows.tsv"; then
	echo
	echo "## Rollback to a warm pool, end to end (ms: command / first response from the target, median / worst)"
	echo
	echo "| run | requests | failed | torn | p99 ms | max ms | rollback cmd / e2e / worst e2e | switch back cmd / e2e |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
	awk -F'\t' '$2 == "rollback"' "$B/rows.tsv" | while IFS=$'\t' read -r run mode line rb sw; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$(key "$line" requests)" \
			"$(($(key "$line" non2xx) + $(key "$line" errors)))" "$(key "$line" torn)" \
			"$(key "$line" p99_ms)" "$(key "$line" max_ms)" "$rb" "$sw"
	done
fi
echo
[[ -n ${KEEP:-} ]] && mkdir -p "$KEEP" && cp -r "$B/out" "$B/rows.tsv" "$B/pss.txt" "$KEEP/"
printf 'Pss of the swap stack'"'"'s pools (kB): peak %s, median %s (one pool between switches, two during one)\n' \
	"$(sort -g "$B/pss.txt" | tail -n 1)" "$(awk '$1 > 0' "$B/pss.txt" | median)"
