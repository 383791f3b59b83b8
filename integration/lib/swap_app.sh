# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/swap_app.sh: the web stack of the reload = swap tests.
#
# cutover runs the app's php-fpm masters itself (systemd units, here the
# test double of lib/swap.sh, inside the test's private mount namespace
# with its own /run); nginx (lib/web.sh, fpm_socket=) connects to the live
# socket /run/cutover/fpm/APP.sock. The releases are the test app's
# (integration/testapp/make.sh), deployed with deploy_version (lib/fpm.sh).

# swap_pool_template FILE [KEY=VALUE...]: the app's own pool file (what
# [fpm] config names): pool "APP", static 4 workers unless overridden;
# root-owned 0644.
swap_pool_template()
{
	local file=$1 arg
	local -A v=(
		[pm]=static
		[pm.max_children]=4
		[pm.start_servers]=""
		[pm.min_spare_servers]=""
		[pm.max_spare_servers]=""
		[pm.process_idle_timeout]=""
		[request_terminate_timeout]=10s
		[listen.owner]=www-data
		[listen.group]=www-data
		[listen.mode]=0660
		[pm.status_path]=/fpm-status
		[ping.path]=/fpm-ping
		[catch_workers_output]=yes
		[clear_env]=yes
	)
	shift
	for arg in "$@"; do
		v[${arg%%=*}]=${arg#*=}
	done
	{
		printf '; the app pool of %s (integration/lib/swap_app.sh)\n' "$APP"
		printf '[global]\nprocess_control_timeout = %s\n' "${SWAP_PCT:-10s}"
		printf '[%s]\n' "$APP"
		printf 'listen = /nonexistent/overridden-by-cutover.sock\n'
		for key in $(printf '%s\n' "${!v[@]}" | LC_ALL=C sort); do
			[[ -n ${v[$key]} ]] && printf '%s = %s\n' "$key" "${v[$key]}"
		done
		printf '%s\n' "${SWAP_POOL_EXTRA:-}"
	} > "$file" || fatal "cannot write $file"
	chown root:root "$file"
	chmod 0644 "$file"
}

# swap_app_init [POOL_KEY=VALUE...]: a new scratch dir S with ROOT, WEB,
# SRCS, CONF (web_app_config with reload = swap and the options in
# SWAP_FPM, e.g. SWAP_FPM=(fpm.keep_warm=0)), the pool template POOL, and
# nginx on LIVE_SOCK. The caller must have run swap_env_enter first (it
# re-executes the test inside its namespace).
swap_app_init()
{
	[[ -x $LOADGEN_BIN ]] || fatal "$LOADGEN_BIN is missing; run 'make build/loadgen' first"
	scratch_new S
	APP=${APP:-demo}
	ROOT=$S/root WEB=$S/web SRCS=$S/src CONF=$S/app.conf SWITCH_LOG=$S/switch.log
	LIVE_SOCK=/run/cutover/fpm/$APP.sock
	mkdir -m 0755 "$WEB" "$SRCS" "$S/etc" || fatal "cannot create $WEB and $SRCS"
	POOL=$S/etc/pool.conf
	swap_pool_template "$POOL" "$@"
	swap_double_start || fatal "the systemd test double did not start"
	at_exit "web_stop $(printf '%q' "$WEB")"
	web_start "$WEB" "$ROOT/current/public" fpm_socket="$LIVE_SOCK" request_terminate_timeout=10s ||
		fatal "web_start failed" "$(tail -n 5 "$WEB/nginx-error.log" 2>&1)"
	URL=$(web_url "$WEB")
	swap_app_config
}

# swap_app_config [SECTION.KEY=VALUE...]: CONF for reload = swap, with
# SWAP_FPM's and the arguments' overrides (an empty VALUE drops a key).
swap_app_config()
{
	web_app_config fpm.reload=swap fpm.config="$POOL" fpm.pid_file= fpm.socket= fpm.status_path= \
		fpm.max_inflight_ms= fpm.timeout=30 "${SWAP_FPM[@]}" "$@"
}

# live_target: where the live socket points ("" if it is not a symlink).
live_target()
{
	readlink "$LIVE_SOCK" 2> /dev/null || true
}
