#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/swap.sh: issue 14's measurement. Three ways of putting a new PHP
# release live under the same load, interleaved, RUNS times each:
#
#   steady    no switch at all: the latency baseline of this run
#   graceful  `current` renamed, then SIGUSR2 to the one master
#             (process_control_timeout = 10s): today's `reload = graceful`
#   swap      a second master for the new release on a socket path of its
#             own; once it answers a FastCGI request for the new release
#             (the pre-switch check, sent to the new pool directly),
#             `current` is renamed, then the symlink nginx connects through
#             is renamed to name the new master's socket; the old master
#             gets SIGQUIT once its accept queue is empty (ss -xl Recv-Q)
#   rollback  two masters kept warm (no retire), the two symlinks renamed
#             back and forth: the "rollback to a warm pool" of the issue,
#             timed end to end (renames + the first response through nginx
#             that shows the target release)
#   swap-ka   swap, but nginx reaches php-fpm through an upstream with
#             `keepalive 16` and `fastcgi_keep_conn on`: what cached
#             connections to the old master do at the switch and retire
#   *-long    steady, graceful and swap with one ?sleep=LONG_MS request
#             started 1 s before each switch (steady-long: same requests,
#             no switch)
#
# No master ever listens on the path nginx connects to: php-fpm unlinks its
# own listen path when its master exits (issue 14: a retired master that
# had listened on the live path removed the new pool's socket). Each master
# listens on POOLS/<name>/fpm.sock; LIVE/fpm.sock is a symlink that only
# this script renames, in a root-owned directory.
#
# Load: build/loadgen, open loop, CONNECTIONS keep-alive connections at RATE
# requests/s to the test app's `/` (20 ms a request), the same as
# bench/compare.sh; it counts failed (non-2xx + socket errors), torn and
# stale responses against the switch log. nginx uses $realpath_root, so the
# release a request runs is fixed when nginx resolves `current`.
#
#   bench/swap.sh                 RUNS=3, 8 switches per mode (~10 min)
#   QUICK=1 bench/swap.sh         1 run, 2 switches, short (~2 min)
#   MODES=steady,swap ... RUNS=N SWITCHES=N RATE=R CONNECTIONS=C OUT=DIR
#
# As root. Everything lives in one scratch directory, removed on exit after
# every process started here has been stopped (trap).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${QUICK:-0}
case ${1:-} in
"") ;;
--quick) QUICK=1 ;;
*) echo "usage: [QUICK=1] [RUNS=N] [MODES=m,...] [OUT=DIR] bench/swap.sh [--quick]" >&2; exit 2 ;;
esac
if [[ $QUICK == 1 ]]; then
	RUNS=${RUNS:-1} SWITCHES=${SWITCHES:-2} LONG_SWITCHES=${LONG_SWITCHES:-1}
	SLOT_MS=${SLOT_MS:-1500} LONG_MS=${LONG_MS:-3000}
else
	RUNS=${RUNS:-3} SWITCHES=${SWITCHES:-8} LONG_SWITCHES=${LONG_SWITCHES:-3}
	SLOT_MS=${SLOT_MS:-2000} LONG_MS=${LONG_MS:-6000}
fi
LEAD_MS=${LEAD_MS:-2000}
TAIL_MS=${TAIL_MS:-2000}
LONG_SLOT_MS=${LONG_SLOT_MS:-$((LONG_MS + 2500))}
RATE=${RATE:-300}
CONNECTIONS=${CONNECTIONS:-16}
CHILDREN=${CHILDREN:-8}
PM=${PM:-static}
MODES=${MODES:-steady,graceful,swap,rollback,swap-ka,steady-long,graceful-long,swap-long}
BUDGET_S=${BUDGET_S:-1800}
OUT=${OUT:-}
PHP_FPM=${PHP_FPM:-/usr/sbin/php-fpm8.2}
NGINX=${NGINX:-/usr/sbin/nginx}
loadgen=$top/build/loadgen
makeapp=$top/integration/testapp/make.sh

