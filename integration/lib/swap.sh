# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/swap.sh: [fpm] reload = swap without systemd as PID 1.
#
# The helper starts and stops each slot's php-fpm master with `systemctl`
# (tools/SWAP_SPEC.md). On machines without systemd the tests replace it:
#
#   swap_env_enter "$@"   first thing after sourcing lib.sh: runs the test
#                         again in a private mount namespace (unless it is
#                         in one already: IT_OWN_MOUNT_NS=1 does the same),
#                         mounts a tmpfs on /run (so /run/cutover is the
#                         test's own), writes the systemctl stand-in and
#                         bind-mounts it over /usr/bin/systemctl
#   swap_double_start [--no-conf] [--stop-timeout S] [--start-timeout S]
#                     [--exec-start ARG...]
#                         starts the double (lib/systemd_double.py) as PID 1
#                         of its own pid namespace; ExecStart is
#                         `$CUTOVER_BIN -c $CONF fpm-exec APP:S` (without -c
#                         when CONF is empty or with --no-conf, as systemd
#                         runs it), or the --exec-start vector (%i: APP:S);
#                         stopped at exit
#   swap_double_stop      stops every unit (SIGQUIT), then the double; at
#                         worst SIGKILL of the namespace's PID 1, which
#                         kills everything in it
#   swap_unit_show APP S  the unit's Name=value lines (the double's own
#                         channel: not logged as a systemctl call)
#   swap_unit_prop APP S NAME         one value: ActiveState, SubState,
#                                     MainPID (a host pid), NRestarts
#   swap_master_pid APP S             MainPID (0: none)
#   swap_kill_master APP S SIGNAL     kill -SIGNAL the main pid
#   swap_wait_state APP S STATE [SECONDS]   until ActiveState is STATE
#   swap_systemctl ARG...             the stand-in, as the helper runs it
#   swap_calls                        the systemctl calls so far, one JSON
#                                     line each: argv, env, uid, pid, rc
#
# Files: SWAP_DOUBLE_DIR (a scratch dir): ctl and notify (the sockets),
# UNIT.log (a unit's stdout and stderr), calls.log, daemon.log;
# SWAP_DOUBLE_DIR/bin/systemctl (root, 0755, in a root 0755 directory:
# the helper opens /usr/bin/systemctl with the trusted-path check).
#
# Nothing the tests need lives in /run: sudo recreates /run/sudo/ts
# itself; the web stacks keep their pid files and sockets in their own
# directories; mount(8) recreates /run/mount when it needs it.

SWAP_DOUBLE_DIR=''
SWAP_DOUBLE_PID=''       # the unshare process (host pid namespace)
SWAP_SYSTEMCTL=/usr/bin/systemctl

