#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The repository cache of git+ sources (ROOT/.cutover/git, issue 11):
#   - the first deploy fills it (git_user's, 0700); the second fetches
#     only what changed: its pack holds a handful of objects, not the tree;
#   - a deploy from another REF works and the release is that REF;
#   - a cache tampered with (as git_user could: a config with url.insteadOf through
#     includeIf, core.fsmonitor, core.hooksPath, core.sshCommand; hooks;
#     alternates to another repository; loose objects with the right name
#     and the wrong content) changes neither what the next fetch does nor
#     what it checks out;
#   - a damaged pack makes at most one deploy fail, and the cache heals.
# Each release is compared with `git archive` of its commit.
. "$(dirname "$0")/lib.sh"

# [build] git_user: a user of its own that writes the cache.
GU=cutgit$(random_hex 6)
useradd --system --no-create-home --shell /usr/sbin/nologin "$GU" || fatal "cannot create the user $GU"
undo_push "userdel $GU >/dev/null 2>&1 || echo 'cannot delete the user $GU' >&2"
app_init 'run = true' "git_user = $GU"
git_scratch_dir G
repo=$G/src
evil=$G/evil
CACHE=$ROOT/.cutover/git/repo.git
git_q() { git -c safe.directory=* -C "$1" -c user.name=it -c user.email=it@example.invalid "${@:2}" >/dev/null 2>&1; }

# same_as REV WHAT: the current release holds exactly `git archive REV`
# (plus the shared links), file by file.
same_as()
{
	local want=$S/want.$RANDOM
	mkdir -p "$want" && git -c safe.directory=* -C "$repo" archive "$1" | tar -x -C "$want" || fatal "git archive $1"
	assert_eq "Only in $ROOT/current/: .env|Only in $ROOT/current/: storage" \
		"$(diff -r --no-dereference "$want" "$ROOT/current/" 2>&1 | paste -sd'|' -)" "$2: the release is $1"
}