die() { printf 'swap.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (php-fpm and nginx start as root)"
[[ -x $loadgen ]] || die "build loadgen first: make build/loadgen"
for t in "$PHP_FPM" "$NGINX"; do [[ -x $t ]] || die "$t is missing"; done
for t in python3 ss curl; do command -v "$t" > /dev/null || die "$t is needed"; done
id -u www-data > /dev/null 2>&1 || die "user www-data is needed"
[[ -z $OUT || $OUT == /* ]] || OUT=$PWD/$OUT

# ---- layout and clean-up -------------------------------------------------

S=$(mktemp -d /tmp/cutover-swap.XXXXXX)
chmod 755 "$S"                 # www-data traverses it to the sockets and docroots
ROOT=$S/root                   # ROOT/releases/rK, ROOT/current
POOLS=$S/pools                 # one directory per master: conf, pid, log, socket
LIVE=$S/live                   # LIVE/fpm.sock: the symlink nginx connects through
WEB=$S/web                     # nginx
mkdir -p "$ROOT/releases" "$POOLS" "$LIVE" "$WEB/tmp"
chmod 755 "$ROOT" "$POOLS" "$LIVE"

# pool_pid NAME: the master's pid if it is alive and still the php-fpm
# started for POOLS/NAME (its title names its config), so a recycled pid
# is never signalled.
pool_pid()
{
	local pid cmd
	read -r pid 2> /dev/null < "$POOLS/$1/fpm.pid" || [[ -n ${pid:-} ]] || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null) || return 1
	[[ $cmd == *"$POOLS/$1/"* ]] || return 1
	printf '%s\n' "$pid"
}

nginx_pid()
{
	local pid cmd
	read -r pid 2> /dev/null < "$WEB/nginx.pid" || return 1
	cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null) || return 1
	[[ $cmd == *"$WEB/"* ]] || return 1
	printf '%s\n' "$pid"
}

alive() { [[ -d /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2> /dev/null; }

# stop_master NAME SIG: signals the master and waits (15 s) for it and its
# children; SIGKILL after that.
stop_master()
{
	local pid kids k i
	pid=$(pool_pid "$1") || return 0
	kids=$(pgrep -P "$pid" || true)
	kill "-$2" "$pid" 2> /dev/null || true
	for ((i = 0; i < 300; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	if alive "$pid"; then
		echo "swap.sh: master $1 ($pid) outlived SIG$2 by 15 s; SIGKILL" >&2
		kill -KILL "$pid" $kids 2> /dev/null || true
	fi
	for k in $kids; do
		for ((i = 0; i < 100; i++)); do alive "$k" || break; sleep 0.05; done
	done
	return 0
}

stop_all()
{
	local d pid i
	for pid in $(jobs -pr); do kill -TERM "$pid" 2> /dev/null || true; done
	wait 2> /dev/null || true
	if pid=$(nginx_pid); then
		kill -TERM "$pid" 2> /dev/null || true
		for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
		alive "$pid" && kill -KILL "$pid" $(pgrep -P "$pid") 2> /dev/null
	fi
	for d in "$POOLS"/*/; do
		[[ -d $d ]] && stop_master "$(basename "$d")" TERM
	done
	return 0
}

cleanup()
{
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	if [[ -n $OUT ]]; then
		mkdir -p "$OUT"
		(cd "$S" && find . -path ./root -prune -o -type f \( -name '*.out' -o -name '*.log' \
			-o -name '*.tsv' -o -name '*.txt' -o -name '*.conf' \) -size -50M \
			-exec cp --parents -t "$OUT" {} +) || true
	fi
	rm -rf "$S"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(
	for ((i = 0; i < BUDGET_S; i++)); do
		sleep 1
		kill -0 $$ 2> /dev/null || exit 0
	done
	echo "swap.sh: still running after ${BUDGET_S}s; stopping" >&2
	kill -TERM $$
) &

now_us() { printf '%s' "${EPOCHREALTIME/./}"; }
now_ns() { printf '%s000' "${EPOCHREALTIME/./}"; }
sleep_until()
{
	local left=$(($1 - $(now_us)))
	((left > 0)) || return 0
	sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
}
key() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- a FastCGI client, for the checks made straight to one pool ------------
#
# fcgi.py SOCKET SCRIPT_FILENAME [REQUEST_URI]: one request, prints
# "STATUS BODY..." (the body's first line). What cutover's helper does
# over [fpm] socket for the pre-switch check and the status page.
cat > "$S/fcgi.py" <<'PY'
import socket, struct, sys
sock, script = sys.argv[1], sys.argv[2]
uri = sys.argv[3] if len(sys.argv) > 3 else "/"
path, _, query = uri.partition("?")
def rec(t, body):
    return struct.pack("!BBHHBx", 1, t, 1, len(body), 0) + body
def nv(k, v):
    k, v = k.encode(), v.encode()
    enc = lambda n: bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return enc(len(k)) + enc(len(v)) + k + v
params = {"SCRIPT_FILENAME": script, "SCRIPT_NAME": path, "REQUEST_URI": uri,
          "QUERY_STRING": query, "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
          "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost"}
p = b"".join(nv(k, v) for k, v in params.items())
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sock)
s.sendall(rec(1, struct.pack("!HB5x", 1, 0)) + rec(4, p) + rec(4, b"") + rec(5, b""))
buf, out = b"", b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 8:
        _, t, _, n, pad = struct.unpack("!BBHHB", buf[:7])
        if len(buf) < 8 + n + pad:
            break
        if t == 6:
            out += buf[8:8 + n]
        buf = buf[8 + n + pad:]
        if t == 3:
            d = None
            break
    if d is None:
        break
head, _, body = out.partition(b"\r\n\r\n")
status = "200"
for line in head.split(b"\r\n"):
    if line.lower().startswith(b"status:"):
        status = line.split()[1].decode()
print(status, body.decode(errors="replace").strip().replace("\n", " "))
PY
fcgi() { python3 "$S/fcgi.py" "$@"; }

# ---- php.ini, pools, nginx -------------------------------------------------

cat > "$S/php.ini" <<EOF
zend_extension=opcache
opcache.enable=1
opcache.enable_cli=0
opcache.validate_timestamps=0
opcache.file_update_protection=0
opcache.memory_consumption=128
opcache.max_accelerated_files=10000
opcache.interned_strings_buffer=16
opcache.jit=off
display_errors=Off
log_errors=On
memory_limit=256M
max_execution_time=0
EOF

# pool_conf NAME RELEASE: the configuration cutover would generate for one
# release's master: its own listen path, pid and log; chdir into the
# release (where a per-release opcache.preload would point).
pool_conf()
{
	local d=$POOLS/$1
	mkdir -p "$d"
	{
		cat <<-EOF
		[global]
		pid = $d/fpm.pid
		error_log = $d/fpm.log
		log_level = notice
		daemonize = yes
		process_control_timeout = 10s

		[app]
		user = www-data
		group = www-data
		listen = $d/fpm.sock
		listen.owner = www-data
		listen.group = www-data
		listen.mode = 0660
		listen.backlog = 1024
		pm = $PM
		pm.max_children = $CHILDREN
		pm.status_path = /fpm-status
		ping.path = /fpm-ping
		request_terminate_timeout = 10s
		chdir = $ROOT/releases/$2/public
		access.log = $d/access.log
		access.format = "%t %s"
		catch_workers_output = yes
		clear_env = yes
		EOF
		case $PM in
		dynamic) printf 'pm.start_servers = 2\npm.min_spare_servers = 1\npm.max_spare_servers = 4\n' ;;
		ondemand) printf 'pm.process_idle_timeout = 10s\n' ;;
		esac
	} > "$d/php-fpm.conf"
}

