#!/bin/bash
# SPDX-License-Identifier: MIT
#
# integration/package/prepare.sh: what integration/test_package.sh
# installs the package into, made once and reused:
#
#   BUILD/deb/cutover_VERSION_ARCH.deb   `make deb`, run again only when a
#                                        file of the tree is newer than it
#   BUILD/package/root.tar               a Debian 12 root (mmdebstrap,
#                                        minbase, from this machine's apt
#                                        sources) with sudo, bash-completion
#                                        and the package's dependencies, made
#                                        again only when its recipe changed
#
# The root is a tarball, never a directory under BUILD: the Makefile reads
# every *.d under BUILD as a dependency file, and a root has many (pam.d,
# sudoers.d, ...). The test unpacks it into its scratch directory.
#
# BUILD is build/ unless BUILD says otherwise (relative to the top of the
# tree). Prints "deb PATH" and "root PATH", and how long each step took.
# Runs as root; one at a time per BUILD (a lock in BUILD/package).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-build}
[[ $build == /* ]] || build=$top/$build
pkgdir=$build/package
mkdir -p "$pkgdir"
exec {lock}>"$pkgdir/lock"
flock -w 600 "$lock" || { echo "prepare: $pkgdir is locked by another run for 10 minutes" >&2; exit 1; }

# ---- the .deb ------------------------------------------------------------

deb_path()
{
	local f
	for f in "$build"/deb/cutover_*.deb; do
		[[ -f $f ]] && printf '%s\n' "$f" && return 0
	done
	return 1
}

# deb_stale DEB: true if any file of the tree (committed or not, ignored
# ones left out, as `make deb` copies them) is newer than DEB.
deb_stale()
{
	local newer
	newer=$(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && [ "$f" -nt "$0" ] && { echo "$f"; break; }; done' "$1")
	[[ -n $newer ]]
}

t0=$SECONDS
if ! deb=$(deb_path) || deb_stale "$deb"; then
	make -C "$top" --no-print-directory BUILD="$build" deb >"$pkgdir/deb.log" 2>&1 || {
		echo "prepare: make deb failed; the end of $pkgdir/deb.log:" >&2
		tail -n 30 "$pkgdir/deb.log" >&2
		exit 1
	}
	deb=$(deb_path) || { echo "prepare: make deb made no cutover_*.deb in $build/deb" >&2; exit 1; }
	echo "built $deb in $((SECONDS - t0)) s"
else
	echo "reused $deb (newer than every file of the tree)"
fi

# ---- the root ------------------------------------------------------------

# The recipe: the suite, the packages, and this machine's apt sources.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -s $f ]] && sources+=("$f")
done
((${#sources[@]} > 0)) || { echo "prepare: no apt sources in /etc/apt" >&2; exit 1; }
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)
include="sudo,bash-completion,$deps"
recipe=$(printf 'bookworm minbase %s\n' "$include"; cat "${sources[@]}")
root=$pkgdir/root.tar

root_valid()
{
	[[ -f $pkgdir/root.recipe && $(cat "$pkgdir/root.recipe") == "$recipe" && -s $root ]] &&
		tar -tf "$root" ./usr/bin/sudo ./var/lib/dpkg/status >/dev/null 2>&1
}

t0=$SECONDS
if root_valid; then
	echo "reused $root"
else
	rm -f "$pkgdir/root.recipe" "$root" "$pkgdir/root.new.tar"
	if ! mmdebstrap --variant=minbase --include="$include" bookworm "$pkgdir/root.new.tar" "${sources[@]}" \
		>"$pkgdir/mmdebstrap.log" 2>&1; then
		echo "prepare: mmdebstrap failed; the end of $pkgdir/mmdebstrap.log:" >&2
		tail -n 30 "$pkgdir/mmdebstrap.log" >&2
		rm -f "$pkgdir/root.new.tar"
		exit 1
	fi
	mv "$pkgdir/root.new.tar" "$root"
	printf '%s\n' "$recipe" >"$pkgdir/root.recipe"
	echo "built $root in $((SECONDS - t0)) s"
fi
echo "deb $deb"
echo "root $root"
