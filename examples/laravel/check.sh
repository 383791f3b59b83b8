#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# examples/laravel/check.sh: deploys the example Laravel app by hand the way
# cutover lays releases out, serves it with integration/lib/web.sh (nginx + php-fpm as
# www-data on 127.0.0.1, $realpath_root) and checks what the demo and the
# tests rely on. Prints every build step's output, then one line per check
# and "N passed, N failed". Needs root and the packages in README.md.
#
#   ROOT/releases/ID   a release: make-release.sh, links to the shared
#                      storage/ and .env, artisan caches as the build user,
#                      then frozen (root-owned, no write bits)
#   ROOT/shared/       storage/, .env, database/database.sqlite
#   ROOT/current       -> releases/ID, switched with rename(2)
#
#   check.sh            the deploy checks: v1; v2 built and migrated under a
#                       live v1; v3 (failing /up) and a rollback; v-drop's
#                       migration under a live v2; the same-second view hazard
#   check.sh --pretend  also prints `migrate --pretend` for every version
#                       against v1 and v2 databases (what README.md records)
#
# Everything happens in a scratch directory under /tmp, removed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build_user=${BUILD_USER:-nobody}
pretend=0
[[ ${1:-} == --pretend ]] && pretend=1

if [[ $(id -u) != 0 ]]; then
	echo "check.sh: run as root (php-fpm and nginx run their workers as www-data)" >&2
	exit 1
