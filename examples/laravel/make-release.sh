#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make-release.sh VERSION OUTDIR: writes the source tree of one version of
# the example Laravel app into OUTDIR (created if missing; it must be empty
# if it exists). The tree is what cutover imports: no .env (shared) and an
# empty storage/ skeleton (replaced by the shared storage link).
#
#   v1        app-v1 as it is
#   v2        + an additive migration (nullable notes.author), a form field
#   v3        v2 whose GET /up fails with 500 (config release.health_fail)
#   v-drop    v1's code + v2's migration + a migration dropping notes.author
#   v-rename  v2 + a migration renaming notes.body to notes.text
#   v-change  v2 + a migration changing notes.body to varchar(50)
#
# Each version's config/release.php names it (GET /version prints it).
# Source files keep their mtimes (cp --preserve=timestamps): Blade treats a
# compiled view as stale when its source's mtime, in whole seconds, is not
# older than the compiled file's (see README.md).
set -euo pipefail

usage()
{
	echo "usage: $0 v1|v2|v3|v-drop|v-rename|v-change OUTDIR" >&2
	exit 2
}

[[ $# -eq 2 ]] || usage
version=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
overlays=$here/overlays

# What goes on top of app-v1, in order. "NAME:SUBDIR" copies only SUBDIR of
# the overlay NAME.
case $version in
v1) layers=() ;;
v2) layers=(v2) ;;
v3) layers=(v2 v3) ;;
v-drop) layers=(v2:database/migrations v-drop) ;;
v-rename) layers=(v2 v-rename) ;;
v-change) layers=(v2 v-change) ;;
*) usage ;;
esac

if [[ -e $out ]]; then
	[[ -d $out && -z $(ls -A "$out") ]] ||
		{ echo "$0: $out exists and is not an empty directory" >&2; exit 1; }
fi
mkdir -p "$out"

copy()
{
	# Contents of $1 into $2, dot files included.
	mkdir -p "$2"
	cp -R --preserve=mode,timestamps "$1/." "$2/"
}

copy "$here/app-v1" "$out"
for layer in "${layers[@]}"; do
	name=${layer%%:*} sub=
	[[ $layer == *:* ]] && sub=${layer#*:}
	copy "$overlays/$name${sub:+/$sub}" "$out${sub:+/$sub}"
done

# The version must be what config/release.php says.
grep -q "'version' => '$version'," "$out/config/release.php" ||
	{ echo "$0: $out/config/release.php does not name $version" >&2; exit 1; }
