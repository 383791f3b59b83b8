#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 4: --from naming what the CI user cannot read,
# through sudo. /etc/shadow, /root/, a root-only tarball, directory and
# file holding a unique secret (in /root, removed after), the same through
# /proc/self/root and through a symlink the CI user owns, a relative
# --from in a cwd the CI user cannot search, a readable source tree with
# one root-only file or a symlink to the secret, and a git+file:// URL of
# a repository only the deploy user can read. Each deploy fails (exit 1,
# one "cutover: " line), leaves no release, staging or state behind, and
# no byte of the secret appears in the app's root (releases, shared,
# logs), the other releases, or cutover's output.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
before=$(app_state)
secret_new SECRET
cases=0

# The secrets: root-only, in /root, removed at exit.
sfile=/root/cutover-it-secret-$(random_hex 12)
sdir=$sfile.d
star=$sfile.tar
undo_push "rm -rf -- $(printf '%q %q %q' "$sfile" "$sdir" "$star")"
(umask 077 && printf '%s\n' "$SECRET" >"$sfile") || fatal "cannot write $sfile"
mkdir -m 0700 "$sdir" && cp -r "$SRC/." "$sdir/" && printf '<?php echo "%s";\n' "$SECRET" >"$sdir/public/index.php" ||
	fatal "cannot make $sdir"
tar -C "$sdir" -cf "$star" . && chmod 0600 "$star" || fatal "cannot make $star"

# refused_source WHAT NEEDLE FROM: deploying FROM fails as an operation
# error naming NEEDLE, and nothing changes or leaks.
refused_source()
{
	step "$1"
	run ci_cutover deploy "$APP" --from "$3"
	assert_refused 1 "$2" "$1"
	assert_no_secret "$SECRET" "$1"
	assert_app_unchanged "$before" "$1"
	cases=$((cases + 1))
}

refused_source "--from /etc/shadow" "Permission denied" /etc/shadow
refused_source "--from /root/" "Permission denied" /root/
refused_source "--from a root-only directory" "Permission denied" "$sdir"
refused_source "--from a root-only directory with a trailing slash" "Permission denied" "$sdir/"
refused_source "--from a root-only tarball" "Permission denied" "$star"
refused_source "--from a root-only file named like a directory" "Permission denied" "$sfile"
refused_source "--from the tarball through /proc/self/root" "Permission denied" "/proc/self/root$star"
refused_source "--from the tarball through /proc/1/root" "Permission denied" "/proc/1/root$star"

ci_dir=$S/ci
mkdir -m 0755 "$ci_dir"
chown "$CI_USER" "$ci_dir"
ln -s "$star" "$ci_dir/release.tar"
ln -s "$sdir" "$ci_dir/tree"
chown -h "$CI_USER" "$ci_dir/release.tar" "$ci_dir/tree"
refused_source "--from the CI user's symlink to the root-only tarball" "Permission denied" "$ci_dir/release.tar"
refused_source "--from the CI user's symlink to the root-only directory" "Permission denied" "$ci_dir/tree"

CI_CWD=/root
refused_source "a relative --from in a cwd the CI user cannot search" "Permission denied" "${star#/root/}"
CI_CWD=/

tree=$S/tree-unreadable
cp -r "$SRC" "$tree"
(umask 077 && printf '%s\n' "$SECRET" >"$tree/public/config.php")
refused_source "a readable tree with one root-only file" "Permission denied" "$tree"

tree=$S/tree-symlink
cp -r "$SRC" "$tree"
ln -s "$sfile" "$tree/public/leak.txt"
refused_source "a readable tree with a symlink to the secret" "leak.txt" "$tree"

tree=$S/tree-hardlink-dir
cp -r "$SRC" "$tree"
ln -s "$sdir/public" "$tree/public/inner"
refused_source "a readable tree with a symlink to the secret directory" "inner" "$tree"

step "git+file:// of a repository only the deploy user (nobody) can read"
# In the app's own shared/storage (nobody's, 02770): the build sandbox,
# where git runs as the deploy user, sees it (a scratch dir under /tmp
# would be hidden by the sandbox's private /tmp), the CI user does not.
SECRET_HOME=private-$(random_hex 6)
repo=$ROOT/shared/storage/$SECRET_HOME
mkdir -m 0700 "$repo"
cp -r "$SRC" "$repo/work"
printf '<?php echo "%s";\n' "$SECRET" >"$repo/work/public/index.php"
git -C "$repo/work" init -q -b main && git -C "$repo/work" add -A &&
	git -C "$repo/work" -c user.name=it -c user.email=it@example.invalid commit -qm secret ||
	fatal "cannot make the git repository"
chown -R nobody:nogroup "$repo"
run setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
	git ls-remote "file://$repo/work"
assert_ne 0 "$RC" "the CI user itself cannot read the repository"
run setpriv --reuid=nobody --regid=nogroup --clear-groups -- git ls-remote "file://$repo/work"
assert_eq 0 "$RC" "the deploy user can read the repository" || printf '%s\n' "$ERR"
for url in "git+file://$repo/work#main" "git+$repo/work#main"; do
	before=$(app_state)
	refused_source "${url%%/tmp/*}... (a repository the CI user cannot read, the deploy user can)" "" "$url"
	if [[ $RC == 0 ]]; then
		# It was published: put the known-good release back, drop the
		# leaked one, for what follows.
		ci_cutover switch "$APP" "$GOOD_ID" >/dev/null 2>&1
		ci_cutover prune "$APP" --keep 1 >/dev/null 2>&1
	fi
done
rm -rf -- "$repo"

assert_serving_php "after the refused sources"
echo "cases: $cases"
