# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/fleet.sh: a fleet of N "hosts" on this one machine, for
# the multi-host tests (issue 12) and bench/fleet.sh.
#
#   fleet_start N         start hosts 1..N (fleet_stop runs at exit)
#   fleet_stop            stop them all; safe twice
#   fleet_ssh I CMD...    CMD on host I over ssh, as the CI user
#   fleet_exec I CMD...   CMD as root inside host I (nsenter)
#   fleet_url I           host I's nginx: http://127.0.0.1:PORT
#   fleet_sshd_stop I     host I becomes unreachable (its sshd stops)
#   fleet_switch_time I   when host I's current release went live
#   fleet_mixed_window I...  seconds between the first and the last
#                         of those hosts' switches
#   fleet_inventory FILE  an Ansible inventory of the hosts (group "fleet")
#   fleet_ansible ARG...  ansible-playbook ARG... with the fleet's settings
#                         (the collection in ansible/ on its path)
#   fleet_app_config I [K=V...]  host I's APP.conf for the collection's
#                         tests: its health check, the migrations
#   fleet_db_start        the fleet's database server (migrations reach
#                         the shared SQLite through it); fleet_db_count
#   fleet_artifact NAME ID [OPT...]  a test app release as a .tar.gz
#   fleet_collection_start N  all of the above for the collection's tests
#                         (test_fleet_*.sh), fleet_deploy ID, fleet_load_*
#
# A host is a private mount namespace (unshare -m, every mount private),
# kept alive by its own sshd (-D, listening on a loopback port of its own,
# with its own host key); ssh sessions, and nginx and php-fpm started
# with nsenter, live in it. Nothing a host mounts is visible to the
# machine or to another host, and it all goes when its last process does.
# Inside a host (same paths on every host, so one config fits them all):
#
#   /run                 a small tmpfs: sshd's privilege separation dir
#                        (/run/sshd) and sudo's timestamps stay private
#   /etc                 an overlay over the machine's /etc, its upper
#                        layer in the host's scratch dir: the CI user
#                        (useradd), the sudo rule and the /etc/cutover
#                        mount point are written there, never to /etc
#                        (the mounts below /etc, /etc/hosts in a
#                        container, are carried over; a file the machine
#                        changes later is seen unless the host wrote it:
#                        its copies of passwd, group and shadow are its own)
#   /etc/cutover         the host's scratch etc-cutover (APP.conf)
#   /srv                 an overlay over /srv, only for the mount points
#   /srv/fleet-app       the app root: the host's scratch root
#   /srv/fleet-ci        the CI user's home (its artifacts, ~/.ansible)
#   /srv/fleet-shared    one directory of the whole fleet: the shared
#                        SQLite database fleet.sqlite (owned by the app user)
#   dir of the binary    a read-only overlay: the built cutover,
#                        cutover-helper and opcache-reset.php over the
#                        directory dist/sudoers.example names
#
# So the CI user exists only inside the hosts (created in each overlay
# with the same uid), and no file of the machine outside the scratch
# directory is written, not even /etc/cutover or /run/sshd when they are
# missing: a host killed at any moment leaves nothing to undo. The sudo
# rule is dist/sudoers.example as the tree has it, the app name and the
# user substituted if the fleet's differ. sshd allows no tty (so no
# utmp, wtmp or lastlog record is written for the sessions).
#
# Variables after fleet_start: FLEET_DIR (scratch), FLEET_APP, FLEET_USER,
# FLEET_BIN (the path the rule names), FLEET_KEY (the CI user's private
# key), FLEET_KNOWN_HOSTS, FLEET_SSH_PORT[I], FLEET_WEB_PORT[I],
# FLEET_HOST_DIR[I] (root on the machine: FLEET_HOST_DIR[I]/root is the
# app root), FLEET_START_MS[I] (how long host I took to start).

FLEET_APP=${FLEET_APP:-shop}
FLEET_ROOT=/srv/fleet-app
FLEET_HOME=/srv/fleet-ci
FLEET_SHARED=/srv/fleet-shared
FLEET_RULE_SRC=${FLEET_RULE_SRC:-$REPO_ROOT/dist/sudoers.example}
FLEET_N=0
FLEET_DIR=''
FLEET_USER='' FLEET_UID='' FLEET_BIN='' FLEET_KEY='' FLEET_KNOWN_HOSTS=''
FLEET_SSH_PORT=() FLEET_WEB_PORT=() FLEET_HOST_DIR=() FLEET_START_MS=()
FLEET_PID=()      # a process of host I's namespace (its sshd, until stopped)
FLEET_NS=()       # host I's mount namespace, "mnt:[INODE]"
FLEET_STOPPED=0
FLEET_CP_DIR=''   # Ansible's ssh control sockets
FLEET_DB_URL=''   # fleet_db_start's server

