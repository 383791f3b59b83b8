#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A frozen release cannot be changed by the web server's user or the
# deploy user: as www-data (uid 33) and as nobody, every write, append,
# truncate, chmod, chown, touch, create, delete, rename and hard link on
# every file and directory of the release (and in releases/) fails. find(1)
# finds no write bit, no setuid/setgid bit, nothing not owned by
# root:www-data, even though the build step made a setuid file, a setgid
# directory and world-writable files; the manifest verifies.
. "$(dirname "$0")/lib.sh"

app_init 'run = sh make-modes.sh'
cat >"$SRC/make-modes.sh" <<'SH'
set -e
mkdir -p data/sub
echo d >data/sub/f
echo s >suid
echo g >sgid
echo w >public/writable.txt
chmod 4755 suid
chmod 2755 sgid
chmod 0666 data/sub/f public/writable.txt
chmod 0777 data/sub
chmod 2777 data
chmod 1777 public/css
chmod 0777 public/index.php
chmod 0600 public/css/app.css
SH

# attack.sh WHO LIST: tries to change each path listed in LIST; prints one
# "CHANGED" line per attempt that worked. Symlinks are not followed (the
# shared links lead to shared/, which is writable on purpose).
cat >"$S/attack.sh" <<'SH'
who=$1
try() {
	if "$@" 2>/dev/null; then
		echo "CHANGED by $who: $op $p"
	fi
}
while IFS= read -r p; do
	if [ -L "$p" ]; then
		op=delete; try unlink "$p"
		op=rename; try mv -T "$p" "$p.it-moved"
		op=chown; try chown -h "$who" "$p"
		# Only the owner may set explicit times; "now" needs only write
		# permission, which a symlink's 0777 always grants (harmless).
		op=touch; try touch -c -h -d 2000-01-01 "$p"
	elif [ -d "$p" ]; then
		op=create; try sh -c ': >"$1/it-new-file"' _ "$p"
		op=mkdir; try mkdir "$p/it-new-dir"
		op=symlink; try ln -s x "$p/it-new-link"
		op=chmod; try chmod 0777 "$p"
		op=chown; try chown "$who" "$p"
		op=touch; try touch -c "$p"
		op=touch-date; try touch -c -d 2000-01-01 "$p"
		op=rename; try mv -T "$p" "$p.it-moved"
		op=delete; try rm -r "$p"
	else
		op=append; try sh -c 'printf x >>"$1"' _ "$p"
		op=write; try sh -c 'printf x 1<>"$1"' _ "$p"
		op=truncate; try truncate -s 0 "$p"
		op=chmod; try chmod 0777 "$p"
		op=chown; try chown "$who" "$p"
		op=touch; try touch -c "$p"
		op=touch-date; try touch -c -d 2000-01-01 "$p"
		op=hardlink; try ln "$p" "$p.it-hard"
		op=rename; try mv -T "$p" "$p.it-moved"
		op=delete; try unlink "$p"
	fi
done <"$2"
echo "attack done"
SH
chmod 0644 "$S/attack.sh"

assert_ok co deploy --from "$SRC" || fatal "deploy failed"
ID=$(current_id)
REL=$ROOT/releases/$ID

step "the build step's modes were there to normalise"
for f in suid sgid data/sub/f public/writable.txt; do
	assert_file_exists "$REL/$f"
done

step "modes, owners and the manifest"
assert_eq "" "$(find "$REL" ! -type l -perm /0222)" "files or directories with a write bit"
assert_eq "" "$(find "$REL" -perm /6000)" "files or directories with setuid or setgid"
assert_eq "" "$(find "$REL" -perm /1000)" "directories with the sticky bit"
assert_eq "" "$(find "$REL" \( ! -user root -o ! -group www-data \) -printf '%p %u:%g\n')" "entries not owned by root:www-data"
assert_eq "" "$(find "$REL" -type d ! -perm 0550 -printf '%p %m\n')" "directories not 0550"
assert_eq "" "$(find "$REL" -type f ! -perm 0440 ! -perm 0550 -printf '%p %m\n')" "files neither 0440 nor 0550"
assert_eq "550 550 550 440 440" \
	"$(cd "$REL" && stat -c %a bin/tool suid public/index.php public/writable.txt public/css/app.css | paste -sd' ' -)" \
	"modes of bin/tool (0755), suid (4755), public/index.php (0777), public/writable.txt (0666), public/css/app.css (0600)"
assert_manifest_ok "$ROOT" "$ID"
assert_eq "$(cd "$REL" && find . -type f -printf '%P\n' | LC_ALL=C sort)" \
	"$(sed 's/^[0-9a-f]*  //' "$ROOT/.cutover/manifest/$ID.sha256" | LC_ALL=C sort)" "the manifest lists every regular file"

# Every entry of the release, deepest first, and releases/ itself.
find "$REL" -depth >"$S/paths"
echo "$ROOT/releases" >>"$S/paths"
chmod 0644 "$S/paths"
before=$(tree_snapshot "$ROOT")
times_before=$(find "$REL" -printf '%p %T@ %C@\n')

step "attacks as www-data"
assert_ok setpriv --reuid=33 --regid=33 --clear-groups sh "$S/attack.sh" www-data "$S/paths"
assert_eq "attack done" "$OUT" "nothing changed by www-data"
assert_eq "www-data" "$(setpriv --reuid=33 --regid=33 --clear-groups cat "$REL/public/index.php" >/dev/null && echo www-data)" \
	"www-data can still read the release (else the attack proves nothing)"

step "attacks as nobody"
assert_ok runuser -u nobody -- sh "$S/attack.sh" nobody "$S/paths"
assert_eq "attack done" "$OUT" "nothing changed by nobody"

step "the release is unchanged"
assert_tree_same "$before" "$ROOT" "the app root after the attacks"
assert_eq "$times_before" "$(find "$REL" -printf '%p %T@ %C@\n')" "modification and change times in the release"
assert_manifest_ok "$ROOT" "$ID"
