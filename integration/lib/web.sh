# SPDX-License-Identifier: MIT
#
# integration/lib/web.sh: a private nginx + php-fpm stack on loopback, for
# the integration tests (integration/lib.sh loads it), `make bench` and the
# examples. Source it; it defines functions only and changes no shell
# option, so scripts outside the test suite can use it alone.
#
#   web_start DIR DOCROOT [NAME=VALUE...]  write configs into DIR, start both, wait
#   web_stop DIR                           stop both; safe twice and in an EXIT trap
#   web_port DIR / web_url DIR             the port / http://127.0.0.1:PORT
#   web_fpm_pid DIR                        the php-fpm master's pid
#   web_fpm_reload DIR [--wait [SECONDS]]  raw SIGUSR2 to the master
#   web_status DIR                         /fpm-status?full through nginx
#
# With fpm_socket=PATH only nginx is started, passing PHP requests to PATH
# (a php-fpm that someone else runs: cutover's reload = swap pools); the
# start then waits for nginx alone.
#
# Everything a stack owns lives in DIR (a directory the caller made, which
# www-data must be able to traverse): nginx.conf, php-fpm.conf, php.ini,
# the pid files, the logs, nginx's temporary directories and fpm.sock. The
# processes are found only through their pid files, and a pid is signalled
# only while /proc shows it is still the process started for DIR, so two
# stacks in two directories never touch each other. See bench/README.md
# for the options.

WEB_PHP_FPM=${WEB_PHP_FPM:-/usr/sbin/php-fpm8.2}
WEB_NGINX=${WEB_NGINX:-/usr/sbin/nginx}

# Option names web_start accepts, in the order the README lists them. Each
# defaults to the environment variable WEB_<NAME in capitals>, then to the
# value here.
WEB__OPTIONS=(root_var process_control_timeout pm children start_servers
	min_spare_servers max_spare_servers process_idle_timeout
	request_terminate_timeout opcache opcache_memory opcache_max_files
	opcache_validate_timestamps opcache_file_update_protection port port_from
	nginx_workers access_log user group start_timeout stop_timeout fpm_socket)
declare -gA WEB__DEFAULTS=(
	[root_var]=realpath_root
	[process_control_timeout]=10s
	[pm]=static
	[children]=8
	[start_servers]=""
	[min_spare_servers]=""
	[max_spare_servers]=""
	[process_idle_timeout]=10s
	[request_terminate_timeout]=60s
	[opcache]=1
	[opcache_memory]=128
	[opcache_max_files]=10000
	[opcache_validate_timestamps]=0
	[opcache_file_update_protection]=0
	[port]=""
	[port_from]=18080
	[nginx_workers]=2
	[access_log]=off
	[user]=www-data
	[group]=www-data
	[start_timeout]=10
	[stop_timeout]=5
	[fpm_socket]=""
)

web__err()
{
	printf 'web.sh: %s\n' "$*" >&2
	return 1
}

# web__dir DIR: DIR without "//", "/./" or a trailing slash, so that the
# configs, the process titles and later calls all spell it the same way
# (web__pid matches it in /proc). Symlinks are left alone.
web__dir()
{
	realpath -ms -- "$1"
}

# web__pid DIR NAME: prints the pid recorded in DIR/NAME.pid if that process
# is alive and its command line still names DIR (nginx and php-fpm both put
# their config path in their process title); fails otherwise, so a stale
# pid file never leads to signalling a stranger.
web__pid()
{
	local dir=$1 name=$2 pid cmdline

	[[ -r $dir/$name.pid ]] || return 1
	# php-fpm writes its pid file without a newline: read fails at EOF.
	read -r pid 2> /dev/null < "$dir/$name.pid" || [[ -n ${pid:-} ]] || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null) || return 1
	[[ $cmdline == *"$dir/"* ]] || return 1
	printf '%s\n' "$pid"
}

# web__tree PID: PID and its direct children (nginx and php-fpm workers are
# children of their master; neither forks deeper).
web__tree()
{
	local pid=$1

	printf '%s\n' "$pid"
	pgrep -P "$pid" 2> /dev/null || true
}

