#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Debian package, installed and used as an operator would: `make deb`
# (integration/package/prepare.sh: built once, reused while no file of
# the tree is newer), lintian on it (no errors), its file list, then
# installed with dpkg into a throwaway Debian 12 root (the cached
# mmdebstrap root unpacked, in this test's own mount namespace) where a CI
# user with nothing but the shipped sudoers example deploys a directory
# app twice, in the option orders cutover(8) documents, through real sudo
# and the installed /usr/sbin/cutover (which finds its helper in
# /usr/libexec/cutover), reads list and status, and rolls back; sudo
# refuses another app, -c and the verbs the rule leaves out. Then the
# bash completion: verbs, app names, release ids and labels.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

step "package and root (integration/package/prepare.sh)"
t0=$(now_ms)
run bash "$IT_DIR/package/prepare.sh"
[[ $RC == 0 ]] || fatal "prepare.sh failed" "$(it_last_output)"
printf '%s\n' "$OUT" | sed 's/^/   /'
echo "   ($(($(now_ms) - t0)) ms)"
DEB=$(sed -n 's/^deb //p' <<<"$OUT")
BASE=$(sed -n 's/^root //p' <<<"$OUT")
[[ -f $DEB && -f $BASE ]] || fatal "prepare.sh named no .deb or root" "$OUT"

step "lintian"
run lintian --info --pedantic "$DEB"
printf '%s\n' "$OUT" | sed 's/^/   /'
assert_eq "" "$(grep '^E: ' <<<"$OUT")" "lintian errors"
assert_eq 0 "$RC" "lintian's exit status"