# pool_start NAME RELEASE: config test, start, wait until the pool answers
# a FastCGI request for the release's front controller with its id.
pool_start()
{
	local name=$1 rel=$2 d=$POOLS/$1 out i
	rm -rf "$d"
	pool_conf "$name" "$rel"
	out=$(PHP_INI_SCAN_DIR="" "$PHP_FPM" -t --fpm-config "$d/php-fpm.conf" -c "$S/php.ini" 2>&1) ||
		{ echo "swap.sh: config test of $name failed: $out" >&2; return 1; }
	PHP_INI_SCAN_DIR="" "$PHP_FPM" --fpm-config "$d/php-fpm.conf" -c "$S/php.ini" \
		--daemonize < /dev/null > /dev/null 2>&1 || { echo "swap.sh: php-fpm $name did not start" >&2; return 1; }
	for ((i = 0; i < 200; i++)); do
		out=$(fcgi "$d/fpm.sock" "$ROOT/releases/$rel/public/index.php" "/?sleep=0" 2> /dev/null || true)
		[[ $out == "200 a=$rel b=$rel"* ]] && return 0
		sleep 0.02
	done
	echo "swap.sh: pool $name never answered for $rel (last: ${out:-nothing})" >&2
	return 1
}

# queue_len SOCKET: connections waiting in the listening socket's accept
# queue (ss -xl shows it as Recv-Q); empty output if no such listener.
queue_len() { ss -xlH 2> /dev/null | awk -v p="$1" '$5 == p { print $3; exit }'; }