# web__alive PID...: succeeds while any of the pids still exists (zombies
# count as gone).
web__alive()
{
	local pid state

	for pid in "$@"; do
		state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2> /dev/null) || continue
		[[ -n $state && $state != Z ]] && return 0
	done
	return 1
}

# web__wait_gone SECONDS PID...: waits until none of the pids is alive.
web__wait_gone()
{
	local timeout=$1 deadline
	shift

	deadline=$((SECONDS + timeout))
	while web__alive "$@"; do
		((SECONDS >= deadline)) && return 1
		sleep 0.05
	done
	return 0
}

# web__stop_one DIR NAME TIMEOUT: TERM to the master (both stop at once
# on TERM: nginx closes its connections, php-fpm kills its children), then
# KILL to the master and every child it had, if they outlive TIMEOUT.
web__stop_one()
{
	local dir=$1 name=$2 timeout=$3 pid pids

	pid=$(web__pid "$dir" "$name") || { rm -f "$dir/$name.pid"; return 0; }
	mapfile -t pids < <(web__tree "$pid")
	kill -TERM "$pid" 2> /dev/null || true
	if ! web__wait_gone "$timeout" "${pids[@]}"; then
		mapfile -t -O "${#pids[@]}" pids < <(pgrep -P "$pid" 2> /dev/null || true)
		web__err "$name (pid $pid) did not stop within ${timeout}s of SIGTERM; sending SIGKILL" || true
		kill -KILL "${pids[@]}" 2> /dev/null || true
		web__wait_gone 5 "${pids[@]}" ||
			{ web__err "$name (pids ${pids[*]}) survived SIGKILL"; return 1; }
	fi
	rm -f "$dir/$name.pid"
	return 0
}

# web__port_free PORT: nothing accepts on 127.0.0.1:PORT. Only a hint:
# the real test is nginx's own bind(), retried on the next port when it
# fails, which also settles races between stacks started in parallel.
web__port_free()
{
	! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null
}

# web__write_php_ini DIR: only this file configures PHP (the fpm master
# runs with -c DIR/php.ini and an empty PHP_INI_SCAN_DIR, so Debian's
# conf.d is not read). The test app needs nothing beyond the built-in
# extensions; OPcache is loaded explicitly. file_update_protection is 0,
# not PHP's 2 s: a test deploys releases written a moment earlier, and
# OPcache would otherwise compile them afresh on every request for their
# first 2 s, right where a test measures the switch.
web__write_php_ini()
{
	local dir=$1

	cat > "$dir/php.ini" <<-EOF
	; written by integration/lib/web.sh
	zend_extension=opcache
	opcache.enable=${WEB__OPT[opcache]}
	opcache.enable_cli=0
	opcache.validate_timestamps=${WEB__OPT[opcache_validate_timestamps]}
	opcache.file_update_protection=${WEB__OPT[opcache_file_update_protection]}
	opcache.memory_consumption=${WEB__OPT[opcache_memory]}
	opcache.max_accelerated_files=${WEB__OPT[opcache_max_files]}
	opcache.interned_strings_buffer=16
	opcache.jit=off
	display_errors=Off
	log_errors=On
	memory_limit=256M
	max_execution_time=0
	${WEB_PHP_INI_EXTRA:-}
	EOF
}

