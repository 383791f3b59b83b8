#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 20 (issue 10, item 3): hard links in shared/, which
# the web server's user can write. With [shared] dirs = storage, every
# deploy makes the files of shared/storage/logs/ group-writable for
# web_group; it used to chgrp and chmod whatever it found there, so a web
# user who hard-linked a file it cannot write into logs/ got it made
# root:www-data 0660. Linking files one does not own is what
# fs.protected_hardlinks = 1 forbids; rather than turn that host setting
# off, the links are made here as root, which it does not stop: the state
# is the same as a web user would make with it off. Cases (deployed
# through sudo by the CI user):
#   - logs/evil.log, a hard link to a root:root 0600 secret;
#   - logs/laravel.log (the file the helper creates), a hard link to it;
#   - logs/own.log, a hard link to a file of the deploy user (0600): a
#     file of the expected owner, but with two links;
#   - logs/root.log, a root-owned file with one link.
# None of them may change owner, group or mode; an ordinary log of the
# deploy user or of the web server's user (one link) is still made
# group-writable for web_group.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare
# The Laravel preset (which sets up shared/storage), without its artisan
# commands.
sed -i 's/^\[app\]$/[app]\npreset = laravel/' "$CONF"
printf '[migrate]\nrun = true\npretend = echo Nothing to migrate\n[hooks]\nafter_switch = true\n' >>"$CONF"
hostile_deploy_good
LOGS=$ROOT/shared/storage/logs
[[ -d $LOGS ]] || fatal "no shared/storage/logs after the first deploy"
secret_new SECRET
printf '%s\n' "$SECRET" >"$S/secret"
chown root:root "$S/secret"
chmod 0600 "$S/secret"
printf 'mine\n' >"$S/deploy-private"
chown nobody:nogroup "$S/deploy-private"
chmod 0600 "$S/deploy-private"
rm -f "$LOGS/laravel.log"
ln "$S/secret" "$LOGS/evil.log"
ln "$S/secret" "$LOGS/laravel.log"
ln "$S/deploy-private" "$LOGS/own.log"
printf 'root\n' >"$LOGS/root.log"
chown root:root "$LOGS/root.log"
chmod 0600 "$LOGS/root.log"
printf 'log\n' >"$LOGS/app.log"
chown nobody:nogroup "$LOGS/app.log"
chmod 0644 "$LOGS/app.log"
printf 'log\n' >"$LOGS/web.log"
chown www-data:www-data "$LOGS/web.log"
chmod 0644 "$LOGS/web.log"

step "a deploy with hard links in shared/storage/logs"
set_index "$SRC" v2
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "the deploy succeeds" || printf '%s\n' "$(it_last_output)"
assert_eq "root:root 600 3" "$(stat -c '%U:%G %a %h' "$S/secret")" "the secret, hard-linked as evil.log and laravel.log"
assert_eq "nobody:nogroup 600 2" "$(stat -c '%U:%G %a %h' "$S/deploy-private")" "the deploy user's file, hard-linked as own.log"
assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$LOGS/root.log")" "a root-owned file with one link"
assert_eq "nobody:www-data 660" "$(stat -c '%U:%G %a' "$LOGS/app.log")" "an ordinary log of the deploy user"
assert_file_content "$S/secret" "$SECRET" "the secret's content"
assert_eq "" "$(grep -rlaF -- "$SECRET" "$ROOT/releases" "$ROOT/.cutover/logs" 2>/dev/null)" "the secret in no release or build log"
assert_eq "www-data:www-data 660" "$(stat -c '%U:%G %a' "$LOGS/web.log")" "a log of the web server's user"