# pool_pss NAME: Pss of the master and its children, kB.
pool_pss()
{
	local pid p sum=0 v
	pid=$(pool_pid "$1") || { echo 0; return; }
	for p in "$pid" $(pgrep -P "$pid"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2> /dev/null || true)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

write_nginx()
{
	local port=$1
	cat > "$WEB/nginx.conf" <<EOF
user www-data www-data;
worker_processes 2;
daemon on;
pid $WEB/nginx.pid;
error_log $WEB/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WEB/tmp/body;
    fastcgi_temp_path $WEB/tmp/fastcgi;
    proxy_temp_path $WEB/tmp/proxy;
    scgi_temp_path $WEB/tmp/scgi;
    uwsgi_temp_path $WEB/tmp/uwsgi;
    default_type text/plain;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    upstream fpm_ka {
        server unix:$LIVE/fpm.sock;
        keepalive 16;
    }
$(# shellcheck disable=SC2034 # used in the heredoc below
for variant in pr ka; do
	if [[ $variant == pr ]]; then listen=$port pass="unix:$LIVE/fpm.sock" keep=""
	else listen=$((port + 1)) pass="fpm_ka" keep="fastcgi_keep_conn on;"; fi
	cat <<EOS
    server {
        listen 127.0.0.1:$listen;
        root $ROOT/current/public;
        location / { try_files \$uri /index.php?\$query_string; }
        location ~ \.php\$ {
            fastcgi_param SCRIPT_FILENAME \$realpath_root\$fastcgi_script_name;
            fastcgi_param DOCUMENT_ROOT \$realpath_root;
            fastcgi_param SCRIPT_NAME \$fastcgi_script_name;
            fastcgi_param QUERY_STRING \$query_string;
            fastcgi_param REQUEST_METHOD \$request_method;
            fastcgi_param REQUEST_URI \$request_uri;
            fastcgi_param SERVER_PROTOCOL \$server_protocol;
            fastcgi_param REMOTE_ADDR \$remote_addr;
            try_files \$fastcgi_script_name =404;
            $keep
            fastcgi_pass $pass;
        }
    }
EOS
done)
}
EOF
}

