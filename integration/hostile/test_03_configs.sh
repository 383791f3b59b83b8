#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 3: choosing or planting a config. Through sudo:
# "-c /tmp/evil.conf" before the verb (under a rule that lets anything
# through) and after it (the example rule's "deploy APP *" lets that
# through), both refused by cutover; and the example rule itself does not
# let "-c" reach cutover at all. /etc/cutover/APP.conf owned by the CI
# user, world-writable, a symlink to a good root-owned config, a fifo, and
# a config whose root lies below a directory the CI user owns: each a
# configuration error (exit 2, one "cutover: " line) that creates nothing.
# A config below a group-writable directory: /etc/cutover itself made
# group-writable for a moment when this test created it, and through -c as
# root in any case. The evil configs' build steps would leave a marker:
# none may appear, and none of their roots may be created.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
sudo_rule_install --any
before=$(app_state)
marker=$S/marker
mkdir -m 0777 "$marker"

# evil_config FILE NAME: a config that would deploy to $S/evil-NAME and
# leave a marker from its build step.
evil_config()
{
	app_config "$1" "$S/evil-$2" "run = touch $marker/$2"
}

# refused_config WHAT NEEDLE NAME CMD...: CMD is refused as a
# configuration error; nothing of the evil config happened.
refused_config()
{
	local what=$1 needle=$2 name=$3

	shift 3
	step "$what"
	run "$@"
	assert_refused 2 "$needle" "$what"
	assert_file_absent "$S/evil-$name" "$what: the evil config's root"
	assert_dir_empty "$marker" "$what: no build step of the evil config ran"
	assert_app_unchanged "$before" "$what"
	cases=$((cases + 1))
}
cases=0

evil=$S/evil.conf
evil_config "$evil" c-before
refused_config "-c /tmp/evil.conf before the verb" "-c is accepted only" c-before \
	ci_cutover -c "$evil" deploy "$APP" --from "$SRC"
refused_config "-q -c /tmp/evil.conf status" "-c is accepted only" c-before \
	ci_cutover -q -c "$evil" status "$APP"

evil_config "$evil" c-after
refused_config "-c /tmp/evil.conf after the verb (the example rule allows it)" "-c" c-after \
	ci_cutover deploy "$APP" --from "$SRC" -c "$evil"

step "-c before the verb under the example rule alone: sudo refuses"
rm -f -- "$SUDO_RULE"   # the --any rule; the example rule stays
run ci_cutover -c "$evil" deploy "$APP" --from "$SRC"
assert_eq 1 "$RC" "exit code of sudo refusing -c"
assert_contains "$ERR" "sudo:" "sudo itself refuses"
assert_file_absent "$S/evil-c-after"
assert_app_unchanged "$before" "-c under the example rule"
sudo_rule_install --any

# etc_evil NAME: /etc/cutover/APP-NAME.conf, an evil config (removed at
# exit); sets EVIL_APP.
etc_evil()
{
	EVIL_APP=$APP-$1
	etc_conf_write "$EVIL_APP" "$S/evil-$1" "run = touch $marker/$1"
}

etc_evil ci-owned
chown "$CI_USER" "/etc/cutover/$EVIL_APP.conf"
refused_config "a config owned by the CI user" "root" ci-owned \
	ci_cutover deploy "$EVIL_APP" --from "$SRC"

etc_evil world-writable
chmod 0666 "/etc/cutover/$EVIL_APP.conf"
refused_config "a world-writable config" "writable" world-writable \
	ci_cutover deploy "$EVIL_APP" --from "$SRC"

etc_evil symlink
real=$S/real-symlink.conf
mv "/etc/cutover/$EVIL_APP.conf" "$real"
ln -s "$real" "/etc/cutover/$EVIL_APP.conf"
refused_config "a config that is a symlink to a good config" "symlink" symlink \
	ci_cutover deploy "$EVIL_APP" --from "$SRC"

etc_evil fifo
rm -f "/etc/cutover/$EVIL_APP.conf"
mkfifo -m 0644 "/etc/cutover/$EVIL_APP.conf"
refused_config "a config that is a fifo (no hang)" "" fifo \
	timeout 20 setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
	sudo -n -u root "$CUTOVER_BIN" deploy "$EVIL_APP" --from "$SRC"
assert_lt "$ELAPSED_MS" 5000 "a fifo config is refused at once (took $ELAPSED_MS ms)"

etc_evil root-ci-owned
mkdir -m 0755 "$S/ci-owned"
chown "$CI_USER" "$S/ci-owned"
app_config "/etc/cutover/$EVIL_APP.conf" "$S/ci-owned/app" "run = touch $marker/root-ci-owned"
refused_config "a config whose root is below a directory of the CI user" "$S/ci-owned" root-ci-owned \
	ci_cutover deploy "$EVIL_APP" --from "$SRC"
assert_file_absent "$S/ci-owned/app" "the app root below the CI user's directory"

etc_evil root-symlink
mkdir -m 0755 "$S/elsewhere"
ln -s "$S/elsewhere" "$S/root-link"
app_config "/etc/cutover/$EVIL_APP.conf" "$S/root-link/app" "run = touch $marker/root-symlink"
refused_config "a config whose root passes through a symlink" "" root-symlink \
	ci_cutover deploy "$EVIL_APP" --from "$SRC"
assert_dir_empty "$S/elsewhere" "nothing created through the root's symlink"

mkdir -m 0775 "$S/group-writable"
evil_config "$S/group-writable/app.conf" group-writable
refused_config "-c of a config below a group-writable directory (root, no sudo)" "$S/group-writable" \
	group-writable "$CUTOVER_BIN" -c "$S/group-writable/app.conf" deploy "$APP" --from "$SRC"

etc_evil etc-group-writable
if [[ " ${HOSTILE_UNDO[*]} " == *"rmdir /etc/cutover"* ]]; then
	# This test made /etc/cutover, so it may change its mode for a moment.
	chmod 0775 /etc/cutover
	undo_push "chmod 0755 /etc/cutover"
	refused_config "a config below a group-writable /etc/cutover" "/etc/cutover" etc-group-writable \
		ci_cutover deploy "$EVIL_APP" --from "$SRC"
	chmod 0755 /etc/cutover
else
	echo "   note: /etc/cutover existed before this test; its mode is left alone (case covered through -c above)"
fi

step "the app itself still deploys"
set_index "$SRC" v2
assert_ok ci_cutover deploy "$APP" --from "$SRC"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "after the refused configs"
assert_dir_empty "$marker" "no evil build step ever ran"
echo "cases: $cases"
