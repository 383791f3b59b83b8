#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind, 10 switches and 3 rollbacks: after each, the mount table
# shows exactly one mount at live, read-only, nosuid, nodev, whose root is
# the release current names, with shared/storage (writable) and .env
# (read-only) mounted on it and nothing else left under ROOT; live serves
# that release's files; writing into live fails with EROFS, as root too;
# live/storage stays writable for the web server (www-data); status
# --json reports the mount. History, list and previous work as in symlink
# mode.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

bind_app_init

# check_live ID LABEL WHAT: everything a publish of ID (whose index.php
# prints LABEL) must leave.
check_live()
{
	local id=$1 label=$2 what=$3 under json

	assert_eq "$id" "$(current_id)" "$what: current"
	assert_live "$id" "$what" || return 1
	assert_file_content "$ROOT/live/public/index.php" "<?php echo \"$label\";" "$what: live serves"
	assert_erofs "$ROOT/live/new-file" "$what"
	assert_erofs "$ROOT/live/public/new-file" "$what"
	if printf 'x' 2>/dev/null >>"$ROOT/live/.env"; then
		fail "$what: live/.env is writable"
	fi
	as_web sh -c "echo $label >'$ROOT/live/storage/written-by-web'" ||
		fail "$what: www-data cannot write into live/storage"
	assert_file_content "$ROOT/shared/storage/written-by-web" "$label" "$what: live/storage is shared/storage"
	# ROOT's bind of itself, live, and the two shared entries on it.
	under=$(awk -v d="$ROOT" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | LC_ALL=C sort | paste -sd' ' -)
	assert_eq "$ROOT $ROOT/live $ROOT/live/.env $ROOT/live/storage" "$under" "$what: mounts under ROOT"
	json=$(co --json status)
	assert_eq "bind $id true 1" "$(jq -r '"\(.mode) \(.mount.release) \(.mount.ok) \(.mount.stacked)"' <<<"$json")" \
		"$what: status --json"
}

step "first deploy"
printf 'APP_KEY=one\n' >"$SRC/.env"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
ids=("$(current_id)") labels=(v1)
check_live "${ids[0]}" v1 "after the first deploy"
assert_file_content "$ROOT/live/.env" "APP_KEY=one" "live/.env is shared/.env"
[[ -d $ROOT/releases/${ids[0]}/storage && -z $(ls -A "$ROOT/releases/${ids[0]}/storage") ]] ||
	fail "releases/ID/storage is not the empty mount point" "$(ls -la "$ROOT/releases/${ids[0]}/storage" 2>&1)"
[[ -f $ROOT/releases/${ids[0]}/.env && ! -s $ROOT/releases/${ids[0]}/.env ]] ||
	fail "releases/ID/.env is not the empty mount point" "$(ls -la "$ROOT/releases/${ids[0]}/.env" 2>&1)"
run co status
assert_contains "$OUT" "mode:        bind" "status names the mode"
assert_contains "$OUT" "mounted:     ${ids[0]} (ro,nosuid,nodev" "status shows the mount"

step "ten releases staged"
for i in $(seq 2 11); do
	set_index "$SRC" "v$i"
	run co -q stage --from "$SRC"
	[[ $RC == 0 ]] || fatal "stage v$i failed" "$(it_last_output)"
	ids+=("$OUT") labels+=("v$i")
done
check_live "${ids[0]}" v1 "after staging (nothing published)"

step "10 switches and 3 rollbacks"
cur=0 switches=0 rollbacks=0
for i in $(seq 1 10); do
	prev=$cur cur=$i
	assert_ok co switch "${ids[cur]}" || fatal "switch to ${labels[cur]} failed"
	switches=$((switches + 1))
	check_live "${ids[cur]}" "${labels[cur]}" "switch $switches to ${labels[cur]}"
	if ((i == 3 || i == 6 || i == 9)); then
		assert_ok co rollback || fatal "rollback from ${labels[cur]} failed"
		rollbacks=$((rollbacks + 1))
		cur=$prev
		check_live "${ids[cur]}" "${labels[cur]}" "rollback $rollbacks to ${labels[cur]}"
	fi
done
assert_eq "10 3" "$switches $rollbacks" "switches and rollbacks made"

step "history, list and previous as in symlink mode"
assert_eq 14 "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "history lines (deploy, 10 switches, 3 rollbacks)"
# ... switch to v10, rollback to v9, switch from v9 to v11
assert_eq "rollback ${ids[9]} ${ids[8]}" "$(tail -n 2 "$ROOT/.cutover/history.jsonl" | head -n 1 | jq -r '"\(.verb) \(.from) \(.to)"')" \
	"the third rollback in history"
assert_eq "current=${ids[10]} previous=${ids[8]}" \
	"$(list_json | jq -r '"current=\(.[] | select(.current) | .id) previous=\(.[] | select(.previous) | .id)"')" \
	"list --json flags"
assert_ok co rollback
check_live "${ids[8]}" v9 "a last rollback"
