# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/app.sh: cutover and the apps it deploys: the binary
# under test (CUTOVER_BIN; run.sh points it at a copy of the build), a
# small PHP app's source tree, its config, and looking at an app root.

# ---- running cutover ---------------------------------------------------

# The binary under test. Arguments as for cutover(1).
cutover()
{
	"$CUTOVER_BIN" "$@"
}

# co [-q|--json...] VERB [ARGS...]: cutover -c $CONF [OPTIONS] VERB $APP
# ARGS... for the current app.
co()
{
	local opts=()

	while [[ ${1:-} == -* ]]; do
		opts+=("$1")
		shift
	done
	"$CUTOVER_BIN" -c "$CONF" "${opts[@]}" "$1" "$APP" "${@:2}"
}

# ---- apps and their configs --------------------------------------------

# app_source DIR TEXT: a small PHP app whose public/index.php prints TEXT.
# Only what git can represent (no empty dirs; modes 0644/0755), so every
# kind of source can carry the same tree.
app_source()
{
	local dir=$1 text=$2

	mkdir -p "$dir/public/css" "$dir/src/Controller" "$dir/bin" || fatal "cannot create $dir"
	printf '<?php echo "%s";\n' "$text" >"$dir/public/index.php"
	printf 'body { color: #333; }\n' >"$dir/public/css/app.css"
	printf '<?php\nnamespace App\\Controller;\nclass Home {}\n' >"$dir/src/Controller/Home.php"
	printf '{ "name": "it/demo", "require": {} }\n' >"$dir/composer.json"
	printf '#!/bin/sh\necho tool\n' >"$dir/bin/tool"
	chmod 0755 "$dir/bin/tool"
	ln -s index.php "$dir/public/home.php"
	ln -s ../src "$dir/public/src-link"
}

# app_config FILE ROOT [BUILD_LINE...]: writes a config (mode 0644, root)
# for an app at ROOT. Each BUILD_LINE goes under [build] as written
# ("run = true" if none). APP_USER, APP_GROUP, APP_KEEP override nobody,
# nogroup, 3. IT_BIND=1 adds mode = bind, live = ROOT/live.
app_config()
{
	local file=$1 root=$2 line

	shift 2
	{
		printf '[app]\n'
		printf 'root = %s\n' "$root"
		printf 'user = %s\n' "${APP_USER:-nobody}"
		printf 'group = %s\n' "${APP_GROUP:-nogroup}"
		printf 'web_group = www-data\n'
		printf 'keep = %s\n' "${APP_KEEP:-3}"
		if [[ ${IT_BIND:-0} == 1 ]]; then
			printf 'mode = bind\n'
			printf 'live = %s/live\n' "$root"
		fi
		printf '[shared]\n'
		printf 'dirs = storage\n'
		printf 'files = .env\n'
		printf '[build]\n'
		if (($# == 0)); then
			printf 'run = true\n'
		fi
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$file" || fatal "cannot write $file"
	chmod 0644 "$file"
}

# app_init [BUILD_LINE...]: a fresh app in a new scratch dir. Sets S (the
# scratch dir), SRC (source tree, index.php prints "v1"), ROOT, CONF and
# APP (default "demo", or $APP if set).
app_init()
{
	scratch_new S
	APP=${APP:-demo}
	SRC=$S/src
	ROOT=$S/root
	CONF=$S/app.conf
	app_source "$SRC" v1
	app_config "$CONF" "$ROOT" "$@"
}

# set_index DIR TEXT: makes DIR's index.php print TEXT.
set_index()
{
	printf '<?php echo "%s";\n' "$2" >"$1/public/index.php"
}

# ---- looking at an app root --------------------------------------------

# current_id [ROOT]: the id current points to ("" if none, or if current
# is not a releases/ID symlink: then the raw readlink with a "!" prefix).
current_id()
{
	local t

	t=$(readlink "${1:-$ROOT}/current" 2>/dev/null) || { printf ''; return; }
	if [[ $t == releases/* ]]; then
		printf '%s' "${t#releases/}"
	else
		printf '!%s' "$t"
	fi
}

# dir_list DIR: the names in DIR, sorted, space-separated.
dir_list()
{
	[[ -d $1 ]] || return 0
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | paste -sd' ' -
}

# sorted WORD...: the words sorted, space-separated.
sorted()
{
	(($# == 0)) && return 0
	printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' ' -
}

# tree_snapshot ROOT: every path under ROOT with its type, mode, owner and
# symlink target; for comparing an app root before and after a failure.
tree_snapshot()
{
	local f id skip=()

	# A failed build's record (state "failed" and its log, without a
	# tree) is kept on purpose for `cutover list` and `cutover log`, and
	# the history records every attempt (issue 13): not traces the failed
	# run left behind.
	skip=(-e ".cutover/history.jsonl ")
	for f in "$1"/.cutover/state/*; do
		[[ -f $f ]] && grep -qx 'state=failed' "$f" 2>/dev/null || continue
		id=${f##*/}
		[[ -e $1/.cutover/failed/$id ]] && continue
		skip+=(-e ".cutover/state/$id " -e ".cutover/logs/$id.log ")
	done
	find "$1" -printf '%P %y %m %u:%g %l\n' | LC_ALL=C sort |
		grep -vF "${skip[@]}"
}

# list_json: `cutover --json list` of the current app, as a compact
# array sorted by id.
list_json()
{
	co --json list | jq -c '.releases | sort_by(.id)'
}

# new_release_id BEFORE: the single entry of releases/ not in the
# space-separated list BEFORE.
new_release_id()
{
	# shellcheck disable=SC2086 # BEFORE is a list of words
	comm -13 <(printf '%s\n' $1 | LC_ALL=C sort) \
		<(find "$ROOT/releases" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort)
}