swap_env_enter()
{
	local s

	if [[ -z ${IT_IN_OWN_MOUNT_NS:-} ]]; then
		((${#IT_SCRATCH[@]} == 0)) || fatal "swap_env_enter must come before any scratch_new"
		trap - EXIT
		rm -rf -- "$IT_TMP"
		export IT_IN_OWN_MOUNT_NS=1
		exec unshare --mount --propagation private -- bash "$0" "$@"
	fi
	# The namespace's own /run: /run/cutover and the slots are the test's.
	mount -t tmpfs -o mode=0755,size=16m cutover-it-run /run || fatal "cannot mount a tmpfs on /run"
	# What sd_booted(3) looks for: the double stands in for systemd.
	mkdir -p /run/systemd/system || fatal "cannot create /run/systemd/system"
	# The masters log to syslog (error_log = syslog). With systemd that is
	# journald's /dev/log; here there is none, and glibc falls back to
	# /dev/console, a serial line on this VM that takes about 2 ms a line
	# in the kernel and stalls everything else meanwhile (measured: a
	# 63-line php-fpm dump held the live pool for 120 ms). So, in this
	# namespace only, console output goes nowhere.
	if [[ ! -S /dev/log && -e /dev/console ]]; then
		mount --bind /dev/null /dev/console || fatal "cannot bind /dev/null over /dev/console"
	fi
	scratch_new s
	SWAP_DOUBLE_DIR=$s/sd
	mkdir -m 0755 "$SWAP_DOUBLE_DIR" "$SWAP_DOUBLE_DIR/bin" || fatal "cannot create $SWAP_DOUBLE_DIR"
	swap_standin_write "$SWAP_DOUBLE_DIR/bin/systemctl" "$SWAP_DOUBLE_DIR/ctl"
	[[ -e $SWAP_SYSTEMCTL ]] || fatal "$SWAP_SYSTEMCTL is missing (install systemd: .ci/deps.sh)"
	mount --bind "$SWAP_DOUBLE_DIR/bin/systemctl" "$SWAP_SYSTEMCTL" ||
		fatal "cannot bind-mount the systemctl double over $SWAP_SYSTEMCTL"
	at_exit swap_env_leave
}

swap_env_leave()
{
	swap_double_stop
	umount "$SWAP_SYSTEMCTL" 2>/dev/null
	umount /run 2>/dev/null
	umount /dev/console 2>/dev/null
}

# swap_standin_write FILE SOCKET: a copy of build/tools/systemctl_double
# with SOCKET written over its marker (padded with NULs to the marker's
# 256-byte buffer).
swap_standin_write()
{
	local file=$1 sock=$2 out

	tool_build systemctl_double "$(dirname "$file")"
	out=$(python3 - "$TOOL" "$sock" <<-'EOF' 2>&1
	import sys
	path, sock = sys.argv[1], sys.argv[2].encode()
	marker = b"@@CUTOVER_SYSTEMD_DOUBLE_SOCKET@@"
	data = open(path, "rb").read()
	if data.count(marker) != 1:
	    sys.exit("the marker occurs %d times in %s" % (data.count(marker), path))
	if len(sock) >= 108:
	    sys.exit("socket path too long: %s" % sock.decode())
	i = data.index(marker)
	if data[i + len(marker):i + 256] != b"\0" * (256 - len(marker)):
	    sys.exit("the marker's buffer is not 256 bytes of zeros after it")
	data = data[:i] + sock + b"\0" * (256 - len(sock)) + data[i + 256:]
	open(path, "wb").write(data)
	EOF
	) || fatal "cannot write the socket path into $TOOL" "$out"
	[[ $TOOL == "$file" ]] || mv -- "$TOOL" "$file" || fatal "cannot move $TOOL to $file"
	chown root:root "$file" && chmod 0755 "$file" || fatal "cannot make $file root's, 0755"
}

swap_double_start()
{
	local args=() conf=${CONF:-} i

	[[ -n $SWAP_DOUBLE_DIR ]] || fatal "swap_double_start before swap_env_enter"
	[[ -z $SWAP_DOUBLE_PID ]] || fatal "the double runs already"
	while (($# > 0)); do
		case $1 in
		--no-conf) conf= ;;
		--stop-timeout | --start-timeout) args+=("$1" "$2"); shift ;;
		--exec-start) shift; args+=(--exec-start "$@"); set -- ;;
		*) fatal "swap_double_start: unknown option $1" ;;
		esac
		(($# > 0)) && shift
	done
	args+=(--bin "$CUTOVER_BIN")
	[[ -n $conf ]] && args+=(--conf "$conf")
	# A stopped double leaves its sockets (a test may start it again).
	rm -f -- "$SWAP_DOUBLE_DIR/ready" "$SWAP_DOUBLE_DIR/ctl" "$SWAP_DOUBLE_DIR/notify"
	# Not a job of this shell (disowned): core.sh's it_stop_pids would
	# send SIGTERM to unshare, which ignores it while it waits for its
	# child; swap_double_stop (at exit) stops it instead.
	unshare --pid --fork --kill-child -- \
		python3 "$IT_LIB_DIR/systemd_double.py" serve --dir "$SWAP_DOUBLE_DIR" "${args[@]}" \
		</dev/null >>"$SWAP_DOUBLE_DIR/daemon.out" 2>&1 &
	SWAP_DOUBLE_PID=$!
	disown "$SWAP_DOUBLE_PID"
	for ((i = 0; i < 200; i++)); do
		[[ -s $SWAP_DOUBLE_DIR/ready ]] && return 0
		kill -0 "$SWAP_DOUBLE_PID" 2>/dev/null || break
		sleep 0.05
	done
	fatal "the systemd double did not start" "$(tail -n 20 "$SWAP_DOUBLE_DIR/daemon.out" 2>&1)"
}

# swap_double_ctl COMMAND...: the double's own channel.
swap_double_ctl()
{
	timeout 120 python3 "$IT_LIB_DIR/systemd_double.py" ctl "$SWAP_DOUBLE_DIR/ctl" "$@"
}

swap_double_stop()
{
	local i

	[[ -n $SWAP_DOUBLE_PID ]] || return 0
	if kill -0 "$SWAP_DOUBLE_PID" 2>/dev/null; then
		timeout 30 python3 "$IT_LIB_DIR/systemd_double.py" ctl "$SWAP_DOUBLE_DIR/ctl" shutdown >/dev/null 2>&1 ||
			echo "swap.sh: the systemd double did not shut down cleanly; killing its namespace" >&2
		for ((i = 0; i < 100; i++)); do
			kill -0 "$SWAP_DOUBLE_PID" 2>/dev/null || break
			sleep 0.05
		done
		# --kill-child: SIGKILL of unshare is SIGKILL of the namespace's
		# PID 1, and with it of everything in the namespace.
		kill -KILL "$SWAP_DOUBLE_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$SWAP_DOUBLE_PID" 2>/dev/null || break
			sleep 0.05
		done
	fi
	SWAP_DOUBLE_PID=
}

swap_unit()
{
	printf 'cutover-fpm@%s:%s.service' "$1" "$2"
}

swap_unit_show()
{
	swap_double_ctl show "$(swap_unit "$1" "$2")"
}

swap_unit_prop()
{
	swap_unit_show "$1" "$2" | sed -n "s/^$3=//p"
}

swap_master_pid()
{
	swap_unit_prop "$1" "$2" MainPID
}

swap_kill_master()
{
	local pid

	pid=$(swap_master_pid "$1" "$2")
	[[ -n $pid && $pid != 0 ]] || { fail "swap_kill_master: $(swap_unit "$1" "$2") has no main pid"; return 1; }
	[[ $pid =~ ^[1-9][0-9]*$ && $pid != 1 ]] || { fail "swap_kill_master: bad pid $pid"; return 1; }
	kill -s "${3#SIG}" "$pid"
}

swap_state_is()
{
	[[ $(swap_unit_prop "$1" "$2" ActiveState) == "$3" ]]
}

swap_wait_state()
{
	wait_for "${4:-10}" swap_state_is "$1" "$2" "$3" && return 0
	fail "$(swap_unit "$1" "$2") did not become $3 within ${4:-10} s" "$(swap_unit_show "$1" "$2")" \
		"$(tail -n 10 "$SWAP_DOUBLE_DIR/daemon.log" 2>&1)"
}

swap_systemctl()
{
	"$SWAP_SYSTEMCTL" "$@"
}

swap_calls()
{
	cat "$SWAP_DOUBLE_DIR/calls.log" 2>/dev/null
}
