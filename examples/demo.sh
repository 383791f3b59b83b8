#!/usr/bin/env bash
# make demo: cutover deploying the bundled Laravel app (examples/laravel)
# under live traffic, on a private nginx + php-fpm on a loopback port.
#
#   v1   first deploy (migrations create the notes table)
#   v2   under load: an additive migration and a visible change
#   rollback to v1, under load (v1 keeps working on v2's schema)
#   v3   whose /up fails: refused by the pre-switch check, never live;
#        then with the pre-switch check off, published, failing its health
#        check, and rolled back automatically (exit 3)
#
# Prints each step's duration and what the visitors saw: requests served,
# failed, torn. Exits non-zero if any request failed. Leaves nothing
# running and nothing mounted; everything lives in one scratch directory.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cutover=$top/build/cutover
loadgen=$top/build/loadgen
if [[ $(id -u) != 0 ]]; then
	echo "demo: run as root (cutover is a root tool; see docs/SECURITY.md)" >&2
	exit 1
fi
for f in "$cutover" "$loadgen"; do
	[[ -x $f ]] || { echo "demo: $f is missing; run 'make demo'" >&2; exit 1; }
done
[[ -f /usr/share/php/Illuminate/autoload.php ]] ||
	{ echo "demo: Debian's php-laravel-framework is missing; run 'bash .ci/deps.sh'" >&2; exit 1; }

# shellcheck source=../integration/lib/web.sh
source "$top/integration/lib/web.sh"

S=$(mktemp -d /tmp/cutover-demo.XXXXXX)
chmod 755 "$S"
load_pid=
cleanup()
{
	[[ -n $load_pid ]] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
	web_stop "$S/web" >/dev/null 2>&1 || true
	rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
steps=()
# step NAME EXPECTED_EXIT cutover-args...: runs cutover, times it, records it.
step()
{
	local name=$1 want=$2 t0 t1 rc=0
	shift 2
	bold "$name"
	t0=$(date +%s%N)
	"$cutover" -c "$S/$CONF" "$@" || rc=$?
	t1=$(date +%s%N)
	if [[ $rc != "$want" ]]; then
		echo "demo: '$name' exited $rc, expected $want" >&2
		exit 1
	fi
	steps+=("$(printf '%-58s %6.2f s   exit %d' "$name" "$(awk "BEGIN{print ($t1-$t0)/1e9}")" "$rc")")
	live=$(curl -fsS "http://127.0.0.1:$WEB_PORT/version" 2>/dev/null || echo '?')
	echo "live now: $live"
	echo "$(date +%s%N) $live" >> "$S/switch.log"
}

ROOT=$S/srv/shop
echo "demo: scratch directory $S"

bold "building the releases of the example app (v1, v2, v3)"
for v in v1 v2 v3; do
	"$top/examples/laravel/make-release.sh" "$v" "$S/src/$v" >/dev/null
done

# What an administrator prepares once: the shared .env (config:cache bakes
# it in at build time) and the SQLite database, writable by the deploy user
# (migrations) and the web group (the app).
mkdir -p "$ROOT/shared/db"
sed -e "s#^DB_DATABASE=.*#DB_DATABASE=$ROOT/shared/db/database.sqlite#" \
	-e "s#^APP_URL=.*#APP_URL=http://127.0.0.1#" \
	"$top/examples/laravel/app-v1/.env.example" > "$ROOT/shared/.env"
touch "$ROOT/shared/db/database.sqlite"
chown nobody:www-data "$ROOT/shared/.env" "$ROOT/shared/db" "$ROOT/shared/db/database.sqlite"
chmod 0640 "$ROOT/shared/.env"
chmod 2770 "$ROOT/shared/db"
chmod 0660 "$ROOT/shared/db/database.sqlite"

bold "starting nginx and php-fpm on loopback (process_control_timeout = 10s, OPcache on, \$realpath_root)"
WEB_PHP_INI_EXTRA=$(printf 'extension=%s\n' ctype mbstring intl tokenizer pdo pdo_sqlite)
export WEB_PHP_INI_EXTRA
mkdir -p "$S/web"
web_start "$S/web" "$ROOT/current/public" process_control_timeout=10s request_terminate_timeout=10s pm=static children=6
echo "serving on http://127.0.0.1:$WEB_PORT/"

write_conf()
{
	cat > "$S/$1" <<CONF
[app]
root = $ROOT
user = nobody
group = nogroup
web_group = www-data
preset = laravel
keep = 4
[fpm]
pid_file = $S/web/fpm.pid
socket = $S/web/fpm.sock
status_path = /fpm-status
[health]
url = http://127.0.0.1:$WEB_PORT/up
expect_body = OK
retries = 2
precheck = $2
CONF
}
write_conf app.conf yes
write_conf app-noprecheck.conf no
CONF=app.conf

step "deploy v1 (first release; migrations create the schema)" 0 deploy shop --from "$S/src/v1" --label v1

bold "starting the load: 16 connections on /probe, each response naming the release that ran it"
echo v1 > "$S/expect"
"$loadgen" --url "http://127.0.0.1:$WEB_PORT/probe" --connections 16 --duration 120 \
	--switch-log "$S/switch.log" --expect-marker-file "$S/expect" --quiet > "$S/load.out" 2>&1 &
load_pid=$!
sleep 2

step "deploy v2 under load (additive migration, visible change)" 0 deploy shop --from "$S/src/v2" --label v2
sleep 2
step "rollback to v1 under load (v1 runs on v2's schema)" 0 rollback shop
sleep 2
step "deploy v3, whose /up fails: refused before going live" 1 deploy shop --from "$S/src/v3" --label v3
sleep 1
CONF=app-noprecheck.conf
step "deploy v3 without the pre-switch check: rolled back automatically" 3 deploy shop --from "$S/src/v3" --label v3b
sleep 2

bold "stopping the load"
kill -INT "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=
summary=$(grep '^summary ' "$S/load.out" | tail -n 1)
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$summary"; }

bold "releases"
"$cutover" -c "$S/app.conf" list shop

bold "report"
printf '%s\n' "${steps[@]}"
echo
printf 'requests served: %s   ok (2xx): %s   failed (non-2xx): %s   socket errors: %s   torn: %s   p99 latency: %s ms\n' \
	"$(val requests)" "$(val ok)" "$(val non2xx)" "$(val errors)" "$(val torn)" "$(val p99_ms)"
if [[ -z $summary || $(val requests) == 0 || $(val non2xx) != 0 || $(val errors) != 0 || $(val torn) != 0 ]]; then
	echo "demo: FAILED: visitors saw errors (raw: ${summary:-no summary})" >&2
	exit 1
fi
echo "demo: every request succeeded through two deploys, a rollback and an automatic rollback"
