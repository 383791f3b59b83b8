# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/laravel.sh: the bundled Laravel app.
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