start_nginx()
{
	local port out
	for ((port = 18380; port < 18580; port += 2)); do
		(exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && continue
		(exec 3<> "/dev/tcp/127.0.0.1/$((port + 1))") 2> /dev/null && continue
		write_nginx "$port"
		if out=$("$NGINX" -c "$WEB/nginx.conf" -p "$WEB" -e "$WEB/nginx-error.log" < /dev/null 2>&1); then
			PORT=$port
			return 0
		fi
		[[ $out == *"Address already in use"* ]] || die "nginx: $out"
	done
	die "no free port pair for nginx"
}

# ---- releases and switches -------------------------------------------------

# One set of releases per mode run: rN-MODE-RUN-K, so ids never repeat and
# a stale response names exactly the release it came from.
set_current() # REL: ROOT/current -> releases/REL, by one rename
{
	ln -sfn "releases/$1" "$ROOT/current.new"
	mv -T "$ROOT/current.new" "$ROOT/current"
}
set_live() # NAME: LIVE/fpm.sock -> POOLS/NAME/fpm.sock, by one rename
{
	ln -sfn "$POOLS/$1/fpm.sock" "$LIVE/fpm.sock.new"
	mv -T "$LIVE/fpm.sock.new" "$LIVE/fpm.sock"
}
log_switch() { printf '%s %s\n' "$(now_ns)" "$1" >> "$DIR/switch.log"; }

# retire NAME SWITCH_US: waits until nothing waits in the old master's
# accept queue (no new connection can reach it: its path is no longer
# linked from LIVE), then SIGQUIT (graceful: busy workers finish, within
# process_control_timeout) and waits for it to exit. Appends
# "idle_ms exit_ms old_after" to DIR/retire.txt: old_after = requests the
# old pool finished after the switch (its access log).
retire()
{
	local name=$1 t0=$2 lines0=$3 sock=$POOLS/$1/fpm.sock q t_idle i pid
	for ((i = 0; i < 3000; i++)); do
		q=$(queue_len "$sock")
		[[ -z $q || $q == 0 ]] && break
		sleep 0.01
	done
	t_idle=$(now_us)
	pid=$(pool_pid "$name") || return 0
	stop_master "$name" QUIT
	printf '%d %d %d\n' $(((t_idle - t0) / 1000)) $((($(now_us) - t0) / 1000)) \
		$(($(wc -l < "$POOLS/$name/access.log") - lines0)) >> "$DIR/retire.txt"
}

make_rel() { "$makeapp" "$ROOT/releases/$1" "$1" > /dev/null; }

# switch_MODE K: makes release K of this mode run live.
switch_graceful()
{
	local rel=$TAG-$1 pid before i
	set_current "$rel"
	log_switch "$rel"
	pid=$(pool_pid main) || { echo "swap.sh: graceful: no master" >&2; return 0; }
	before=$(grep -c 'ready to handle connections' "$POOLS/main/fpm.log" || true)
	kill -USR2 "$pid"
	for ((i = 0; i < 1000; i++)); do
		(($(grep -c 'ready to handle connections' "$POOLS/main/fpm.log" || true) > before)) && return 0
		sleep 0.02
	done
	echo "swap.sh: graceful: no 'ready' within 20 s" >&2
}

switch_swap()
{
	local rel=$TAG-$1 new=$TAG-$1 old=$LIVE_POOL t0 t1 lines0 pss pss_old
	t0=$(now_us)
	if ! pool_start "$new" "$rel"; then
		echo "swap.sh: $TAG: new master $new failed; the old pool keeps serving" >&2
		stop_master "$new" TERM
		return 0
	fi
	t1=$(now_us)
	pss_old=$(pool_pss "$old")
	pss=$((pss_old + $(pool_pss "$new")))
	lines0=$(wc -l < "$POOLS/$old/access.log")
	set_current "$rel"
	set_live "$new"
	log_switch "$rel"
	LIVE_POOL=$new
	printf '%d %d %d\n' $(((t1 - t0) / 1000)) "$pss" "$pss_old" >> "$DIR/start.txt"
	retire "$old" "$(now_us)" "$lines0" &
}
switch_swap-ka() { switch_swap "$@"; }

# rollback: two warm pools, A and B; odd K goes to B, even K back to A.
switch_rollback()
{
	local k=$1 name rel t0 t1 out i
	if ((k % 2)); then name=$TAG-B rel=$TAG-B; else name=$TAG-A rel=$TAG-A; fi
	# The links are made first; the timed part is the two renames (two
	# mv(1) processes here: an upper bound for cutover's two rename(2)s).
	ln -sfn "releases/$rel" "$ROOT/current.new"
	ln -sfn "$POOLS/$name/fpm.sock" "$LIVE/fpm.sock.new"
	t0=$(now_us)
	mv -T "$ROOT/current.new" "$ROOT/current"
	mv -T "$LIVE/fpm.sock.new" "$LIVE/fpm.sock"
	t1=$(now_us)
	log_switch "$rel"
	for ((i = 0; i < 100; i++)); do
		out=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/?sleep=0" || true)
		[[ $out == "a=$rel b=$rel"* ]] && break
	done
	printf '%d %d\n' $(((t1 - t0))) $((($(now_us) - t0) / 1000)) >> "$DIR/rollback.txt"
}

switch_steady() { :; }

# ---- one measured mode -----------------------------------------------------

# run_mode MODE RUN
run_mode()
{
	local mode=$1 run=$2 base=${1%-long} port n slot long=0 ms secs t0 k line d
	TAG=${mode}-$run DIR=$S/out/$TAG
	mkdir -p "$DIR"
	: > "$DIR/switch.log" ; : > "$DIR/retire.txt"; : > "$DIR/start.txt"; : > "$DIR/rollback.txt"
	[[ $mode == *-long ]] && long=1
	n=$SWITCHES slot=$SLOT_MS
	((long)) && n=$LONG_SWITCHES slot=$LONG_SLOT_MS
	port=$PORT
	[[ $mode == swap-ka ]] && port=$((PORT + 1))
	# Releases: K = 0..n (rollback: A and B).
	if [[ $base == rollback ]]; then
		make_rel "$TAG-A"; make_rel "$TAG-B"
	else
		for ((k = 0; k <= n; k++)); do make_rel "$TAG-$k"; done
	fi
	# The first pool, and the live links.
	case $base in
	graceful | steady)
		pool_start main "$TAG-0" || die "$TAG: first pool"
		set_current "$TAG-0"; set_live main; LIVE_POOL=main ;;
	swap | swap-ka)
		pool_start "$TAG-0" "$TAG-0" || die "$TAG: first pool"
		set_current "$TAG-0"; set_live "$TAG-0"; LIVE_POOL=$TAG-0 ;;
	rollback)
		pool_start "$TAG-A" "$TAG-A" || die "$TAG: pool A"
		pool_start "$TAG-B" "$TAG-B" || die "$TAG: pool B"
		set_current "$TAG-A"; set_live "$TAG-A"; LIVE_POOL=$TAG-A ;;
	esac
	# Warm the workers' OPcache and nginx's connections.
	for ((k = 0; k < 32; k++)); do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/?sleep=0" & done
	wait_jobs_quiet
	[[ $base == rollback ]] && for ((k = 0; k < 16; k++)); do fcgi "$POOLS/$TAG-B/fpm.sock" "$ROOT/releases/$TAG-B/public/index.php" > /dev/null; done
	ms=$((LEAD_MS + (n > 0 ? n : 1) * slot + TAIL_MS))
	secs=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
	"$loadgen" --url "http://127.0.0.1:$port/" --connections "$CONNECTIONS" --rate "$RATE" \
		--duration "$secs" --switch-log "$DIR/switch.log" --expect-marker-file "$ROOT/current/RELEASE" \
		--per-second > "$DIR/load.out" 2> "$DIR/load.err" &
	local lpid=$!
	t0=$(now_us)
	for ((k = 1; k <= n; k++)); do
		if ((long)); then
			sleep_until $((t0 + (LEAD_MS + (k - 1) * slot - 1000) * 1000))
			curl -s -o "$DIR/long.$k.body" -w '%{http_code} %{time_total}\n' --max-time 30 \
				"http://127.0.0.1:$port/?sleep=$LONG_MS" >> "$DIR/long.txt" &
		fi
		sleep_until $((t0 + (LEAD_MS + (k - 1) * slot) * 1000))
		[[ $base == steady ]] || "switch_$base" "$k"
	done
	wait "$lpid" || true
	wait_jobs_quiet
	line=$(tail -n 1 "$DIR/load.out")
	[[ $line == summary* ]] || die "$TAG: loadgen printed no summary (see $DIR/load.err)"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "$line" \
		"$(awk '{ print $1 }' "$DIR/retire.txt" | median)/$(awk '{ print $2 }' "$DIR/retire.txt" | median)/$(awk '{ s += $3 } END { print s + 0 }' "$DIR/retire.txt")" \
		"$(awk '{ print $1 }' "$DIR/start.txt" | median)/$(awk '{ printf "%.1f\n", $2 / 1024 }' "$DIR/start.txt" | sort -g | tail -n 1) (one: $(awk '{ printf "%.1f\n", $3 / 1024 }' "$DIR/start.txt" | median))" \
		"$(awk '{ printf "%.1f\n", $1 / 1000 }' "$DIR/rollback.txt" | median)/$(awk '{ print $2 }' "$DIR/rollback.txt" | median)/$(awk '{ print $2 }' "$DIR/rollback.txt" | sort -g | tail -n 1)" \
		"$(awk '{ printf "%s%s:%.2fs", (NR > 1 ? "," : ""), $1, $2 }' "$DIR/long.txt" 2> /dev/null)" >> "$S/rows.tsv"
	printf '%-14s %s\n' "$TAG" "$line"
	# Tear down every master of this mode, then the pools' directories.
	for d in "$POOLS"/*/; do stop_master "$(basename "$d")" TERM; done
	mkdir -p "$DIR/pools"
	for d in "$POOLS"/*/; do
		[[ -d $d ]] && mv "$d" "$DIR/pools/"   # the logs, for OUT=
	done
}

