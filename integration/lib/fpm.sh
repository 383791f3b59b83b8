# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/fpm.sh: the web stack of the fpm tests.
#
# For integration/test_fpm_*.sh: a private nginx + php-fpm stack on
# loopback (lib/web.sh) serving ROOT/current/public, releases of the
# test app (integration/testapp/make.sh) deployed into ROOT by cutover,
# and loadgen (lib/load.sh) counting what visitors saw. Each release is
# made with a label (v1, v2, ...) that the app prints ("a=v1 b=v1 i=v1")
# and that cutover appends to its release id (...-v1); loadgen only knows
# the labels, so the switch log names labels, never cutover's ids.

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