web__write_fpm_conf()
{
	local dir=$1 pm=${WEB__OPT[pm]} n=${WEB__OPT[children]} start min max

	start=${WEB__OPT[start_servers]:-$(((n + 3) / 4))}
	min=${WEB__OPT[min_spare_servers]:-1}
	max=${WEB__OPT[max_spare_servers]:-$(((n + 1) / 2))}
	{
		cat <<-EOF
		; written by integration/lib/web.sh
		[global]
		pid = $dir/fpm.pid
		error_log = $dir/fpm.log
		log_level = notice
		daemonize = yes
		process_control_timeout = ${WEB__OPT[process_control_timeout]}

		[bench]
		user = ${WEB__OPT[user]}
		group = ${WEB__OPT[group]}
		listen = $dir/fpm.sock
		listen.owner = ${WEB__OPT[user]}
		listen.group = ${WEB__OPT[group]}
		listen.mode = 0660
		listen.backlog = 1024
		pm = $pm
		pm.max_children = $n
		pm.status_path = /fpm-status
		ping.path = /fpm-ping
		request_terminate_timeout = ${WEB__OPT[request_terminate_timeout]}
		catch_workers_output = yes
		decorate_workers_output = no
		clear_env = yes
		EOF
		case $pm in
		dynamic)
			printf 'pm.start_servers = %s\npm.min_spare_servers = %s\npm.max_spare_servers = %s\n' \
				"$start" "$min" "$max"
			;;
		ondemand)
			printf 'pm.process_idle_timeout = %s\n' "${WEB__OPT[process_idle_timeout]}"
			;;
		esac
	} > "$dir/php-fpm.conf"
}

# The FastCGI parameters, written out in full rather than included from
# /etc/nginx so that SCRIPT_FILENAME and DOCUMENT_ROOT are each sent once,
# from the variable under test.
web__fastcgi_params()
{
	local root=$1

	cat <<-EOF
	fastcgi_split_path_info ^(.+?\.php)(/.*)\$;
	fastcgi_param SCRIPT_FILENAME   $root\$fastcgi_script_name;
	fastcgi_param DOCUMENT_ROOT     $root;
	fastcgi_param SCRIPT_NAME       \$fastcgi_script_name;
	fastcgi_param PATH_INFO         \$fastcgi_path_info;
	fastcgi_param QUERY_STRING      \$query_string;
	fastcgi_param REQUEST_METHOD    \$request_method;
	fastcgi_param CONTENT_TYPE      \$content_type;
	fastcgi_param CONTENT_LENGTH    \$content_length;
	fastcgi_param REQUEST_URI       \$request_uri;
	fastcgi_param DOCUMENT_URI      \$document_uri;
	fastcgi_param SERVER_PROTOCOL   \$server_protocol;
	fastcgi_param REQUEST_SCHEME    \$scheme;
	fastcgi_param GATEWAY_INTERFACE CGI/1.1;
	fastcgi_param SERVER_SOFTWARE   nginx;
	fastcgi_param REMOTE_ADDR       \$remote_addr;
	fastcgi_param REMOTE_PORT       \$remote_port;
	fastcgi_param SERVER_ADDR       \$server_addr;
	fastcgi_param SERVER_PORT       \$server_port;
	fastcgi_param SERVER_NAME       \$server_name;
	fastcgi_param HTTP_PROXY        "";
	fastcgi_param REDIRECT_STATUS   200;
	EOF
}

web__write_nginx_conf()
{
	local dir=$1 docroot=$2 port=$3 root access params pass

	root=\$${WEB__OPT[root_var]}
	pass=${WEB__OPT[fpm_socket]:-$dir/fpm.sock}
	access="access_log off;"
	[[ ${WEB__OPT[access_log]} == on ]] && access="access_log $dir/nginx-access.log;"
	params=$(web__fastcgi_params "$root" | sed 's/^/            /')
	cat > "$dir/nginx.conf" <<-EOF
	# written by integration/lib/web.sh
	user ${WEB__OPT[user]} ${WEB__OPT[group]};
	worker_processes ${WEB__OPT[nginx_workers]};
	daemon on;
	pid $dir/nginx.pid;
	error_log $dir/nginx-error.log warn;
	events {
	    worker_connections 4096;
	}
	http {
	    $access
	    client_body_temp_path $dir/tmp/body;
	    fastcgi_temp_path $dir/tmp/fastcgi;
	    proxy_temp_path $dir/tmp/proxy;
	    scgi_temp_path $dir/tmp/scgi;
	    uwsgi_temp_path $dir/tmp/uwsgi;
	    types {
	        text/html html;
	        text/plain txt;
	    }
	    default_type application/octet-stream;
	    sendfile on;
	    tcp_nodelay on;
	    keepalive_timeout 75s;
	    keepalive_requests 1000000;
	    server_tokens off;
	    server {
	        listen 127.0.0.1:$port;
	        server_name localhost;
	        root $docroot;
	        index index.php;

	        location / {
	            try_files \$uri /index.php?\$query_string;
	        }
	        location ~ \.php(/|\$) {
	$params
	            try_files \$fastcgi_script_name =404;
	            fastcgi_pass unix:$pass;
	        }
	        location ~ ^/fpm-(status|ping)\$ {
	            allow 127.0.0.1;
	            deny all;
	            fastcgi_param SCRIPT_NAME \$uri;
	            fastcgi_param SCRIPT_FILENAME \$uri;
	            fastcgi_param QUERY_STRING \$query_string;
	            fastcgi_param REQUEST_METHOD \$request_method;
	            fastcgi_param REQUEST_URI \$request_uri;
	            fastcgi_pass unix:$pass;
	        }
	    }
	}
	EOF
}

