#!/bin/bash
# SPDX-License-Identifier: MIT
#
# deploy A, B, C -> rollback -> prune --keep 1 -> deploy D -> prune
# --keep 1: where current points after each step, the states and
# current/previous flags of `list --json`, the history lines (verb, from,
# to), and that prune --keep 1 keeps exactly current and previous (the
# release current was deployed over), removing the rest with their state,
# manifest and log files, both right after a rollback and after a deploy.
. "$(dirname "$0")/lib.sh"

app_init

# release_flags: "ID STATE current|- previous|-" per release, sorted.
release_flags()
{
	list_json | jq -r '.[] | "\(.id) \(.state) \(if .current then "current" else "-" end) \(if .previous then "previous" else "-" end)"'
}

# expect_flags LINE...: release_flags must be exactly these lines.
expect_flags()
{
	assert_eq "$(printf '%s\n' "$@" | LC_ALL=C sort)" "$(release_flags)" "list --json states and flags"
}

history_lines()
{
	jq -r 'select(.to != null) | "\(.verb) \(.from) \(.to)"' "$ROOT/.cutover/history.jsonl"
}

deploy_version()
{
	local before

	step "deploy $1"
	before=$(dir_list "$ROOT/releases")
	set_index "$SRC" "$1"
	assert_ok co deploy --from "$SRC" || fatal "deploy $1 failed"
	printf -v "$1" '%s' "$(new_release_id "$before")"
	assert_match "${!1}" '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' "id of release $1"
	assert_eq "releases/${!1}" "$(readlink "$ROOT/current")" "current after deploying $1 (a relative symlink)"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"$1\";" "content served after deploying $1"
}

deploy_version A
expect_flags "$A frozen current -"
deploy_version B
expect_flags "$A frozen - previous" "$B frozen current -"
deploy_version C
expect_flags "$A frozen - -" "$B frozen - previous" "$C frozen current -"

step "rollback"
assert_ok co rollback
assert_eq "releases/$B" "$(readlink "$ROOT/current")" "current after rollback"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "B";' "content served after rollback"
# B was deployed over A: after rolling back to B, A is its previous.
expect_flags "$A frozen - previous" "$B frozen current -" "$C frozen - -"
run co --json status
assert_eq "$B $A" "$(jq -r '"\(.current) \(.previous)"' <<<"$OUT")" "status --json current and previous"

step "history"
assert_eq "$(printf '%s\n' "deploy null $A" "deploy $A $B" "deploy $B $C" "rollback $C $B")" \
	"$(history_lines)" "history.jsonl verb/from/to"
assert_eq "root root root root" "$(jq -r 'select(.to != null) | .who' "$ROOT/.cutover/history.jsonl" | paste -sd' ' -)" "history 'who'"

# prune keeps the newest N frozen releases and, always, current and
# previous (docs/cutover.8). After the rollback C is the newest, B is
# current and A is B's previous: --keep 1 keeps all three.
step "prune --keep 1 after the rollback"
assert_ok co --json prune --keep 1
assert_eq "[]" "$(jq -c .removed <<<"$OUT" 2>&1)" "prune --json: removed releases"
assert_eq "$(sorted "$A" "$B" "$C")" "$(dir_list "$ROOT/releases")" "releases/ after prune --keep 1 (newest, current and previous)"
assert_eq "releases/$B" "$(readlink "$ROOT/current")" "current after prune"
expect_flags "$A frozen - previous" "$B frozen current -" "$C frozen - -"
assert_eq 4 "$(grep -c '"to":"' "$ROOT/.cutover/history.jsonl")" "prune adds no history line"

# check_pruned GONE_IDS KEPT_IDS
check_pruned()
{
	local id f

	for id in $1; do
		assert_file_absent "$ROOT/releases/$id" "pruned release $id is removed"
		for f in "state/$id" "manifest/$id.sha256" "logs/$id.log"; do
			assert_file_absent "$ROOT/.cutover/$f" "pruned release's .cutover/$f is removed"
		done
	done
	for id in $2; do
		for f in "state/$id" "manifest/$id.sha256" "logs/$id.log"; do
			assert_file_exists "$ROOT/.cutover/$f" "kept release's .cutover/$f is kept"
		done
		assert_manifest_ok "$ROOT" "$id"
	done
	assert_dir_empty "$ROOT/.cutover/trash"
	assert_dir_empty "$ROOT/.cutover/staging"
}
check_pruned "" "$A $B $C"

# A plain deploy after that: D goes over B, so B is D's previous; D is also
# the newest, so --keep 1 now removes A and C.
deploy_version D
run co --json status
assert_eq "$D $B" "$(jq -r '"\(.current) \(.previous)"' <<<"$OUT")" "status --json after deploying D"
step "prune --keep 1 after a deploy"
assert_ok co prune --keep 1
assert_eq "$(sorted "$B" "$D")" "$(dir_list "$ROOT/releases")" "releases/ after prune --keep 1 (current and previous)"
expect_flags "$B frozen - previous" "$D frozen current -"
check_pruned "$A $C" "$B $D"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "D";' "content served after prune"