# Waits for this shell's background jobs except the watchdog and loadgen.
wait_jobs_quiet()
{
	local p
	for p in $(jobs -pr); do
		[[ $p == "$WATCHDOG" ]] && continue
		wait "$p" 2> /dev/null || true
	done
}
WATCHDOG=$!

# ---- the run ---------------------------------------------------------------

start_nginx
echo "swap.sh: $(date -u '+%F %T UTC'), $(nproc) cores, $("$PHP_FPM" -v | head -n 1 | cut -d' ' -f1-2), $("$NGINX" -v 2>&1 | cut -d' ' -f3)"
echo "swap.sh: RUNS=$RUNS, $SWITCHES switches a mode ($LONG_SWITCHES with a ${LONG_MS} ms request), $CONNECTIONS connections at $RATE requests/s, pm=$PM x $CHILDREN"
: > "$S/rows.tsv"
IFS=, read -r -a modes <<< "$MODES"
for ((run = 1; run <= RUNS; run++)); do
	for mode in "${modes[@]}"; do
		run_mode "$mode" "$run"
	done
done

# ---- the tables ------------------------------------------------------------

echo
echo "## Per run (ratio: p99 / p99 of steady in the same run; long modes against steady-long)"
echo
echo "| run | mode | requests | failed | torn | stale | p50 ms | p99 ms | max ms | p99 ratio | retire idle/exit ms, old-pool requests after switch | new master ready ms / peak Pss MB of both pools (one pool) | rollback rename ms / e2e ms median / max | long requests |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"
while IFS=$'\t' read -r run mode line retire start rb long; do
	basep99=$(awk -F'\t' -v r="$run" -v m="$mode" '
		$1 == r && $2 == (m ~ /-long$/ ? "steady-long" : "steady") { split($3, a, " "); for (i in a) if (a[i] ~ /^p99_ms=/) print substr(a[i], 8) }' "$S/rows.tsv")
	p99=$(key "$line" p99_ms)
	ratio=$(awk -v a="$p99" -v b="$basep99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	failed=$(($(key "$line" non2xx) + $(key "$line" errors)))
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$mode" \
		"$(key "$line" requests)" "$failed" "$(key "$line" torn)" "$(key "$line" stale)" \
		"$(key "$line" p50_ms)" "$p99" "$(key "$line" max_ms)" "$ratio" "$retire" "$start" "$rb" "${long:--}"
	printf '%s\t%s\n' "$mode" "$ratio" >> "$S/ratios.tsv"
done < "$S/rows.tsv"
echo
echo "## Median p99 ratio per mode over $RUNS runs"
echo
for mode in "${modes[@]}"; do
	printf '%-14s %s\n' "$mode" "$(awk -F'\t' -v m="$mode" '$1 == m { print $2 }' "$S/ratios.tsv" | median)"
done
