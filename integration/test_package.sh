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
# /usr/libexec/cutover), dry-runs a deploy, fails a build and reads its
# log, reads list, status and the history, and rolls back; an operators'
# group given the rule's read-only part reads the history and the log and
# nothing else; sudo refuses another app, -c and the verbs the rule leaves
# out. Then the bash completion: verbs, options, app names, release ids
# and labels. Before all that, without the root: every key config.c
# accepts is documented in cutover.conf(5) and shown in app.conf.example
# (integration/package/config_keys.sh).
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

step "every key of config.c in cutover.conf(5) and app.conf.example"
run bash "$IT_DIR/package/config_keys.sh" "$REPO_ROOT/src/common/config.c" "$REPO_ROOT/docs/cutover.conf.5" \
	"$REPO_ROOT/dist/app.conf.example"
printf '%s\n' "$OUT" | sed 's/^/   /'
assert_eq 0 "$RC" "config_keys.sh"
# The check can fail: a man page without one key, an example with an
# unknown one.
scratch_new K
sed '/^\.BI retries /d' "$REPO_ROOT/docs/cutover.conf.5" >"$K/no-retries.5"
printf '[notify]\n;colour = red\n' | cat "$REPO_ROOT/dist/app.conf.example" - >"$K/colour.conf"
run bash "$IT_DIR/package/config_keys.sh" "$REPO_ROOT/src/common/config.c" "$K/no-retries.5" \
	"$REPO_ROOT/dist/app.conf.example"
assert_eq 1 "$RC" "config_keys.sh with a key left out of the man page"
assert_contains "$OUT" "key [notify] retries of config.c is missing" "the key left out is named"
run bash "$IT_DIR/package/config_keys.sh" "$REPO_ROOT/src/common/config.c" "$REPO_ROOT/docs/cutover.conf.5" \
	"$K/colour.conf"
assert_eq 1 "$RC" "config_keys.sh with an unknown key in the example"
assert_contains "$OUT" "key [notify] colour is not one config.c accepts" "the unknown key is named"

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
	/lib/systemd/system/cutover-fpm@.service /lib/systemd/system/cutover-fpm-boot@.service \
	/lib/systemd/system/cutover-fpm-trim@.service /lib/systemd/system/cutover-fpm-trim@.timer \
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

step "the CI user, the deploy user, an operator, two apps, the shipped sudoers rule"
assert_ok in_root useradd --create-home --shell /bin/bash ci || fatal "useradd ci failed"
assert_ok in_root groupadd shop-ops || fatal "groupadd shop-ops failed"
assert_ok in_root useradd --create-home --shell /bin/bash --groups shop-ops op || fatal "useradd op failed"
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
		operators = shop-ops
		[shared]
		dirs = storage
		[build]
		run = if [ ! -f public/index.php ]; then echo "BUILD-LOG: no public/index.php" >&2; exit 1; fi; echo built >BUILT
		[fpm]
		reload = none
	CONF
	chmod 0644 "$R/etc/cutover/$app.conf"
done
assert_ok in_root install -m 0440 /usr/share/doc/cutover/examples/sudoers.example /etc/sudoers.d/cutover-shop
# The operators' group gets the read-only part, with the line the example
# leaves commented out (in a file of its own, read after the alias).
ops_rule=$(sed -n 's/^# \(%shop-ops ALL=.*\)$/\1/p' "$R/usr/share/doc/cutover/examples/sudoers.example")
assert_match "$ops_rule" '^%shop-ops ALL=\(root\) NOPASSWD: CUTOVER_SHOP_READ$' "the example's rule for an operators' group"
printf '%s\n' "$ops_rule" >"$R/etc/sudoers.d/cutover-shop-ops"
chmod 0440 "$R/etc/sudoers.d/cutover-shop-ops"
assert_ok in_root visudo -c
assert_contains "$OUT" "/etc/sudoers.d/cutover-shop: parsed OK" "visudo -c"
assert_contains "$OUT" "/etc/sudoers.d/cutover-shop-ops: parsed OK" "visudo -c (operators)"
SRC=$R/home/ci/src
app_source "$SRC" v1
chown -R ci:ci "$SRC" 2>/dev/null || in_root chown -R ci:ci /home/ci/src

step "root's own check of the app"
assert_ok in_root cutover check shop

step "the example config with [notify], the failure hooks and operators on"
# Its commented-out keys of issue 13 uncommented: cutover reads every line
# of it (what check then says of php-fpm on this root does not matter).
sed -E 's/^;(\[notify\]|url = https|format = |timeout = 5 |retries = 2 |on_failure = |after_rollback = |operators = )/\1/' \
	"$R/usr/share/doc/cutover/examples/app.conf.example" >"$R/etc/cutover/example.conf"
chmod 0644 "$R/etc/cutover/example.conf"
assert_eq 8 "$(grep -cE '^(\[notify\]|url = https|format|timeout = 5 |retries = 2 |on_failure|after_rollback|operators)' \
	"$R/etc/cutover/example.conf")" "the keys uncommented"
run in_root cutover check example
printf '%s\n' "$OUT" "$ERR" | grep . | sed 's/^/   /'
assert_eq "" "$(grep -E 'example\.conf:[0-9]+:' <<<"$ERR")" "no line of the example refused"
assert_contains "$ERR$OUT" "php-fpm" "check went past the file to php-fpm"
rm -f "$R/etc/cutover/example.conf"

# ci_cutover ARG...: sudo -n cutover ARG... as the CI user.
ci_cutover()
{
	run as_ci sudo -n cutover "$@"
}