# fleet__rule: the project's sudo rule adapted to the fleet: FLEET_USER,
# FLEET_BIN from the rule; the app name replaced by FLEET_APP and any
# sha256 digest by the built binary's. Written to FLEET_DIR/sudoers.
fleet__rule()
{
	local rule=$FLEET_DIR/sudoers app digest

	[[ -r $FLEET_RULE_SRC ]] || fatal "fleet: no sudo rule at $FLEET_RULE_SRC"
	FLEET_USER=$(awk '$2 ~ /^ALL=/ { print $1 }' "$FLEET_RULE_SRC" | tail -n 1)
	FLEET_BIN=$(grep -v '^[[:space:]]*#' "$FLEET_RULE_SRC" | grep -oE '/[^ ,]*/cutover( |$)' | head -n 1)
	FLEET_BIN=${FLEET_BIN% }
	# The app follows the verb, in a plain rule ("deploy shop *") or in a
	# regular expression ("deploy ((-q|--json) )*shop( ...)*$").
	app=$(grep -v '^[[:space:]]*#' "$FLEET_RULE_SRC" |
		grep -oE '(deploy|stage|status) (\(\([^ ]*\) \)\*)?[a-z0-9][a-z0-9_-]*' |
		head -n 1 | sed -E 's/.*[ *]//')
	[[ $FLEET_USER =~ ^[a-z_][a-z0-9_-]*$ && $FLEET_BIN == /*/cutover && -n $app ]] ||
		fatal "fleet: cannot read the user, binary and app of $FLEET_RULE_SRC" "user '$FLEET_USER' bin '$FLEET_BIN' app '$app'"
	digest=$(sha256sum <"$CUTOVER_BIN" | cut -d' ' -f1)
	# The app's name is a word of the commands (the alias's name, in
	# capitals, is left alone); comments are left as they are.
	sed -E "/^[[:space:]]*#/! s/([ *])$app( |,|\\(|\\\\|\$)/\\1$FLEET_APP\\2/g; s/sha256:[0-9a-f]{64}/sha256:$digest/g" \
		"$FLEET_RULE_SRC" >"$rule"
	visudo -cqf "$rule" >/dev/null || fatal "fleet: visudo rejects the adapted rule" "$(cat "$rule")"
	[[ -d $(dirname "$FLEET_BIN") ]] ||
		fatal "fleet: $(dirname "$FLEET_BIN") (named by the sudo rule) does not exist on this machine"
	# Inside the hosts the user is created afresh; its name must be free.
	id -u "$FLEET_USER" >/dev/null 2>&1 &&
		fatal "fleet: a user '$FLEET_USER' exists on this machine; the hosts need it free"
	return 0
}

# fleet__free_uid: a uid and gid in 59000..59999 nobody on this machine
# has (the CI user's inside every host).
fleet__free_uid()
{
	local u

	for ((u = 59000 + RANDOM % 900; u < 60000; u++)); do
		getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || { printf '%s' "$u"; return 0; }
	done
	fatal "fleet: no free uid in 59000..59999"
}

# fleet__ns_overlay NAME DIR H: an overlay over DIR (in a host's
# namespace), its upper layer in H/ov/NAME. An overlay shows none of the
# mounts below DIR (a container's /etc/hosts and /etc/resolv.conf are
# such mounts): each is moved aside first, then back on top.
fleet__ns_overlay()
{
	local name=$1 dir=$2 h=$3 keep=$3/ov/$1/keep m n=0 subs=()

	mapfile -t subs < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
	mkdir -p "$keep"
	for m in "${subs[@]}"; do
		if [[ -d $m ]]; then mkdir "$keep/$n"; else : >"$keep/$n"; fi
		mount --move "$m" "$keep/$n"
		n=$((n + 1))
	done
	mount -t overlay "fleet-$name" -o "lowerdir=$dir,upperdir=$h/ov/$name/upper,workdir=$h/ov/$name/work" "$dir"
	n=0
	for m in "${subs[@]}"; do
		if [[ -d $keep/$n ]]; then mkdir -p "$m"; else [[ -e $m ]] || : >"$m"; fi
		mount --move "$keep/$n" "$m"
		n=$((n + 1))
	done
}

# fleet__ns_setup H RULE BIN_LAYER USER UID APP_ROOT HOME SHARED BIN_DIR:
# runs as the first thing in a host's new mount namespace and ends as
# its sshd. /run goes first: mount(8) may write /run/mount/utab.
fleet__ns_setup()
{
	local h=$1 rule=$2 layer=$3 user=$4 uid=$5 root=$6 home=$7 shared=$8 bindir=$9 d

	set -e
	mount -t tmpfs -o mode=0755,size=8m fleet-run /run
	mkdir -m 0755 /run/sshd
	fleet__ns_overlay etc /etc "$h"
	[[ -d /etc/cutover ]] || mkdir -m 0755 /etc/cutover
	mount --bind "$h/etc-cutover" /etc/cutover
	groupadd -g "$uid" "$user"
	useradd --system --no-log-init -M -u "$uid" -g "$uid" -d "$home" -s /bin/sh "$user"
	# Not locked (sshd refuses locked accounts), without a password.
	usermod -p '*' "$user"
	install -m 0440 -o root -g root "$rule" /etc/sudoers.d/cutover-fleet
	fleet__ns_overlay srv /srv "$h"
	for d in "$root" "$home" "$shared"; do
		[[ -d $d ]] || mkdir -m 0755 "$d"
	done
	mount --bind "$h/root" "$root"
	mount --bind "$h/home" "$home"
	mount --bind "$h/../shared" "$shared"
	mount -t overlay fleet-bin -o "lowerdir=$layer:$bindir" "$bindir"
	exec /usr/sbin/sshd -D -e -f "$h/sshd/config"
}

# fleet__listening PORT: something accepts on 127.0.0.1:PORT.
fleet__listening()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# fleet__sshd_up I PID PORT: waits until host I's sshd accepts or dies.
fleet__sshd_up()
{
	local deadline=$((SECONDS + 10))

	while ((SECONDS < deadline)); do
		kill -0 "$2" 2>/dev/null || return 1
		fleet__listening "$3" && return 0
		sleep 0.02
	done
	return 1
}

# fleet__host_dirs I: host I's scratch tree, its host key, sshd config
# and the app's config.
fleet__host_dirs()
{
	local i=$1 h=$FLEET_DIR/h$1

	FLEET_HOST_DIR[i]=$h
	mkdir -p "$h"/ov/{etc,srv}/{upper,work} "$h/etc-cutover" "$h/root" "$h/home" "$h/web" "$h/sshd"
	chmod 0755 "$h" "$h/etc-cutover" "$h/root" "$h/web"
	chown "$FLEET_UID:$FLEET_UID" "$h/home"
	chmod 0755 "$h/home"
	ssh-keygen -q -t ed25519 -N '' -C "fleet-h$i" -f "$h/sshd/host_key" || fatal "fleet: ssh-keygen failed"
	cp "$FLEET_KEY.pub" "$h/sshd/authorized_keys"
	chmod 0644 "$h/sshd/authorized_keys"
	app_config "$h/etc-cutover/$FLEET_APP.conf" "$FLEET_ROOT"
	chown root:root "$h/etc-cutover/$FLEET_APP.conf"
}

fleet__sshd_config()
{
	local h=$1 port=$2

	cat >"$h/sshd/config" <<-EOF
	# host $h of integration/lib/fleet.sh
	Port $port
	ListenAddress 127.0.0.1
	HostKey $h/sshd/host_key
	PidFile none
	AuthorizedKeysFile $h/sshd/authorized_keys
	StrictModes no
	UsePAM no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin no
	PermitTTY no
	X11Forwarding no
	AllowTcpForwarding no
	AllowUsers $FLEET_USER
	MaxStartups 50:30:100
	Subsystem sftp internal-sftp
	LogLevel ERROR
	EOF
}

# fleet__host_start I: host I's namespace and sshd (on a random free
# port, another one if that was taken meanwhile), then its nginx and
# php-fpm started inside it.
fleet__host_start()
{
	local i=$1 h t0 pid port try setup

	t0=$(now_ms)
	fleet__host_dirs "$i"
	h=${FLEET_HOST_DIR[i]}
	setup="$(declare -f fleet__ns_overlay fleet__ns_setup); fleet__ns_setup \"\$@\""
	for ((try = 0; try < 5; try++)); do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		fleet__listening "$port" && continue
		fleet__sshd_config "$h" "$port"
		bg pid unshare --mount --propagation private -- bash -c "$setup" fleet-h"$i" \
			"$h" "$FLEET_DIR/sudoers" "$FLEET_DIR/bin" "$FLEET_USER" "$FLEET_UID" \
			"$FLEET_ROOT" "$FLEET_HOME" "$FLEET_SHARED" "$(dirname "$FLEET_BIN")"
		fleet__sshd_up "$i" "$pid" "$port" && break
		bg_wait "$pid"
		[[ $ERR == *"Address already in use"* ]] || fatal "fleet: host $i did not start" "$ERR"
		pid=''
	done
	[[ -n $pid ]] || fatal "fleet: host $i: no free port for sshd after 5 tries"
	FLEET_PID[i]=$pid FLEET_SSH_PORT[i]=$port
	FLEET_NS[i]=$(readlink "/proc/$pid/ns/mnt") || fatal "fleet: host $i: its sshd is gone"
	[[ ${FLEET_NS[i]} != "$(readlink /proc/self/ns/mnt)" ]] || fatal "fleet: host $i shares the test's mount namespace"
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$h/sshd/host_key.pub")" >>"$FLEET_KNOWN_HOSTS"
	fleet_exec "$i" bash -c ". $(printf '%q' "$IT_LIB_DIR/web.sh") && web_start \"\$@\"" web \
		"$h/web" "$FLEET_ROOT/current/public" children=2 nginx_workers=1 port_from=$((18600 + 10 * i)) ||
		fatal "fleet: host $i: nginx and php-fpm did not start" "$(tail -n 5 "$h/web/"*.log 2>/dev/null)"
	FLEET_WEB_PORT[i]=$(web_port "$h/web") || fatal "fleet: host $i: no web port"
	# shellcheck disable=SC2034 # for the tests and bench/fleet.sh
	FLEET_START_MS[i]=$(($(now_ms) - t0))
}

# fleet__shared: the fleet's shared directory and its SQLite database,
# owned by the app user (whose migrations will write it).
fleet__shared()
{
	local d=$FLEET_DIR/shared

	mkdir -m 0755 "$d"
	chown "${APP_USER:-nobody}:${APP_GROUP:-nogroup}" "$d"
	# shellcheck disable=SC2016 # PHP, not shell
	setpriv --reuid="${APP_USER:-nobody}" --regid="$(id -g "${APP_USER:-nobody}")" --clear-groups -- \
		php -r '$db = new SQLite3($argv[1]); $db->exec("CREATE TABLE fleet_marks (host TEXT, mark TEXT)");' \
		"$d/fleet.sqlite" || fatal "fleet: cannot create the shared database"
}

# fleet_start N: hosts 1..N, each started in turn; see the top of this
# file. Sets the FLEET_ variables; fleet_stop runs at exit.
fleet_start()
{
	local n=$1 i f

	for f in /usr/sbin/sshd ssh ssh-keygen unshare nsenter visudo php; do
		command -v "$f" >/dev/null || fatal "fleet: $f is missing (.ci/deps.sh installs it)"
	done
	[[ -d /srv ]] || fatal "fleet: /srv does not exist on this machine (the hosts' mount points go in an overlay over it)"
	scratch_new FLEET_DIR
	at_exit fleet_stop
	FLEET_STOPPED=0
	fleet__rule
	FLEET_UID=$(fleet__free_uid)
	# The binaries as the rule names them: one layer shared by the hosts.
	mkdir -m 0755 "$FLEET_DIR/bin"
	cp "$CUTOVER_BIN" "$(dirname "$CUTOVER_BIN")/cutover-helper" "$FLEET_DIR/bin/" ||
		fatal "fleet: cannot copy the binaries"
	cp "$(dirname "$CUTOVER_BIN")/opcache-reset.php" "$FLEET_DIR/bin/" 2>/dev/null
	mv "$FLEET_DIR/bin/cutover" "$FLEET_DIR/bin/$(basename "$FLEET_BIN")" 2>/dev/null
	mkdir -m 0700 "$FLEET_DIR/ci"
	FLEET_KEY=$FLEET_DIR/ci/id_ed25519
	ssh-keygen -q -t ed25519 -N '' -C fleet-ci -f "$FLEET_KEY" || fatal "fleet: ssh-keygen failed"
	FLEET_KNOWN_HOSTS=$FLEET_DIR/ci/known_hosts
	: >"$FLEET_KNOWN_HOSTS"
	fleet__shared
	for ((i = 1; i <= n; i++)); do
		fleet__host_start "$i"
		FLEET_N=$i
	done
}

# fleet__ns_procs I: pids of the processes in host I's namespace: the
# namespace recorded at start, and through the process's own root the
# app root is host I's (a namespace inode is reused once freed).
fleet__ns_procs()
{
	local i=$1 p

	[[ -n ${FLEET_NS[i]:-} ]] || return 0
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/ns/mnt" 2>/dev/null) == "${FLEET_NS[i]}" ]] || continue
		[[ $p/root$FLEET_ROOT -ef ${FLEET_HOST_DIR[i]}/root ]] || continue
		printf '%s\n' "${p#/proc/}"
	done
}

# fleet__ssh_masters_stop: Ansible's ssh connection masters (one per
# host, ControlPersist) are told to exit through their control sockets.
fleet__ssh_masters_stop()
{
	local sock

	[[ -n $FLEET_CP_DIR ]] || return 0
	for sock in "$FLEET_CP_DIR"/*; do
		[[ -S $sock ]] || continue
		ssh -F /dev/null -o ControlPath="$sock" -O exit fleet-host >/dev/null 2>&1
	done
}

# fleet_stop: Ansible's ssh masters, every host's nginx and php-fpm, then
# every process left in its namespace (sshd, sessions): TERM, KILL after
# 5 s. The namespace and its mounts go with its last process.
fleet_stop()
{
	local i pids t

	((FLEET_STOPPED)) && return 0
	FLEET_STOPPED=1
	fleet__ssh_masters_stop
	for ((i = 1; i <= ${#FLEET_HOST_DIR[@]}; i++)); do
		[[ -d ${FLEET_HOST_DIR[i]:-}/web ]] && web_stop "${FLEET_HOST_DIR[i]}/web"
		mapfile -t pids < <(fleet__ns_procs "$i")
		((${#pids[@]} > 0)) || continue
		kill -TERM "${pids[@]}" 2>/dev/null
		for ((t = 0; t < 100; t++)); do
			mapfile -t pids < <(fleet__ns_procs "$i")
			((${#pids[@]} > 0)) || break
			sleep 0.05
		done
		if ((${#pids[@]} > 0)); then
			fail "fleet: host $i: processes still running 5 s after SIGTERM (killed)" \
				"$(for p in "${pids[@]}"; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done 2>/dev/null)"
			kill -KILL "${pids[@]}" 2>/dev/null
			sleep 0.2
		fi
	done
	for i in "${FLEET_PID[@]}"; do
		wait "$i" 2>/dev/null
	done
	return 0
}

# fleet_ssh_args I: ssh's options for host I (no config file, only the
# fleet's key, the known host keys, strict checking, no master).
fleet_ssh_args()
{
	printf '%s\n' -F /dev/null -p "${FLEET_SSH_PORT[$1]}" -i "$FLEET_KEY" -o IdentitiesOnly=yes \
		-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$FLEET_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null -o ControlMaster=no -o ConnectTimeout=5 -o LogLevel=ERROR
}

# fleet_ssh I CMD...: CMD (one shell command line, as ssh joins it) on
# host I as the CI user.
fleet_ssh()
{
	local i=$1 args

	shift
	mapfile -t args < <(fleet_ssh_args "$i")
	ssh "${args[@]}" "$FLEET_USER@127.0.0.1" -- "$@"
}

# fleet_exec I CMD...: CMD as root in host I's namespace.
fleet_exec()
{
	local i=$1

	shift
	nsenter -t "${FLEET_PID[i]}" -m -- "$@"
}

fleet_url()
{
	printf 'http://127.0.0.1:%s' "${FLEET_WEB_PORT[$1]}"
}

# fleet_sshd_stop I: host I becomes unreachable: its sshd stops, the
# listener and every connection's process (an ssh master holding a
# connection open would otherwise still get through). Its nginx and
# php-fpm, and so the namespace, stay; fleet_exec uses the php-fpm master
# from now on.
fleet_sshd_stop()
{
	local i=$1 pid=${FLEET_PID[$1]} p pids=()

	FLEET_PID[i]=$(web_fpm_pid "${FLEET_HOST_DIR[i]}/web") || fatal "fleet: host $i has no php-fpm"
	for p in $(fleet__ns_procs "$i"); do
		[[ $(readlink "/proc/$p/exe" 2>/dev/null) == /usr/sbin/sshd ]] && pids+=("$p")
	done
	kill -TERM "${pids[@]}" 2>/dev/null
	wait "$pid" 2>/dev/null
	wait_for 5 eval "! fleet__listening ${FLEET_SSH_PORT[i]}" || fatal "fleet: host $i's sshd still accepts"
	for p in "${pids[@]}"; do
		wait_for 5 eval "! kill -0 $p 2>/dev/null" || fatal "fleet: host $i: sshd $p is still running"
	done
}

# fleet_switch_time I: when host I's current release went live, in
# seconds since the epoch (ns precision): the modification time of its
# current symlink (cutover writes the new link, then renames it over
# current: the rename is the switch, microseconds later). The history
# and `status` give only whole seconds.
fleet_switch_time()
{
	stat -c '%.9Y' "${FLEET_HOST_DIR[$1]}/root/current"
}

# fleet_mixed_window I...: the time between the first and the last of
# those hosts' switches, in seconds: how long the fleet served two
# releases at once.
fleet_mixed_window()
{
	local i

	for i in "$@"; do
		fleet_switch_time "$i" || return 1
	done | sort -g | awk 'NR == 1 { f = $1 } { l = $1 } END { printf "%.3f\n", l - f }'
}

# fleet_inventory FILE [I...]: an INI inventory of hosts I (default all)
# in the group "fleet": host hI, its ssh port, its fleet_url; the key and
# known hosts of the fleet, strict host key checking.
fleet_inventory()
{
	local file=$1 i hosts

	shift
	hosts=("$@")
	((${#hosts[@]} > 0)) || mapfile -t hosts < <(seq 1 "$FLEET_N")
	{
		printf '[fleet]\n'
		for i in "${hosts[@]}"; do
			printf 'h%s ansible_host=127.0.0.1 ansible_port=%s fleet_url=%s\n' "$i" "${FLEET_SSH_PORT[i]}" "$(fleet_url "$i")"
		done
		printf '\n[fleet:vars]\n'
		printf 'ansible_user=%s\n' "$FLEET_USER"
		printf 'ansible_ssh_private_key_file=%s\n' "$FLEET_KEY"
		printf "ansible_ssh_common_args='-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null'\n" "$FLEET_KNOWN_HOSTS"
		printf 'ansible_python_interpreter=/usr/bin/python3\n'
		printf 'cutover_app=%s\n' "$FLEET_APP"
		printf 'cutover_home=%s\n' "$FLEET_HOME"
	} >"$file"
}

# fleet_ansible ARG...: ansible-playbook ARG... with integration/fleet's
# ansible.cfg; everything Ansible keeps on this side in FLEET_DIR.
fleet_ansible()
{
	mkdir -p "$FLEET_DIR/ansible/tmp"
	# A socket's path has at most 107 bytes and ssh adds 28 to the
	# directory's: the control sockets go in a directory of their own,
	# right in the scratch base (or /tmp if that is still too long).
	if [[ -z $FLEET_CP_DIR ]]; then
		FLEET_CP_DIR=$(mktemp -d "$IT_SCRATCH_BASE/fcp.XXXXXX") || fatal "mktemp -d failed"
		if ((${#FLEET_CP_DIR} > 75)); then
			rmdir "$FLEET_CP_DIR"
			FLEET_CP_DIR=$(mktemp -d /tmp/fcp.XXXXXX) || fatal "mktemp -d failed"
		fi
		IT_SCRATCH+=("$FLEET_CP_DIR")
	fi
	ANSIBLE_CONFIG=$IT_DIR/fleet/ansible.cfg ANSIBLE_HOME=$FLEET_DIR/ansible \
		ANSIBLE_COLLECTIONS_PATH=$REPO_ROOT/ansible/collections \
		ANSIBLE_SSH_CONTROL_PATH_DIR=$FLEET_CP_DIR \
		ANSIBLE_LOCAL_TEMP=$FLEET_DIR/ansible/tmp ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
		ansible-playbook "$@"
}

# fleet_db_start: the fleet's database server, for migrations: PHP's
# built-in web server on a loopback port, as the app user, in front of the
# shared SQLite (GET /?mark=M&host=H adds the row (H, M) to fleet_marks).
# Migrations run in cutover's build sandbox, where everything outside the
# release and its shared/ is read-only: like a real fleet's, they reach
# the database over the network. Sets FLEET_DB_URL; stopped at exit.
fleet_db_start()
{
	local d=$FLEET_DIR/db port try pid

	mkdir -m 0755 "$d"
	cat >"$d/router.php" <<-EOF
	<?php
	// integration/lib/fleet.sh: the fleet's database server.
	\$mark = \$_GET['mark'] ?? '';
	if (\$mark === '') { http_response_code(400); echo "no mark\\n"; return; }
	\$db = new SQLite3('$FLEET_DIR/shared/fleet.sqlite');
	\$db->busyTimeout(5000);
	\$st = \$db->prepare('INSERT INTO fleet_marks VALUES (:h, :m)');
	\$st->bindValue(':h', \$_GET['host'] ?? '');
	\$st->bindValue(':m', \$mark);
	if (!\$st->execute()) { http_response_code(500); echo "insert failed\\n"; return; }
	echo "OK\\n";
	EOF
	chmod 0644 "$d/router.php"
	for ((try = 0; try < 5; try++)); do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		fleet__listening "$port" && continue
		bg pid setpriv --reuid="${APP_USER:-nobody}" --regid="$(id -g "${APP_USER:-nobody}")" --clear-groups -- \
			php -S "127.0.0.1:$port" "$d/router.php"
		wait_for 5 fleet__listening "$port" && break
		kill "$pid" 2>/dev/null
		pid=''
	done
	[[ -n $pid ]] || fatal "fleet: the database server did not start"
	FLEET_DB_URL=http://127.0.0.1:$port
}

# fleet_db_count MARK: how many rows of the shared database's fleet_marks
# have that mark.
fleet_db_count()
{
	# shellcheck disable=SC2016 # PHP, not shell
	php -r '$db = new SQLite3($argv[1], SQLITE3_OPEN_READONLY); $st = $db->prepare("SELECT count(*) FROM fleet_marks WHERE mark = :m");
		$st->bindValue(":m", $argv[2]); echo $st->execute()->fetchArray()[0], "\n";' \
		"$FLEET_DIR/shared/fleet.sqlite" "$1"
}

# fleet_app_config I [SECTION.KEY=VALUE...]: (re)writes host I's APP.conf
# for the collection's tests: the fleet's app config (app_config), no
# php-fpm reload (OPcache compiles each release's own paths), cutover's
# health check on the host's nginx (GET /health.php, body OK; see
# fleet_artifact) and the artifact's migrations through the fleet's
# database server. Each SECTION.KEY=VALUE (fpm, health, migrate) replaces
# a default; health.url=?fail=ID makes that release fail its check here.
fleet_app_config()
{
	local i=$1 conf=${FLEET_HOST_DIR[$1]}/etc-cutover/$FLEET_APP.conf arg section key
	local -A v=(
		[fpm.reload]=none
		[health.url]=$(fleet_url "$i")/health.php
		[health.expect_body]=OK
		[health.retries]=2
		[health.timeout]=5
		[migrate.run]="php db/migrate.php"
		[migrate.pretend]="php db/migrate.php --pretend"
	)

	shift
	for arg in "$@"; do
		[[ $arg =~ ^(fpm|health|migrate)\.[a-z_]+= ]] || fatal "fleet_app_config: '$arg' is not SECTION.KEY=VALUE"
		if [[ $arg == health.url=\?* ]]; then
			v[health.url]=$(fleet_url "$i")/health.php${arg#*=}
		else
			v[${arg%%=*}]=${arg#*=}
		fi
	done
	app_config "$conf" "$FLEET_ROOT"
	{
		for section in fpm health migrate; do
			printf '[%s]\n' "$section"
			for key in $(printf '%s\n' "${!v[@]}" | grep "^$section\." | LC_ALL=C sort); do
				[[ -n ${v[$key]} ]] && printf '%s = %s\n' "${key#*.}" "${v[$key]}"
			done
		done
	} >>"$conf"
	printf 'h%s\n' "$i" >"${FLEET_HOST_DIR[i]}/etc-cutover/fleet-host"
	chmod 0644 "${FLEET_HOST_DIR[i]}/etc-cutover/fleet-host"
}

# fleet_artifact FILE ID [--destructive]: the test app's release ID
# (integration/testapp/make.sh: its page prints "a=ID b=ID i=ID", /up
# prints OK) as FILE (a .tar.gz), with
#   public/health.php  "OK", or status 500 for ?fail=ID (a host whose
#                      health.url says so fails this release's check);
#   db/migrate.php     one migration: adds the mark "migrated-ID" through
#                      the fleet's database server (fleet_db_start, whose
#                      URL is written in); --pretend prints its SQL, a
#                      DROP TABLE with --destructive.
fleet_artifact()
{
	local file=$1 id=$2 src sql

	src=$(mktemp -d "$FLEET_DIR/art.XXXXXX") || fatal "mktemp -d failed"
	"$IT_DIR/testapp/make.sh" "$src/t" "$id" >/dev/null || fatal "fleet_artifact: make.sh $id failed"
	mkdir -p "$src/t/db"
	sql="insert into fleet_marks (host, mark) values ('?', 'migrated-$id')"
	[[ ${3:-} == --destructive ]] && sql="drop table fleet_old"
	cat >"$src/t/public/health.php" <<-EOF
	<?php
	header('Content-Type: text/plain');
	if ((\$_GET['fail'] ?? '') === '$id') { http_response_code(500); echo "FAIL $id\\n"; return; }
	echo "OK\\n";
	EOF
	cat >"$src/t/db/migrate.php" <<-EOF
	<?php
	// The migration of release $id: one mark in the fleet's database.
	if (in_array('--pretend', \$argv, true)) { echo "FleetMark$id: $sql\\n"; exit(0); }
	\$host = trim(@file_get_contents('/etc/cutover/fleet-host') ?: '?');
	\$r = @file_get_contents('$FLEET_DB_URL/?mark=migrated-$id&host=' . urlencode(\$host));
	if (\$r !== "OK\\n") { fwrite(STDERR, "migrate: the database server said no\\n"); exit(1); }
	echo "migrated $id\\n";
	EOF
	tar -C "$src/t" -czf "$file" . || fatal "cannot make $file"
	chmod 0644 "$file"
	rm -rf "${src:?}"
}

# ---- the cutover.fleet collection's tests ------------------------------

# fleet__rule_allows VERB...: the sudo rule the fleet uses names each verb.
fleet__rule_allows()
{
	local verb

	for verb in "$@"; do
		grep -v '^[[:space:]]*#' "$FLEET_RULE_SRC" | grep -qE "cutover .*[^a-z-]${verb}[^a-z-]" || return 1
	done
}

# fleet_collection_start N: N hosts for the collection's playbooks: the
# database server, every host's config (fleet_app_config), the inventory
# INV, the summary file SUMMARY, PLAYBOOKS (the collection's playbooks),
# and FLEET_ART (where fleet_deploy keeps the artifacts).
fleet_collection_start()
{
	command -v ansible-playbook >/dev/null || fatal "ansible-playbook is missing (.ci/deps.sh installs ansible-core)"
	[[ -x $LOADGEN_BIN ]] || fatal "$LOADGEN_BIN is missing; run 'make build/loadgen' first"
	fleet__rule_allows stage switch migrate prune rollback status list ||
		fatal "the sudo rule $FLEET_RULE_SRC does not allow stage, switch, migrate, prune, rollback, status and list (docs/FLEET.md)"
	PLAYBOOKS=$REPO_ROOT/ansible/collections/ansible_collections/cutover/fleet/playbooks
	step "$1 hosts"
	local t0 i
	t0=$(now_ms)
	fleet_start "$1"
	fleet_db_start
	for ((i = 1; i <= FLEET_N; i++)); do
		fleet_app_config "$i"
	done
	step "started in $(($(now_ms) - t0)) ms (per host: ${FLEET_START_MS[*]} ms)"
	scratch_new FLEET_ART
	# shellcheck disable=SC2153 # scratch_new sets FLEET_ART
	INV=$FLEET_ART/inventory
	SUMMARY=$FLEET_ART/summary.json
	fleet_inventory "$INV"
}

# fleet_deploy ID [--destructive] [ANSIBLE_ARG...]: deploy.yml of the test
# app's release ID (fleet_artifact, made once) with release id ID, under
# run (OUT, ERR, RC, ELAPSED_MS); the summary in SUMMARY.
fleet_deploy()
{
	local id=$1 opt=()

	shift
	[[ ${1:-} == --destructive ]] && { opt=(--destructive); shift; }
	[[ -f $FLEET_ART/$id.tar.gz ]] || fleet_artifact "$FLEET_ART/$id.tar.gz" "$id" "${opt[@]}"
	rm -f "$SUMMARY"
	run fleet_ansible -i "$INV" "$PLAYBOOKS/deploy.yml" -e "cutover_artifact=$FLEET_ART/$id.tar.gz" \
		-e "cutover_release_id=$id" -e "cutover_summary_file=$SUMMARY" "$@"
}

# fleet_page I: what host I's nginx serves on /.
fleet_page()
{
	curl -s --max-time 10 "$(fleet_url "$1")/"
}

# fleet_task_lines TASK: the lines ansible-playbook printed (in OUT) for
# the task named TASK.
fleet_task_lines()
{
	printf '%s\n' "$OUT" | awk -v t="TASK [$1]" 'index($0, "TASK [") == 1 { on = index($0, t) == 1; next } on && NF'
}

# fleet_state I: host I's releases and number of history lines.
fleet_state()
{
	printf '%s / %s' "$(dir_list "${FLEET_HOST_DIR[$1]}/root/releases")" \
		"$(grep -c '' "${FLEET_HOST_DIR[$1]}/root/.cutover/history.jsonl" 2>/dev/null)"
}

# fleet__list I: host I's `cutover --json list`, as a list of releases
# (the contract's .releases, or the bare list of a cutover before it).
fleet__list()
{
	fleet_exec "$1" "$FLEET_BIN" --json list "$FLEET_APP" 2>/dev/null | jq -c '.releases? // .'
}

# fleet_release I ID JQ: JQ (a jq string template) on host I's release ID.
fleet_release()
{
	fleet__list "$1" | jq -r --arg id "$2" ".[] | select(.id == \$id) | $3"
}

# fleet_release_ids I: host I's release ids as list has them (newest first).
fleet_release_ids()
{
	fleet__list "$1" | jq -r '.[].id' | paste -sd' ' -
}

# fleet_load_start I...: a loadgen on each host's nginx (page /: torn
# responses are counted); FLEET_LOAD[I] its pid.
fleet_load_start()
{
	local i

	for i in "$@"; do
		URL=$(fleet_url "$i") load_start "FLEET_LOAD[$i]" / --connections 2
	done
	sleep 0.5
}

# fleet_load_stop_check I...: stops each host's loadgen; every one had
# requests, all answered 2xx, none torn or unparsed.
fleet_load_stop_check()
{
	local i

	for i in "$@"; do
		load_stop "${FLEET_LOAD[i]}"
		assert_load_clean "host $i under load"
		step "host $i: $LOAD_SUMMARY"
	done
}
