#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind with php-fpm in a mount namespace of its own:
#
# - started as systemd starts a service with namespacing (unshare --mount
#   --propagation slave, after cutover mount made ROOT a shared mount),
#   the swap reaches it by propagation: cutover never enters its
#   namespace, and the pool serves each new release, with exactly one
#   mount at live in its mount table;
# - started in a private namespace, where nothing propagates, cutover
#   sees the stale mount in the master's /proc/PID/mountinfo and makes the
#   same swap inside that namespace (setns through the master's pidfd,
#   from a child of the helper): the pool serves each new release, and our
#   own namespace is untouched by it; when that namespace lost its mount
#   at live, cutover mount puts it back there too.
IT_OWN_MOUNT_NS=1
IT_BIND=1
. "$(dirname "$0")/lib.sh"

# php-fpm through a wrapper that gives it a mount namespace of its own,
# with the propagation FPM_PROPAGATION names.
TOOLS=
scratch_new TOOLS
cat >"$TOOLS/php-fpm-ns" <<'EOF'
#!/bin/sh
exec unshare --mount --propagation "$FPM_PROPAGATION" /usr/sbin/php-fpm8.2 "$@"
EOF
chmod 0755 "$TOOLS/php-fpm-ns"
export WEB_PHP_FPM=$TOOLS/php-fpm-ns

# deploy_and_check LABEL ENTERED: deploys LABEL; checks that cutover did
# (ENTERED = true) or did not enter php-fpm's namespace, and that both
# namespaces show the new release and the pool serves it.
deploy_and_check()
{
	local label=$1 entered=$2 id fpm

	run deploy_version "$label" -q --json
	[[ $RC == 0 ]] || { fail "deploy $label exited $RC" "$(it_last_output)"; return 1; }
	assert_eq "$entered" "$(jq -r .fpm_namespace_entered <<<"$OUT")" "deploy $label: entered php-fpm's namespace"
	id=$(release_of "$label")
	fpm=$(fpm_master_pid)
	assert_live "$id" "deploy $label, our namespace"
	assert_live "$id" "deploy $label, php-fpm's namespace" "$fpm"
	assert_contains "$(served /)" "a=$label b=$label i=$label" "deploy $label: what the pool serves"
}

for mode in slave private; do
	step "php-fpm in a namespace with $mode propagation"
	entered=$([[ $mode == slave ]] && echo false || echo true)
	export FPM_PROPAGATION=$mode
	web_app_init
	fpm=$(fpm_master_pid) || fatal "no php-fpm master"
	[[ $(readlink "/proc/$fpm/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] ||
		fatal "php-fpm runs in our mount namespace; the wrapper did not work"
	root_tag=$(awk -v r="$ROOT" '$5 == r { print $7 }' "/proc/$fpm/mountinfo")
	if [[ $mode == slave ]]; then
		assert_match "$root_tag" '^master:' "ROOT in php-fpm's namespace receives our mounts"
	else
		assert_eq "-" "$root_tag" "ROOT in php-fpm's namespace is private"
	fi

	deploy_and_check v0 "$entered"
	deploy_and_check v1 "$entered"
	deploy_and_check v2 "$entered"
	run co -q --json rollback
	assert_eq 0 "$RC" "rollback" || printf '%s\n' "$ERR"
	assert_eq "$entered" "$(jq -r .fpm_namespace_entered <<<"$OUT")" "rollback: entered php-fpm's namespace"
	fpm=$(fpm_master_pid)
	assert_live "$(release_of v1)" "rollback, php-fpm's namespace" "$fpm"
	assert_contains "$(served /)" "a=v1 b=v1 i=v1" "rollback: what the pool serves"

	if [[ $mode == private ]]; then
		step "php-fpm's namespace lost its mount: cutover mount puts it back there"
		nsenter --target "$fpm" --mount umount -R "$ROOT/live" || fatal "cannot unmount live in php-fpm's namespace"
		assert_eq "" "$(live_mounts "$fpm")" "nothing at live in php-fpm's namespace"
		assert_live "$(release_of v1)" "our namespace is not affected"
		assert_ok co mount
		assert_contains "$ERR" "also in php-fpm's mount namespace" "what cutover mount says"
		assert_live "$(release_of v1)" "after cutover mount, php-fpm's namespace" "$fpm"
		assert_contains "$(served /)" "a=v1 b=v1 i=v1" "after cutover mount: what the pool serves"
	fi
	web_stop "$WEB"
done