fi
for f in /usr/share/php/Illuminate/autoload.php /usr/share/php/Doctrine/DBAL/autoload.php \
	/usr/lib/php/*/pdo_sqlite.so /usr/lib/php/*/intl.so /usr/lib/php/*/mbstring.so; do
	if [[ ! -e $f ]]; then
		echo "check.sh: $f is missing; install the packages listed in $here/README.md" >&2
		exit 1
	fi
done
# shellcheck source=../../integration/lib/web.sh
source "$top/integration/lib/web.sh"

# PHP-FPM under web.sh reads only its own php.ini (PHP_INI_SCAN_DIR=""), so
# the extensions Debian enables through conf.d must be loaded here.
WEB_PHP_INI_EXTRA=$(printf 'extension=%s\n' ctype mbstring intl tokenizer pdo pdo_sqlite)
export WEB_PHP_INI_EXTRA

S=$(mktemp -d /tmp/laravel-check.XXXXXX)
chmod 755 "$S"
cleanup()
{
	web_stop "$S/web" || true
	rm -rf "$S"
}
trap cleanup EXIT

ROOT=$S/root
mkdir -p "$ROOT/releases" "$ROOT/shared/database" "$S/web" "$S/jar"
cp -R "$here/app-v1/storage" "$ROOT/shared/storage"
sed -e "s#^DB_DATABASE=.*#DB_DATABASE=$ROOT/shared/database/database.sqlite#" \
	"$here/app-v1/.env.example" > "$ROOT/shared/.env"
touch "$ROOT/shared/database/database.sqlite"
# The build user writes the database (migrate) and the cache (queue:restart),
# www-data the database, sessions, cache and logs. Outside this check they
# would share a group; here everything shared is world-writable.
chmod 644 "$ROOT/shared/.env"
chmod 777 "$ROOT/shared/database"
chmod 666 "$ROOT/shared/database/database.sqlite"

passed=0 failed=0
ok()
{
	echo "ok - $1"
	passed=$((passed + 1))
}
fail()
{
	echo "FAIL - $1${2:+: $2}"
	failed=$((failed + 1))
}
say() { printf '\n== %s\n' "$*"; }

as_build() { runuser -u "$build_user" -- "$@"; }

# artisan ID ARGS...: php artisan in release ID as the build user, echoed.
artisan()
{
	local id=$1
	shift
	echo "\$ php artisan $*"
	(cd "$ROOT/releases/$id" && as_build php artisan "$@")
}

# build ID VERSION: a frozen release of VERSION at ROOT/releases/ID.
build()
{
	local id=$1 version=$2 rel=$ROOT/releases/$1 step

	say "build $id ($version)"
	"$here/make-release.sh" "$version" "$rel"
	rm -rf "$rel/storage"
	ln -s ../../shared/storage "$rel/storage"
	ln -s ../../shared/.env "$rel/.env"
	chown -hR "$build_user:" "$rel"
	for step in config:cache route:cache view:cache event:cache; do
		artisan "$id" "$step"
	done
	chown -hR root:root "$rel"
	chmod -R a-w "$rel"
}

switch_to()
{
	ln -sfn "releases/$1" "$ROOT/current.new"
	mv -T "$ROOT/current.new" "$ROOT/current"
	say "switched to $1"
}

url=
# http METHOD PATH [JAR [DATA]]: prints the status; the body goes to
# $S/body. JAR names a cookie jar (a client); none: a cookieless client.
http()
{
	local method=$1 path=$2 jar=${3:-} data=${4:-}
	local args=(-s -o "$S/body" -w '%{http_code}' -X "$method")

	[[ -n $jar ]] && args+=(-b "$S/jar/$jar" -c "$S/jar/$jar")
	[[ -n $data ]] && args+=(--data "$data")
	curl "${args[@]}" "$url$path"
}
body() { cat "$S/body"; }
token() { grep -o 'name="_token" value="[^"]*"' "$S/body" | head -n 1 | cut -d'"' -f4; }

# expect NAME WANT_STATUS METHOD PATH [JAR [DATA [GREP]]]
expect()
{
	local name=$1 want=$2 method=$3 path=$4 jar=${5:-} data=${6:-} pattern=${7:-} got

	got=$(http "$method" "$path" "$jar" "$data") || got="curl failed"
	if [[ $got != "$want" ]]; then
		fail "$name" "HTTP $got, want $want; body: $(head -c 300 "$S/body" | tr '\n' ' ')"
	elif [[ -n $pattern ]] && ! grep -q -- "$pattern" "$S/body"; then
		fail "$name" "no '$pattern' in the body: $(head -c 300 "$S/body" | tr '\n' ' ')"
	else
		ok "$name"
	fi
}

# ---------------------------------------------------------------- v1
# The build steps must not need the shared storage: make it read-only for
# the first build, then writable for migrate and the web server.
chmod -R a-w "$ROOT/shared/storage"
build r1 v1
chmod -R a+rwX "$ROOT/shared/storage"
# Whoever logs first creates laravel.log 0644; the other user could then not
# append (and an artisan command whose error cannot be logged exits 0).
install -m 666 /dev/null "$ROOT/shared/storage/logs/laravel.log"
say "migrate r1"
artisan r1 migrate --force
switch_to r1

say "bootstrap/cache/config.php of r1 (excerpt)"
grep -n -E "'(key|database|files|compiled|version)' =>|/resources/views'" "$ROOT/releases/r1/bootstrap/cache/config.php"

say "start nginx + php-fpm"
web_start "$S/web" "$ROOT/current/public"
url=$(web_url "$S/web")
echo "$url"

say "checks on v1"
expect "v1: GET / is 200 and shows version: v1" 200 GET / "" "" "version: v1"
grep -o 'Hello from the database: [^<]*' "$S/body" || true
expect "v1: GET /up is OK" 200 GET /up "" "" "^OK$"
expect "v1: GET /version is v1" 200 GET /version "" "" "^v1$"
expect "v1: GET /nope is 404 (precompiled error view)" 404 GET /nope "" "" "Not Found"

expect "v1: GET /login" 200 GET /login alice
t=$(token)
expect "v1: POST /login with the CSRF token redirects" 302 POST /login alice "_token=$t&name=alice"
expect "v1: GET /me shows the session's name" 200 GET /me alice "" "name: alice"

expect "v1: GET /note shows the form with a CSRF token" 200 GET /note alice "" 'name="_token"'
t=$(token)
expect "v1: POST /note with the token redirects" 302 POST /note alice "_token=$t&body=first+note"
expect "v1: the note is on the home page" 200 GET / alice "" "first note"
expect "v1: POST /note without a token is 419" 419 POST /note alice "body=no+token" "Page Expired"
expect "v1: POST /note from a new client without a token is 419" 419 POST /note "" "body=no+token"

say ".env is not read once the config is cached"
sed -i 's/^APP_NAME=.*/APP_NAME=changed-after-build/' "$ROOT/shared/.env"
expect "v1: the title still says cutover-demo after .env changed" 200 GET / "" "" "· cutover-demo</title>"
# shellcheck disable=SC2016 # PHP code
(cd "$ROOT/current" && as_build php -r '
	require "vendor/autoload.php";
	$app = require "bootstrap/app.php";
	$app->make(Illuminate\Contracts\Console\Kernel::class)->bootstrap();
	echo "env(APP_NAME)=", var_export(env("APP_NAME"), true), " config(app.name)=", var_export(config("app.name"), true), "\n";
') | tee "$S/envcheck"
if grep -q "env(APP_NAME)=NULL config(app.name)='cutover-demo'" "$S/envcheck"; then
	ok "v1: env() is null and config() is the baked value after config:cache"
else
	fail "v1: env() is null and config() is the baked value after config:cache"
fi
sed -i 's/^APP_NAME=.*/APP_NAME=cutover-demo/' "$ROOT/shared/.env"

say "queue:restart"
if artisan r1 queue:restart; then ok "queue:restart exits 0 (file cache)"; else fail "queue:restart exits 0 (file cache)"; fi

# ---------------------------------------------------------------- v2
build r2 v2
say "migrate r2 while r1 (v1) is live"
artisan r2 migrate --force
expect "v1 on the v2 schema: GET / is 200" 200 GET / alice "" "version: v1"
expect "v1 on the v2 schema: GET /note" 200 GET /note alice
t=$(token)
expect "v1 on the v2 schema: POST /note (body only) redirects" 302 POST /note alice "_token=$t&body=v1+on+v2+schema"
expect "v1: GET /note again, for a token used after the switch" 200 GET /note alice
t_v1=$(token)
switch_to r2
expect "v2: GET / shows version: v2" 200 GET / alice "" "version: v2"
expect "v2: the session survived the deploy" 200 GET /me alice "" "name: alice"
expect "v2: a CSRF token from v1's form is accepted" 302 POST /note alice "_token=$t_v1&body=posted+across+the+switch"
expect "v2: GET /note has the author field" 200 GET /note alice "" 'name="author"'
t=$(token)
expect "v2: POST /note with an author redirects" 302 POST /note alice "_token=$t&body=second+note&author=bob"
expect "v2: the home page shows the author" 200 GET / alice "" "by bob"
expect "v2: GET /up is OK" 200 GET /up "" "" "^OK$"

# ---------------------------------------------------------------- v3
build r3 v3
switch_to r3
expect "v3: GET /up is 500" 500 GET /up "" "" "Server Error"
expect "v3: GET / still works" 200 GET / alice "" "version: v3"
switch_to r2
expect "rolled back to v2: GET /up is OK" 200 GET /up "" "" "^OK$"
expect "rolled back to v2: GET /version is v2" 200 GET /version "" "" "^v2$"

# ---------------------------------------------------------------- v-drop
build r4 v-drop
say "migrate r4 (v-drop) while r2 (v2) is live"
artisan r4 migrate --force
# SQLite takes a double-quoted identifier that names no column for a string
# literal: v2's select "author" now yields a column named "author" (quotes
# included) holding the text author, and no error; $note->author is null.
expect "v2 after v-drop's migration: GET / is still 200 (SQLite's quoted-identifier fallback)" 200 GET / alice "" "by anonymous"
if grep -q "by bob" "$S/body"; then
	fail "v2 after v-drop's migration: bob's authorship is gone from the page"
else
	ok "v2 after v-drop's migration: bob's authorship is gone from the page"
fi
expect "v2 after v-drop's migration: GET /note" 200 GET /note alice
t=$(token)
expect "v2 after v-drop's migration: POST /note fails (no column author)" 500 POST /note alice "_token=$t&body=lost&author=carol"
switch_to r4
expect "v-drop: GET / works again" 200 GET / alice "" "version: v-drop"

# ---------------------------------------------------------------- hazard
# Blade recompiles a view whose source mtime, in whole seconds, is >= its
# compiled file's. In a frozen release that compile fails: a source written
# in the same second as `view:cache` ran makes its pages 500.
build r5 v-drop
view=$ROOT/releases/r5/resources/views/home.blade.php
# shellcheck disable=SC2016 # PHP code
compiled=$ROOT/releases/r5/bootstrap/cache/views/$(php -r 'echo sha1("v2".$argv[1]);' "$view").php
touch -r "$compiled" "$view"
switch_to r5
expect "hazard: a view as new as its compiled file makes GET / 500 in a frozen release" 500 GET / alice
expect "hazard: pages whose views are older still work" 200 GET /note alice
switch_to r4

say "laravel.log"
cut -c1-200 "$ROOT/shared/storage/logs/laravel.log" | grep -E '^\[' || true

# ---------------------------------------------------------------- pretend
if ((pretend)); then
	say "migrate --pretend for every version"
	mkdir -p "$S/pretend/db"
	chmod 777 "$S/pretend" "$S/pretend/db"
	# Source trees (not frozen, no config cache) so that DB_DATABASE from
	# the environment picks the database.
	for v in v1 v2 v3 v-drop v-rename v-change; do
		"$here/make-release.sh" "$v" "$S/pretend/$v" > /dev/null
		rm -rf "$S/pretend/$v/storage"
		ln -s "$ROOT/shared/storage" "$S/pretend/$v/storage"
		ln -s "$ROOT/shared/.env" "$S/pretend/$v/.env"
		chown -hR "$build_user:" "$S/pretend/$v"
	done
	pmigrate() # VERSION DB [--pretend]
	{
		(cd "$S/pretend/$1" && as_build env DB_DATABASE="$S/pretend/db/$2.sqlite" LOG_CHANNEL=stderr \
			php artisan migrate --force "${@:3}" 2>&1)
	}
	for db in v1 v2; do
		install -m 666 /dev/null "$S/pretend/db/$db.sqlite"
	done
	out=$(pmigrate v1 v1) || fail "migrate a v1 database" "$out"
	out=$(pmigrate v2 v2) || fail "migrate a v2 database" "$out"
	for db in v1 v2; do
		for v in v1 v2 v3 v-drop v-rename v-change; do
			echo "\$ php artisan migrate --pretend --force    # $v on a $db database"
			pmigrate "$v" "$db" --pretend || echo "[exit $?]"
		done
	done
fi

printf '\n%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