# newest_pack_objects: objects in the cache's newest pack (what the last
# fetch received: transfer.unpackLimit=1 keeps every fetch a pack).
newest_pack_objects()
{
	local idx
	idx=$(ls -t "$CACHE"/objects/pack/*.idx | head -1)
	git show-index <"$idx" | wc -l
}

step "a repository of 300 files"
mkdir -p "$repo" && cp -a "$SRC/." "$repo/" && rm -f "$repo/.env" || fatal "cannot copy the source"
for i in $(seq 1 300); do printf 'file %s %s\n' "$i" "$(random_hex 200)" >"$repo/src/f$i.txt"; done
git_q "$repo" init -q -b main && git_q "$repo" add -A && git_q "$repo" commit -q -m v1 ||
	fatal "cannot make the repository"
chown -R nobody:nogroup "$repo"

step "the first deploy fills the cache"
assert_ok co deploy --from "git+file://$repo#main" || fatal "the first deploy failed"
same_as main "first deploy"
assert_eq "$GU:root 700" "$(stat -c '%U:%G %a' "$ROOT/.cutover/git")" "the cache directory is git_user's, 0700"
assert_eq "" "$(find "$ROOT/.cutover/git" ! -user "$GU")" "everything in the cache is git_user's"
assert_file_exists "$CACHE/HEAD" "the cache is a repository"
first=$(newest_pack_objects)
assert_lt 300 "$first" "the first fetch received the whole tree ($first objects)"

step "the second deploy fetches only what changed"
set_index "$repo" v2
git_q "$repo" commit -q -am v2 || fatal "commit v2"
assert_ok co deploy --from "git+file://$repo#main" || fatal "the second deploy failed"
same_as main "second deploy"
second=$(newest_pack_objects)
# the commit, the root and public/ trees, index.php
assert_lt "$second" 10 "the second fetch received $second objects, not the tree"
assert_eq 2 "$(ls "$CACHE"/objects/pack/*.pack | wc -l)" "the cache kept the first fetch"

step "another REF"
git_q "$repo" checkout -q -b other && set_index "$repo" other && git_q "$repo" commit -q -am other &&
	git_q "$repo" checkout -q main || fatal "branch other"
assert_ok co deploy --from "git+file://$repo#other" || fatal "the deploy of other failed"
same_as other "deploy of another REF"
assert_ok co deploy --from "git+file://$repo#main" || fatal "the deploy of main failed"
same_as main "main again"

step "a cache tampered with"
# A repository with other content, and objects named like the next commit's.
mkdir -p "$evil" && cp -a "$repo/." "$evil/" && set_index "$evil" EVIL &&
	git_q "$evil" commit -q -am evil || fatal "cannot make the evil repository"
set_index "$repo" v3
printf 'new %s\n' "$(random_hex 8)" >"$repo/src/new.txt"
git_q "$repo" add -A && git_q "$repo" commit -q -m v3 || fatal "commit v3"
chown -R nobody:nogroup "$repo" "$evil"
marker=$ROOT/.cutover/git/pwned
printf '[url "file://%s"]\n\tinsteadOf = file://%s\n' "$evil" "$repo" >"$G/evil.config"
cat >>"$CACHE/config" <<CFG
[core]
	fsmonitor = touch $marker.fsmonitor
	hooksPath = $G/hooks
	sshCommand = touch $marker.ssh
[includeIf "gitdir:/"]
	path = $G/evil.config
[url "file://$evil"]
	insteadOf = file://$repo
CFG
mkdir -p "$G/hooks" "$CACHE/hooks"
for h in reference-transaction post-checkout pre-auto-gc; do
	printf '#!/bin/sh\ntouch %s.hook\n' "$marker" | tee "$G/hooks/$h" >"$CACHE/hooks/$h"
	chmod 755 "$G/hooks/$h" "$CACHE/hooks/$h"
done
echo "$evil/.git/objects" >"$CACHE/objects/info/alternates"
# Loose objects under the names of v3's new blobs, with EVIL's content.
eblob=$(git -c safe.directory=* -C "$evil" rev-parse HEAD:public/index.php)
for path in public/index.php src/new.txt; do
	h=$(git -c safe.directory=* -C "$repo" rev-parse "main:$path")
	mkdir -p "$CACHE/objects/${h:0:2}"
	cp "$evil/.git/objects/${eblob:0:2}/${eblob:2}" "$CACHE/objects/${h:0:2}/${h:2}" ||
		fatal "cannot plant an object"
done
# An object the cache already holds (composer.json) planted the same way.
h=$(git -c safe.directory=* -C "$repo" rev-parse main:composer.json)
mkdir -p "$CACHE/objects/${h:0:2}"
cp "$evil/.git/objects/${eblob:0:2}/${eblob:2}" "$CACHE/objects/${h:0:2}/${h:2}"
chown -R "$GU" "$ROOT/.cutover/git"
# What a plain git reads under the name of v3's index.php: the plant matters.
h=$(git -c safe.directory=* -C "$repo" rev-parse main:public/index.php)
assert_eq '<?php echo "EVIL";' "$(git -c safe.directory=* -C "$CACHE" cat-file -p "$h" 2>/dev/null)" "the planted object is what a plain git reads"
packs=$(ls "$CACHE"/objects/pack/*.pack | wc -l)
assert_ok co deploy --from "git+file://$repo#main" || fatal "the deploy after tampering failed"
same_as main "after tampering"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v3";' "after tampering"
for m in fsmonitor ssh hook; do
	assert_file_absent "$marker.$m" "the planted $m did not run"
done
assert_eq "" "$(git config -f "$CACHE/config" --get-regexp 'url|include|fsmonitor|hookspath|sshcommand')" \
	"the planted config keys are gone"
assert_file_absent "$CACHE/hooks" "the planted hooks are gone"
assert_file_absent "$CACHE/objects/info/alternates" "the planted alternates are gone"
assert_eq $((packs + 1)) "$(ls "$CACHE"/objects/pack/*.pack | wc -l)" "the cache survived: one new pack"

step "a damaged pack"
for p in "$CACHE"/objects/pack/*.pack; do
	chmod u+w "$p" && dd if=/dev/urandom of="$p" bs=1 seek=200 count=4096 conv=notrunc status=none
done
set_index "$repo" v4
git_q "$repo" commit -q -am v4 && chown -R nobody:nogroup "$repo" || fatal "commit v4"
run co deploy --from "git+file://$repo#main"
if [[ $RC == 0 ]]; then
	same_as main "a deploy over a damaged cache"
else
	assert_contains "$OUT$ERR" "discarded" "a damaged cache is discarded"
	assert_ok co deploy --from "git+file://$repo#main" || fatal "the deploy after a damaged cache failed"
	same_as main "the deploy after a damaged cache"
fi
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v4";' "after the damaged cache"
