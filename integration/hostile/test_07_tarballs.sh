#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 7: malicious tarballs (written byte by byte by
# integration/tools/mktar.c), deployed through sudo. Members "../x",
# "./../x", "/abs/x"; a symlink "lnk -> /etc" followed by "lnk/passwd",
# and a harmless symlink followed by a member through it; hard links to
# /etc/shadow, to "../../etc/shadow" and to a member that is not there; a
# character device, a block device, a fifo; setuid-root and setgid files;
# file capabilities in a pax header (SCHILY.xattr.security.capability and
# LIBARCHIVE.xattr.security.capability); symlinks pointing outside the
# release, directly and through a ".." after a directory; duplicate
# members; an over-long name; a name with a newline and ANSI escapes (shown
# escaped: no raw ESC or newline on stderr); the "../x" tarball gzip-,
# xz- and zstd-compressed; a file that is no tar at all. Each deploy fails
# (exit 1, exactly one "cutover: " line naming the member), leaves no
# release, staging or state, creates nothing outside (canaries stay empty,
# /etc/passwd and /etc/shadow unchanged), and current still serves the
# known-good release. Finally a tarball with odd but harmless modes
# (0777 directories, 0666 files) deploys, frozen to 0550/0440.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
before=$(app_state)
tars=$S/tars
mkdir -m 0755 "$tars"
canary=$S/canary
mkdir -m 0777 "$canary"
chown nobody:nogroup "$canary"
etc_sums=$(sha256sum /etc/passwd /etc/shadow)
T=$'\t'
cases=0

# A valid app to wrap around each bad member, so the bad member is the
# only reason to refuse.
good_members="dir${T}public${T}0755
file${T}public/index.php${T}0644${T}<?php echo \"evil\";\\n"

# bad_tar NAME NEEDLE SPEC [FILTER...]: builds tars/NAME from the good
# members and SPEC (mktar lines), deploys it, and checks the refusal.
bad_tar()
{
	local name=$1 needle=$2 spec=$3

	shift 3
	mktar_build "$tars/$name" "$good_members"$'\n'"$spec" "$@"
	step "tarball: $name"
	run ci_cutover deploy "$APP" --from "$tars/$name"
	assert_refused 1 "$needle" "$name"
	assert_app_unchanged "$before" "$name"
	assert_dir_empty "$canary" "$name: the canary directory"
	for p in "$S/x" "$ROOT/x" "$ROOT/releases/x" "$ROOT/.cutover/x" "$ROOT/.cutover/staging/x" /abs /x; do
		assert_file_absent "$p" "$name: nothing at $p"
	done
	assert_eq "$etc_sums" "$(sha256sum /etc/passwd /etc/shadow)" "$name: /etc/passwd and /etc/shadow"
	cases=$((cases + 1))
}

