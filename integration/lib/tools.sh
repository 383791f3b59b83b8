# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/tools.sh: the test tools, integration/tools/NAME.c,
# which make builds into $BUILD/tools (integration/tools.mk; `make
# integration` builds them first). Tests use copies of them.

HOSTILE_TOOLS=        # where tool_build puts its copies

# tool_build NAME [DIR]: a copy of the tool NAME (NAME.so for a shared
# library) from $BUILD/tools in DIR, by default HOSTILE_TOOLS (a scratch
# dir, made on first use); sets TOOL to the copy. A copy, so that a
# `make` running meanwhile cannot change it under the test and so that it
# sits where the test's users can reach it (marker.so also needs to be
# beside its markers directory).
tool_build()
{
	local name=$1 dir=${2:-} built=$IT_BUILD/tools/$1

	[[ -f $built ]] || fatal "$built is missing; run 'make integration-tools' (make integration builds it)"
	if [[ -z $dir ]]; then
		[[ -n $HOSTILE_TOOLS ]] || scratch_new HOSTILE_TOOLS
		dir=$HOSTILE_TOOLS
	fi
	install -m 0755 "$built" "$dir/$name" || fatal "cannot copy $built into $dir"
	TOOL=$dir/$name
}

# mktar_build OUT SPEC [FILTER...]: the tar stream integration/tools/mktar
# makes from SPEC (its lines, see mktar.c), piped through FILTER (e.g.
# zstd -q -c), written to OUT (0644).
mktar_build()
{
	local out=$1 spec=$2

	shift 2
	[[ -n ${MKTAR:-} ]] || { tool_build mktar; MKTAR=$TOOL; }
	(($# > 0)) || set -- cat
	printf '%s\n' "$spec" | "$MKTAR" | "$@" >"$out" || fatal "mktar | $* failed"
	chmod 0644 "$out"
}