# web__parse_options NAME=VALUE...: fills WEB__OPT from defaults, the
# environment and the arguments, and checks each value's shape, so that a
# typo fails here rather than as a config error inside a daemon's log.
web__parse_options()
{
	local arg name value env

	WEB__OPT=()
	for name in "${WEB__OPTIONS[@]}"; do
		env=WEB_${name^^}
		# WEB_PORT is what web_start exports, never an input.
		[[ $name == port ]] && env=WEB__NO_SUCH_VARIABLE
		WEB__OPT[$name]=${!env-${WEB__DEFAULTS[$name]}}
	done
	for arg in "$@"; do
		[[ $arg == *=* ]] || { web__err "web_start: '$arg' is not NAME=VALUE; options: ${WEB__OPTIONS[*]}"; return 1; }
		name=${arg%%=*} value=${arg#*=}
		[[ -v WEB__DEFAULTS[$name] ]] || { web__err "web_start: unknown option '$name'; options: ${WEB__OPTIONS[*]}"; return 1; }
		WEB__OPT[$name]=$value
	done
	for name in "${!WEB__OPT[@]}"; do
		value=${WEB__OPT[$name]}
		case $name in
		root_var) [[ $value == realpath_root || $value == document_root ]] ;;
		pm) [[ $value == static || $value == dynamic || $value == ondemand ]] ;;
		access_log) [[ $value == on || $value == off ]] ;;
		opcache | opcache_validate_timestamps) [[ $value == [01] ]] ;;
		user | group) [[ $value =~ ^[a-z_][a-z0-9_-]*$ ]] ;;
		*timeout) [[ $value =~ ^[0-9]+[smh]?$ ]] ;;
		port) [[ -z $value || $value =~ ^[0-9]+$ ]] ;;
		fpm_socket) [[ -z $value || $value == /* ]] ;;
		start_servers | min_spare_servers | max_spare_servers) [[ -z $value || $value =~ ^[0-9]+$ ]] ;;
		*) [[ $value =~ ^[0-9]+$ ]] ;;
		esac || { web__err "web_start: bad value '$value' for $name"; return 1; }
	done
	# Shell waits take plain seconds.
	[[ ${WEB__OPT[start_timeout]} =~ ^[0-9]+$ && ${WEB__OPT[stop_timeout]} =~ ^[0-9]+$ ]] ||
		{ web__err "web_start: start_timeout and stop_timeout are plain seconds"; return 1; }
}

# web__can_reach USER PATH: USER can traverse to PATH or, while PATH does
# not exist yet (a docroot whose first release comes later), to its
# nearest existing ancestor.
web__can_reach()
{
	local user=$1 path=$2

	while [[ ! -e $path && $path == /?* ]]; do
		path=$(dirname "$path")
	done
	setpriv --reuid="$user" --regid="$user" --clear-groups -- test -x "$path"
}

# web__wait_ready DIR PORT TIMEOUT: both answer when /fpm-ping, which nginx
# passes to php-fpm without touching the app, returns "pong". Sets
# WEB__LAST_ANSWER (the last HTTP status, or why there was none) for the
# failure message.
web__wait_ready()
{
	local dir=$1 port=$2 timeout=$3 deadline out

	deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		out=$(curl -s --max-time 1 -w ' %{http_code}' "http://127.0.0.1:$port/fpm-ping" 2> /dev/null)
		[[ $out == "pong 200" ]] && return 0
		WEB__LAST_ANSWER="HTTP status ${out##* }"
		# An external pool may not run yet: nginx answering at all (502) is enough.
		[[ -n ${WEB__OPT[fpm_socket]} && ${out##* } =~ ^[1-5][0-9][0-9]$ ]] && return 0
		if ! web__pid "$dir" nginx > /dev/null ||
			{ [[ -z ${WEB__OPT[fpm_socket]} ]] && ! web__pid "$dir" fpm > /dev/null; }; then
			WEB__LAST_ANSWER="a daemon exited"
			return 1
		fi
		sleep 0.05
	done
	return 1
}

web__start_fpm()
{
	local dir=$1 out

	if ! out=$(PHP_INI_SCAN_DIR="" "$WEB_PHP_FPM" --fpm-config "$dir/php-fpm.conf" \
		-c "$dir/php.ini" --pid "$dir/fpm.pid" --daemonize < /dev/null 2>&1); then
		web__err "web_start: php-fpm failed to start: $out (see $dir/fpm.log)"
		return 1
	fi
}

# web__start_nginx DIR DOCROOT: binds the first port from port_from that
# nginx can have (or exactly `port`), and sets WEB_PORT.
web__start_nginx()
{
	local dir=$1 docroot=$2 port last out

	port=${WEB__OPT[port]:-${WEB__OPT[port_from]}}
	last=$port
	[[ -z ${WEB__OPT[port]} ]] && last=$((port + 199))
	for (( ; port <= last; port++)); do
		web__port_free "$port" || continue
		web__write_nginx_conf "$dir" "$docroot" "$port"
		if out=$("$WEB_NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log" \
			< /dev/null 2>&1); then
			printf '%s\n' "$port" > "$dir/port"
			WEB_PORT=$port
			export WEB_PORT
			return 0
		fi
		[[ $out == *"Address already in use"* ]] && continue
		web__err "web_start: nginx failed to start: $out (see $dir/nginx-error.log)"
		return 1
	done
	web__err "web_start: no free port in ${WEB__OPT[port]:-${WEB__OPT[port_from]}}..$last on 127.0.0.1; set port_from=N"
	return 1
}

# web_start DIR DOCROOT [NAME=VALUE...]: see the top of this file and
# bench/README.md. On failure nothing is left running.
web_start()
{
	local dir=${1:-} docroot=${2:-}
	local -A WEB__OPT
	local WEB__LAST_ANSWER="no answer"

	if [[ $# -lt 2 || $dir != /* || $docroot != /* ]]; then
		web__err "usage: web_start DIR DOCROOT [NAME=VALUE...] (DIR and DOCROOT absolute)"
		return 1
	fi
	shift 2
	dir=$(web__dir "$dir") docroot=$(web__dir "$docroot")
	web__parse_options "$@" || return 1
	[[ -d $dir ]] || { web__err "web_start: $dir is not a directory; make it first"; return 1; }
	[[ $(id -u) == 0 ]] || { web__err "web_start: must run as root (the workers run as ${WEB__OPT[user]})"; return 1; }
	if web__pid "$dir" nginx > /dev/null || web__pid "$dir" fpm > /dev/null; then
		web__err "web_start: a stack is already running in $dir; web_stop it first"
		return 1
	fi
	if ! id -u "${WEB__OPT[user]}" > /dev/null 2>&1 || ! getent group "${WEB__OPT[group]}" > /dev/null; then
		web__err "web_start: user '${WEB__OPT[user]}' or group '${WEB__OPT[group]}' does not exist"
		return 1
	fi
	if ! web__can_reach "${WEB__OPT[user]}" "$dir"; then
		web__err "web_start: ${WEB__OPT[user]} cannot traverse $dir (it holds fpm.sock); chmod 755 it and its parents"
		return 1
	fi
	if ! web__can_reach "${WEB__OPT[user]}" "$docroot"; then
		web__err "web_start: ${WEB__OPT[user]} cannot reach $docroot; make it and its parents world-searchable"
		return 1
	fi
	rm -f "$dir/fpm.sock" "$dir/port"
	mkdir -p "$dir/tmp"
	web__write_php_ini "$dir"
	web__write_fpm_conf "$dir"
	if [[ -z ${WEB__OPT[fpm_socket]} ]]; then
		web__start_fpm "$dir" || { web_stop "$dir"; return 1; }
	fi
	web__start_nginx "$dir" "$docroot" || { web_stop "$dir"; return 1; }
	if ! web__wait_ready "$dir" "$WEB_PORT" "${WEB__OPT[start_timeout]}"; then
		web__err "web_start: http://127.0.0.1:$WEB_PORT/fpm-ping did not answer pong within ${WEB__OPT[start_timeout]}s ($WEB__LAST_ANSWER); see $dir/nginx-error.log and $dir/fpm.log"
		web_stop "$dir"
		return 1
	fi
	printf '%s\n' "${WEB__OPT[stop_timeout]}" > "$dir/stop_timeout"
	return 0
}

# web_stop DIR: stops nginx, then php-fpm, and waits until every process
# of both is gone. Idempotent; does nothing for a DIR with no stack.
web_stop()
{
	local dir=${1:-} timeout=5 rc=0

	[[ -n $dir ]] || { web__err "usage: web_stop DIR"; return 1; }
	dir=$(web__dir "$dir")
	[[ -r $dir/stop_timeout ]] && read -r timeout 2> /dev/null < "$dir/stop_timeout"
	[[ $timeout =~ ^[0-9]+$ ]] || timeout=5
	web__stop_one "$dir" nginx "$timeout" || rc=1
	web__stop_one "$dir" fpm "$timeout" || rc=1
	rm -f "$dir/fpm.sock"
	return $rc
}

web_port()
{
	local port

	read -r port 2> /dev/null < "$(web__dir "${1:?usage: web_port DIR}")/port" ||
		{ web__err "web_port: no stack started in $1"; return 1; }
	printf '%s\n' "$port"
}

web_url()
{
	local port

	port=$(web_port "${1:?usage: web_url DIR}") || return 1
	printf 'http://127.0.0.1:%s\n' "$port"
}

web_fpm_pid()
{
	web__pid "$(web__dir "${1:?usage: web_fpm_pid DIR}")" fpm ||
		{ web__err "web_fpm_pid: no php-fpm running for $1"; return 1; }
}

# web_fpm_reload DIR [--wait [SECONDS]]: SIGUSR2 to the master, exactly
# what a deploy script without cutover would do. With --wait, returns once
# the master has logged that it is ready again (default 30 s) — that is,
# after the old workers finished or process_control_timeout ran out.
web_fpm_reload()
{
	local dir=${1:?usage: web_fpm_reload DIR [--wait [SECONDS]]} wait=${2:-} timeout=${3:-30}
	local pid before deadline

	dir=$(web__dir "$dir")
	pid=$(web_fpm_pid "$dir") || return 1
	before=$(grep -c 'ready to handle connections' "$dir/fpm.log" 2> /dev/null) || true
	kill -USR2 "$pid" || return 1
	[[ $wait == --wait ]] || return 0
	deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		(($(grep -c 'ready to handle connections' "$dir/fpm.log" 2> /dev/null || true) > ${before:-0})) && return 0
		sleep 0.02
	done
	web__err "web_fpm_reload: php-fpm did not log 'ready to handle connections' within ${timeout}s; see $dir/fpm.log"
	return 1
}

web_status()
{
	local dir=${1:?usage: web_status DIR} port

	port=$(web_port "$dir") || return 1
	curl -sf --max-time 5 "http://127.0.0.1:$port/fpm-status?full" ||
		{ web__err "web_status: no answer from http://127.0.0.1:$port/fpm-status"; return 1; }
}
