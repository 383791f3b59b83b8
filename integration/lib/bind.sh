# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/bind.sh: mode = bind.
#
# For integration/test_bind_*.sh. They set IT_OWN_MOUNT_NS=1 before
# sourcing integration/lib.sh (see the top of lib/core.sh: each runs in a
# private mount namespace of its own) and IT_BIND=1, with which app_init
# and web_app_init configure mode = bind, live = ROOT/live.

IT_BIND_CLEANUP=0

# bind_app_init [BUILD_LINE...]: app_init in mode = bind; what it mounts
# is unmounted at exit.
bind_app_init()
{
	IT_BIND=1
	app_init "$@"
	bind_cleanup_at_exit
}

# bind_cleanup_at_exit: at exit, unmounts everything mounted in the
# test's scratch directories (ROOT's bind of itself, live, stacked
# mounts), so that they can be removed.
bind_cleanup_at_exit()
{
	((IT_BIND_CLEANUP)) && return 0
	IT_BIND_CLEANUP=1
	at_exit bind_unmount_scratch
}

bind_unmount_scratch()
{
	local d t i

	for ((i = 0; i < 100; i++)); do
		# The deepest first; at one path, the top first.
		t=$(for d in "${IT_SCRATCH[@]}"; do
			awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print length($5), $5 }' /proc/self/mountinfo
		done | sort -rn | head -n 1 | cut -d' ' -f2-)
		[[ -n $t ]] || return 0
		umount -l -- "$t" || { fail "cannot unmount $t"; return 1; }
	done
}

# live_mounts [PID]: "ID ROOT OPTIONS" of each mount at ROOT/live in the
# mount table of PID's namespace (default: ours), in table order.
live_mounts()
{
	awk -v t="$ROOT/live" '$5 == t { print $1, $4, $6 }' "/proc/${1:-self}/mountinfo"
}

# assert_live ID WHAT [PID]: exactly one mount at ROOT/live (in PID's
# namespace), its root releases/ID, read-only, nosuid, nodev.
assert_live()
{
	local id=$1 what=$2 lines n mid root opts

	lines=$(live_mounts "${3:-self}")
	n=$(printf '%s' "$lines" | grep -c '')
	if [[ $n != 1 ]]; then
		fail "$what: expected exactly one mount at $ROOT/live, found $n" "$lines"
		return 1
	fi
	read -r mid root opts <<<"$lines"
	if [[ $root != */releases/"$id" ]]; then
		fail "$what: $ROOT/live shows $root, not releases/$id" "mount $mid: $root $opts"
		return 1
	fi
	[[ ,$opts, == *,ro,* && ,$opts, == *,nosuid,* && ,$opts, == *,nodev,* ]] && return 0
	fail "$what: $ROOT/live is mounted $opts, not ro, nosuid, nodev"
}

# assert_erofs PATH WHAT: creating PATH fails with EROFS (as root).
assert_erofs()
{
	local out

	if out=$(touch -- "$1" 2>&1); then
		rm -f -- "$1"
		fail "$2: $1 could be created"
		return 1
	fi
	assert_contains "$out" "Read-only file system" "$2: creating $1"
}

# as_web CMD...: CMD as www-data (the web server's user and group).
as_web()
{
	setpriv --reuid=www-data --regid=www-data --clear-groups -- "$@"
}