# op_cutover ARG...: sudo -n cutover ARG... as the operator (group shop-ops).
op_cutover()
{
	run chroot --userspec=op:op --groups=shop-ops "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/op USER=op \
		LOGNAME=op LC_ALL=C.UTF-8 sh -c 'cd /home/op && exec "$@"' sh sudo -n cutover "$@"
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

step "dry run: sudo cutover deploy shop --dry-run --from SRC"
set_index "$SRC" v3
before=$(tree_snapshot "$R/srv/shop")
ci_cutover deploy shop --dry-run --from /home/ci/src
assert_eq 0 "$RC" "deploy --dry-run through sudo" || printf '%s\n' "$ERR"
assert_contains "$ERR" "dry run of shop" "the dry run says what it was"
assert_eq "$V2" "$(current_id "$R/srv/shop")" "current after the dry run"
assert_eq "$before" "$(tree_snapshot "$R/srv/shop")" "shop's root after the dry run"
assert_file_content "$R/srv/shop/current/public/index.php" '<?php echo "v2";' "served after the dry run"

step "a failed build: sudo cutover deploy shop --from SRC (no public/index.php)"
rm -f "$SRC/public/index.php"
ci_cutover deploy shop --from /home/ci/src --label broken
assert_eq 1 "$RC" "a failed build's exit status through sudo"
assert_eq "$V2" "$(current_id "$R/srv/shop")" "current after the failed build"
set_index "$SRC" v2
ci_cutover --json list shop
F=$(jq -r '.releases[] | select(.state == "failed") | .id' <<<"$OUT" 2>&1)
assert_match "$F" '^[0-9]{8}T[0-9]{6}Z-broken$' "list --json: the failed build"

step "log and history: sudo cutover log shop F, sudo cutover history shop"
ci_cutover log shop "$F"
assert_eq 0 "$RC" "log through sudo" || printf '%s\n' "$ERR"
assert_contains "$OUT" "BUILD-LOG: no public/index.php" "the failed build's log holds its step's output"
ci_cutover history shop --json
assert_eq 0 "$RC" "history --json through sudo"
assert_eq "failed $F ci|deploy $V2 ci|deploy $V1 ci" \
	"$(jq -r '.events[] | "\(.event) \(.release) \(.who)"' <<<"$OUT" 2>&1 | paste -sd'|' -)" \
	"history --json: every attempt, newest first, by ci (no line for the dry run)"
ci_cutover -q history shop -n 1
assert_eq 0 "$RC" "history -n 1 through sudo"
assert_eq 1 "$(grep -c . <<<"$OUT")" "history -n 1: one line"
assert_contains "$OUT" "$F" "history -n 1: the failed build"
assert_eq "640 root:shop-ops" "$(in_root stat -c '%a %U:%G' /srv/shop/.cutover/history.jsonl 2>&1)" \
	"the history with [app] operators = shop-ops"

step "the operators' group: history and log, nothing else"
op_cutover history shop
assert_eq 0 "$RC" "history through sudo as an operator" || printf '%s\n' "$ERR"
assert_contains "$OUT" "$F" "the operator's history"
op_cutover --json log shop "$F"
assert_eq 0 "$RC" "log through sudo as an operator" || printf '%s\n' "$ERR"
assert_contains "$OUT" "BUILD-LOG: no public/index.php" "the operator reads the log"
for args in "status shop" "list shop" "rollback shop" "deploy shop --from /home/op --dry-run" "history other"; do
	# shellcheck disable=SC2086 # ARGS is a list of words
	op_cutover $args
	assert_eq 1 "$RC" "sudo's exit status for the operator: cutover $args"
	assert_contains "$ERR" "a password is required" "sudo refuses the operator: cutover $args"
done

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
	"status shop -c /etc/cutover/other.conf" "--json status other" "status shopx" "prune other" \
	"prune shop --keep=-1" "switch other $V2" "switch shop -c x" "stage other --from /home/ci/src" \
	"stage shop --from /home/ci/src --dry-run" "migrate other $V2" "deploy shop --from=-c" "deploy shop --from /home/ci/src -c x" \
	"check shop" "rollback other" "log other $F" "history shop -c x" "history other" "log shop $F -c x" \
	"log shop -c x" "log shop $F $V1" "history shop -n x" "deploy other --from /home/ci/src --dry-run"; do
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
assert_eq "help history" "$(complete_words root cutover h)" "completing help and history"
assert_eq "list log" "$(complete_words root cutover l)" "completing list and log"
assert_eq "history" "$(complete_words root cutover help hi)" "cutover help VERB"
assert_eq "--dry-run" "$(complete_words root cutover deploy shop --d)" "completing --dry-run"
assert_eq "-n" "$(complete_words root cutover history shop -n)" "completing history's -n"
assert_eq "--help" "$(complete_words root cutover log --h)" "completing VERB --help"
assert_eq "$F" "$(complete_words ci cutover log shop '')" "log: the failed build's id, no label (ci)"
assert_eq "$(sorted "$V1" "$V2")" "$(complete_words root cutover verify shop '')" "verify: the built releases' ids"
assert_eq "$(sorted -c -q --quiet --json --help --version)" "$(complete_words root cutover -)" "completing global options"
assert_eq "other shop" "$(complete_words root cutover status '')" "completing app names"
assert_eq "--from" "$(complete_words root cutover deploy shop --fr)" "completing deploy's options"
assert_eq "$(sorted "$V1" "$V2" two)" "$(complete_words root cutover rollback shop '')" "release ids and labels (root)"
assert_eq "$(sorted "$V1" "$V2" two)" "$(complete_words ci cutover -q rollback shop '')" "release ids and labels (ci, through sudo -n)"
assert_eq "" "$(complete_words ci cutover rollback other '')" "no releases where sudo says no"
