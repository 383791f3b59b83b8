#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every kind of SOURCE gives the same release: a directory, .tar, .tar.gz,
# .tgz, .tar.zst, .tar.xz and git+file:///REPO#BRANCH (the branch, not the
# default one) are staged and compared entry by entry (type, mode, owner,
# symlink target, content hash). Archives with a "../x" member, an
# absolute member, or a symlink leading outside the release (absolute or
# through "..") are refused with exit 1 and one error line naming the
# member, leaving the app root as it was; so is a directory source holding
# such a symlink.
. "$(dirname "$0")/lib.sh"

app_init

# fingerprint ID: what a release holds, for comparing releases.
fingerprint()
{
	(cd "$ROOT/releases/$1" && find . -printf '%P %y %m %u:%g %l\n' | LC_ALL=C sort) &&
		cat "$ROOT/.cutover/manifest/$1.sha256"
}

# stage_from SOURCE: stages SOURCE, sets ID.
stage_from()
{
	ID=
	assert_ok co stage --from "$1" || return 1
	ID=$OUT
	assert_match "$ID" '^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$' "stage --from $1 prints the release id"
}

step "directory"
stage_from "$SRC" || fatal "staging the directory failed"
DIR_ID=$ID
want=$(fingerprint "$DIR_ID")
# The release holds the source, plus the shared links.
assert_eq "Only in $ROOT/releases/$DIR_ID: .env|Only in $ROOT/releases/$DIR_ID: storage" \
	"$(diff -r --no-dereference "$SRC" "$ROOT/releases/$DIR_ID" | paste -sd'|' -)" "the directory release against its source"
assert_eq "index.php ../src" "$(readlink "$ROOT/releases/$DIR_ID/public/home.php") $(readlink "$ROOT/releases/$DIR_ID/public/src-link")" \
	"symlinks inside the source are kept as they were"

step "archives"
tar -C "$SRC" -cf "$S/app.tar" . &&
	tar -C "$SRC" -czf "$S/app.tar.gz" . &&
	cp "$S/app.tar.gz" "$S/app.tgz" &&
	tar -C "$SRC" --zstd -cf "$S/app.tar.zst" . &&
	tar -C "$SRC" -cJf "$S/app.tar.xz" . || fatal "cannot make the archives"
for a in app.tar app.tar.gz app.tgz app.tar.zst app.tar.xz; do
	stage_from "$S/$a" || continue
	assert_eq "$want" "$(fingerprint "$ID")" "the release staged from $a against the one from the directory"
done

step "git"
# git runs in the build sandbox, where /tmp, /var/tmp and /dev/shm are
# private: a file:// repository must live elsewhere. The build directory
# of this checkout is ours to use.
git_scratch_dir repo
chmod 755 "$repo" && cp -a "$SRC/." "$repo/" || fatal "cannot copy the source"
git_q() { git -C "$repo" -c user.name=it -c user.email=it@example.invalid "$@" >/dev/null 2>&1; }
git_q init -q -b main && git_q add -A && git_q commit -q -m release &&
	git_q branch release &&
	echo main-only >"$repo/main-only.txt" && git_q add -A && git_q commit -q -m main ||
	fatal "cannot make the git repository"
# git refuses to serve a repository its user does not own ("dubious
# ownership"); the deploy user fetches, so the repository is nobody's.
chown -R nobody:nogroup "$repo"
stage_from "git+file://$repo#release"
if [[ -n $ID ]]; then
	assert_eq "$want" "$(fingerprint "$ID")" "the release staged from git+file://...#release against the directory"
	assert_file_absent "$ROOT/releases/$ID/main-only.txt" "the release is the named branch, not the default one"
	assert_file_absent "$ROOT/releases/$ID/.git" "no .git in a release from git"
fi

step "hostile archives"
evil=$S/evil
mkdir -p "$evil/public" && echo '<?php' >"$evil/public/index.php" && echo x >"$S/x" || fatal "setup"
tar -C "$evil" -P -czf "$S/dotdot.tar.gz" public ../x
tar -C "$evil" -P -czf "$S/absolute.tar.gz" public "$S/x"
ln -s /etc/passwd "$evil/public/passwd"
tar -C "$evil" -czf "$S/abs-link.tar.gz" public
rm "$evil/public/passwd"
ln -s ../../../../etc "$evil/public/up"
tar -C "$evil" -czf "$S/rel-link.tar.gz" public
rm "$evil/public/up"
assert_eq "public/ public/index.php ../x" "$(tar -tzf "$S/dotdot.tar.gz" 2>/dev/null | paste -sd' ' -)" "the ../x archive holds ../x"

before=$(tree_snapshot "$ROOT")
for case in "dotdot.tar.gz:../x" "absolute.tar.gz:$S/x" "abs-link.tar.gz:public/passwd" "rel-link.tar.gz:public/up"; do
	a=${case%%:*} member=${case#*:}
	assert_exit 1 co stage --from "$S/$a"
	assert_error_line 1
	assert_contains "$ERR" "$member" "the refusal of $a names the member $member"
	assert_tree_same "$before" "$ROOT" "the app root after refusing $a"
done

step "a directory source with a symlink leading outside"
ln -s ../../etc/passwd "$evil/public/passwd"
before=$(tree_snapshot "$ROOT")
assert_exit 1 co stage --from "$evil"
assert_error_line 1
assert_contains "$ERR" "public/passwd" "the refusal of the directory names the symlink"
assert_tree_same "$before" "$ROOT" "the app root after refusing the directory"
assert_file_absent "$ROOT/.cutover/x" "../x was not written next to staging/"
assert_file_absent "$ROOT/.cutover/staging/x" "../x was not written in staging/"