bad_tar dotdot.tar "'..' path component" "file${T}../x${T}0644${T}x"
bad_tar dot-dotdot.tar "'..' path component" "file${T}./../x${T}0644${T}x"
bad_tar deep-dotdot.tar "'..' path component" "file${T}public/../../x${T}0644${T}x"
bad_tar absolute.tar "absolute path" "file${T}/abs/x${T}0644${T}x"
bad_tar symlink-etc.tar "lnk" "symlink${T}lnk${T}/etc
file${T}lnk/passwd${T}0644${T}root::0:0::/root:/bin/sh\\n"
bad_tar symlink-canary.tar "lnk" "symlink${T}lnk${T}$canary
file${T}lnk/pwned${T}0644${T}x"
bad_tar through-symlink.tar "passes through a symlink" "symlink${T}lnk${T}public
file${T}lnk/passwd${T}0644${T}x"
bad_tar hardlink-shadow.tar "/etc/shadow" "hardlink${T}public/shadow${T}/etc/shadow"
bad_tar hardlink-dotdot.tar "etc/shadow" "hardlink${T}public/shadow${T}../../../../../../../../etc/shadow"
bad_tar hardlink-missing.tar "not an earlier member" "hardlink${T}public/shadow${T}etc/shadow"
bad_tar hardlink-through-symlink.tar "symlink" "symlink${T}up${T}public
hardlink${T}public/x${T}up/index.php"
bad_tar chardev.tar "character device" "chr${T}public/null${T}1${T}3"
bad_tar blockdev.tar "block device" "blk${T}public/sda${T}8${T}0"
bad_tar fifo.tar "fifo" "fifo${T}public/fifo"
bad_tar setuid.tar "setuid" "file${T}public/su${T}04755${T}#!/bin/sh\\nid\\n"
bad_tar setgid.tar "setgid" "file${T}public/sg${T}02755${T}#!/bin/sh\\nid\\n"
# vfs_cap_data revision 2, effective, permitted = CAP_SETUID | CAP_SYS_ADMIN.
cap='\x01\x00\x00\x02\x80\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
bad_tar xattr-cap.tar "security.capability" "pax${T}SCHILY.xattr.security.capability${T}$cap
file${T}public/cap${T}0755${T}#!/bin/sh\\n"
bad_tar xattr-cap-libarchive.tar "security.capability" "pax${T}LIBARCHIVE.xattr.security.capability${T}AQAAAoAAIAAAAAAAAAAAAAAAAAA=
file${T}public/cap${T}0755${T}#!/bin/sh\\n"
bad_tar symlink-outside.tar "outside the release" "symlink${T}public/up${T}../../x"
bad_tar symlink-climb.tar "outside the release" "symlink${T}public/c${T}../../../../../../../..$canary"
bad_tar symlink-dotdot-after-name.tar "'..' after a directory name" "dir${T}a${T}0755
dir${T}a/b${T}0755
symlink${T}a/b/c${T}../..
symlink${T}x${T}a/b/c/.."
bad_tar duplicate.tar "duplicate" "file${T}public/index.php${T}0644${T}again"
bad_tar file-then-dir.tar "" "file${T}public/d${T}0644${T}x
file${T}public/d/x${T}0644${T}x"
bad_tar long-component.tar "longer than 255" "file${T}public/$(printf 'n%.0s' {1..300})${T}0644${T}x"
bad_tar long-path.tar "longer than 4095" "file${T}public/$(printf 'dddddddd/%.0s' {1..500})x${T}0644${T}x"
bad_tar escapes.tar '\n' "file${T}../\\e[2J\\e[31mred\\nline${T}0644${T}x"
assert_not_contains "$ERR" $'\e' "the escape character is shown escaped"
bad_tar escapes-device.tar 'character device' "chr${T}public/\\e]0;title\\a\\nx${T}1${T}3"

bad_tar dotdot.tar.gz "'..' path component" "file${T}../x${T}0644${T}x" gzip -c
bad_tar dotdot.tar.xz "'..' path component" "file${T}../x${T}0644${T}x" xz -c
bad_tar dotdot.tar.zst "'..' path component" "file${T}../x${T}0644${T}x" zstd -q -c
bad_tar dotdot.tgz "'..' path component" "file${T}../x${T}0644${T}x" gzip -c

step "a file named .tar that is no tar"
head -c 4096 /dev/urandom >"$tars/garbage.tar"
chmod 0644 "$tars/garbage.tar"
run ci_cutover deploy "$APP" --from "$tars/garbage.tar"
assert_refused 1 "" "garbage.tar"
assert_app_unchanged "$before" "garbage.tar"
cases=$((cases + 1))

step "a tarball with odd but harmless modes deploys, frozen as usual"
mktar_build "$tars/modes.tar" "$(printf '%s\n' "dir${T}public${T}0777" \
	"file${T}public/index.php${T}0666${T}<?php echo \"modes\";\\n" \
	"dir${T}public/w${T}01777" "file${T}public/w/f${T}0777${T}x")"
assert_ok ci_cutover deploy "$APP" --from "$tars/modes.tar"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "modes";' "the odd-modes release is live"
rel=$ROOT/releases/$(current_id)
badmodes=$(find "$rel" \( -type f ! -perm 0440 ! -perm 0550 \) -o \( -type d ! -perm 0550 \))
assert_eq "" "$badmodes" "frozen files 0440/0550, directories 0550"
assert_manifest_ok "$ROOT" "$(current_id)"
echo "cases: $cases"