step "file list"
files=$(dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/sbin/cutover /usr/libexec/cutover/cutover-helper /usr/libexec/cutover/opcache-reset.php \
	/usr/share/man/man8/cutover.8.gz /usr/share/man/man5/cutover.conf.5.gz \
	/lib/systemd/system/cutover-mount@.service /usr/share/bash-completion/completions/cutover \
	/usr/share/doc/cutover/README.md.gz /usr/share/doc/cutover/SECURITY.md.gz \
	/usr/share/doc/cutover/examples/app.conf.example /usr/share/doc/cutover/examples/sudoers.example \
	/usr/share/doc/cutover/copyright /etc/cutover/; do
	grep -qxF -- "$f" <<<"$files" || fail "the package lacks $f" "$files"
done
# No app config is active by default, and nothing is installed under
# /etc but the empty directory.
assert_eq "/etc/ /etc/cutover/" "$(grep '^/etc/' <<<"$files" | paste -sd' ' -)" "files under /etc"

step "a throwaway root: $BASE unpacked; /proc, /dev, /sys"
scratch_new S
R=$S/root
mkdir -m 0755 "$R" || fatal "cannot create $R"
t0=$(now_ms)
tar --numeric-owner -xpf "$BASE" -C "$R" || fatal "cannot unpack $BASE"
echo "   unpacked in $(($(now_ms) - t0)) ms"
# Everything mounted here goes with this test's mount namespace; at exit
# it is unmounted first, so that the scratch directory can be removed.
at_exit "umount -R -l $(printf '%q' "$R") 2>/dev/null"
# The root is a mount point of its own, as on a real machine: the build
# sandbox makes "/" and everything below it private, which only a mount
# point can be.
mount --bind "$R" "$R" || fatal "cannot bind $R onto itself"
mount -t proc proc "$R/proc" || fatal "cannot mount /proc"
mount --rbind /dev "$R/dev" || fatal "cannot bind /dev"
mount --rbind /sys "$R/sys" || fatal "cannot bind /sys"

# in_root CMD...: CMD in the root as root, with a plain environment.
in_root()
{
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"
}

# as_ci CMD...: CMD in the root as the CI user (its uid, gid, groups).
as_ci()
{
	(cd "$R/home/ci" && chroot --userspec=ci:ci "$R" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME=/home/ci USER=ci LOGNAME=ci LC_ALL=C.UTF-8 sh -c 'cd /home/ci && exec "$@"' sh "$@")
}

step "dpkg -i"
cp "$DEB" "$R/tmp/cutover.deb" || fatal "cannot copy the .deb"
assert_ok in_root dpkg -i /tmp/cutover.deb || fatal "dpkg -i failed"
assert_ok in_root dpkg -s cutover
assert_contains "$OUT" "Status: install ok installed" "dpkg -s cutover"
assert_eq "" "$(find "$R/etc/cutover" -mindepth 1)" "/etc/cutover after installing (no active config)"
assert_eq "755 root:root" "$(stat -c '%a %U:%G' "$R/etc/cutover")" "/etc/cutover's mode and owner"
[[ -e $R/usr/sbin/cutover-helper ]] && fail "a helper next to /usr/sbin/cutover: the compiled-in path would go untested"
assert_contains "$(grep -a -o '/usr/libexec/cutover' "$R/usr/sbin/cutover" | head -n 1)" /usr/libexec/cutover \
	"the helper directory compiled into /usr/sbin/cutover"
assert_contains "$(grep '^ExecStart=' "$R/lib/systemd/system/cutover-mount@.service")" "=/usr/sbin/cutover mount %i" \
	"the unit's ExecStart"
assert_file_exists "$R/usr/share/man/man5/cutover.conf.5.gz" "cutover.conf(5) installed"
assert_ok in_root zgrep -q '^\.TH CUTOVER 8 ' /usr/share/man/man8/cutover.8.gz

# sudo looks up the host's name.
printf '127.0.1.1 %s\n' "$(hostname)" >>"$R/etc/hosts"

step "the CI user, the deploy user, two apps, the shipped sudoers rule"
assert_ok in_root useradd --create-home --shell /bin/bash ci || fatal "useradd ci failed"
assert_ok in_root useradd --system --user-group --no-create-home --shell /usr/sbin/nologin deploy ||
	fatal "useradd deploy failed"
for app in shop other; do
	cat >"$R/etc/cutover/$app.conf" <<-CONF
		[app]
		root = /srv/$app
		user = deploy
		group = deploy
		web_group = www-data
		keep = 3
		[shared]
		dirs = storage
		[build]
		run = test -f public/index.php && echo built >BUILT
		[fpm]
		reload = none
	CONF
	chmod 0644 "$R/etc/cutover/$app.conf"
done
assert_ok in_root install -m 0440 /usr/share/doc/cutover/examples/sudoers.example /etc/sudoers.d/cutover-shop
assert_ok in_root visudo -c
assert_contains "$OUT" "/etc/sudoers.d/cutover-shop: parsed OK" "visudo -c"
SRC=$R/home/ci/src
app_source "$SRC" v1
chown -R ci:ci "$SRC" 2>/dev/null || in_root chown -R ci:ci /home/ci/src

step "root's own check of the app"
assert_ok in_root cutover check shop

# ci_cutover ARG...: sudo -n cutover ARG... as the CI user.
ci_cutover()
{
	run as_ci sudo -n cutover "$@"
}

# release_ok ID: a frozen release of shop: root-owned, no write bits.
release_ok()
{
	local rel=$R/srv/shop/releases/$1
	assert_eq "" "$(find "$rel" -perm /0222 ! -type l | head -n 3)" "entries of $1 with a write bit"
	assert_eq "" "$(find "$rel" ! -user root | head -n 3)" "entries of $1 not owned by root"
	assert_eq "built" "$(cat "$rel/BUILT" 2>&1)" "the build step's output in $1"
}

step "deploy v1: sudo cutover -q deploy shop --from SRC"
ci_cutover -q deploy shop --from /home/ci/src
assert_eq 0 "$RC" "deploy v1 through sudo" || fatal "deploy through sudo failed" "$(it_last_output)"
V1=$(current_id "$R/srv/shop")
assert_match "$V1" '^[0-9]{8}T[0-9]{6}Z' "current after deploying v1"
assert_file_content "$R/srv/shop/current/public/index.php" '<?php echo "v1";' "served after v1"
release_ok "$V1"

step "deploy v2: sudo cutover deploy shop --from SRC --label two -q"
set_index "$SRC" v2
ci_cutover deploy shop --from /home/ci/src --label two -q
assert_eq 0 "$RC" "deploy v2 through sudo (options after the app)" || fatal "deploy v2 failed" "$(it_last_output)"
V2=$(current_id "$R/srv/shop")
assert_ne "$V1" "$V2" "current after deploying v2"
assert_match "$V2" 'two$' "v2's id carries its label"
assert_file_content "$R/srv/shop/current/public/index.php" '<?php echo "v2";' "served after v2"
release_ok "$V2"

step "status and list: sudo cutover --json status shop, sudo cutover list shop"
ci_cutover --json status shop
assert_eq 0 "$RC" "status --json through sudo"
assert_eq "$V2 $V1" "$(jq -r '"\(.current) \(.previous)"' <<<"$OUT" 2>&1)" "status: current and previous"
ci_cutover list shop
assert_eq 0 "$RC" "list through sudo"
assert_contains "$OUT" "$V1" "list shows v1"
assert_contains "$OUT" "$V2" "list shows v2"
ci_cutover list --json shop
assert_eq "$(sorted "$V1" "$V2")" "$(jq -r '.releases[] | select(.state == "frozen") | .id' <<<"$OUT" 2>&1 | LC_ALL=C sort | paste -sd' ' -)" \
	"list --json: the frozen releases"
ci_cutover verify shop
assert_eq 0 "$RC" "verify through sudo"

step "rollback: sudo cutover rollback shop --json"
ci_cutover rollback shop --json
assert_eq 0 "$RC" "rollback through sudo"
assert_eq "$V1" "$(current_id "$R/srv/shop")" "current after the rollback"
assert_file_content "$R/srv/shop/current/public/index.php" '<?php echo "v1";' "served after the rollback"
assert_eq "$V2 $V1" "$(jq -r '"\(.from) \(.to)"' <<<"$OUT" 2>&1)" "rollback --json from and to"

step "what the rule refuses (sudo's refusal, nothing run)"
before=$(tree_snapshot "$R/srv")
for args in "deploy other --from /home/ci/src" "-c /etc/cutover/shop.conf status shop" \
	"status shop -c /etc/cutover/other.conf" "--json status other" "status shopx" "prune shop" \
	"switch shop $V2" "stage shop --from /home/ci/src" "deploy shop --from=-c" "deploy shop --from /home/ci/src -c x" \
	"check shop" "rollback other"; do
	# shellcheck disable=SC2086 # ARGS is a list of words
	ci_cutover $args
	assert_eq 1 "$RC" "sudo's exit status for: cutover $args"
	assert_contains "$ERR" "a password is required" "sudo refuses: cutover $args"
done
assert_eq "$before" "$(tree_snapshot "$R/srv")" "the app roots after the refusals"
assert_file_absent "$R/srv/other" "other's root (never deployed)"

step "bash completion"
# complete_words USER WORD...: the completions bash offers for the
# command line WORD... (the last word is the one being completed).
complete_words()
{
	local user=$1
	shift
	local script='. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/cutover
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_cutover cutover "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd" " -'
	if [[ $user == root ]]; then
		in_root bash -c "$script" bash "$@"
	else
		as_ci bash -c "$script" bash "$@"
	fi
}
assert_eq "deploy" "$(complete_words root cutover dep)" "completing a verb"
assert_eq "$(sorted -c -q --quiet --json --help --version)" "$(complete_words root cutover -)" "completing global options"
assert_eq "other shop" "$(complete_words root cutover status '')" "completing app names"
assert_eq "--from" "$(complete_words root cutover deploy shop --fr)" "completing deploy's options"
assert_eq "$(sorted "$V1" "$V2" two)" "$(complete_words root cutover rollback shop '')" "release ids and labels (root)"
assert_eq "$(sorted "$V1" "$V2" two)" "$(complete_words ci cutover -q rollback shop '')" "release ids and labels (ci, through sudo -n)"
assert_eq "" "$(complete_words ci cutover rollback other '')" "no releases where sudo says no"
