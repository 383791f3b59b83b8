#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 21 (issue 10, item 6): git+ssh through sudo must not
# use the deploy user's ssh keys. ssh finds ~/.ssh from the password entry,
# not from HOME: the fetch, run as the deploy user, used to authenticate
# with the deploy user's key and trust its known_hosts, so the CI user
# could fetch any repository that key can read (the confused deputy that
# the refusal of local repositories closes). A real sshd on a loopback
# port, which accepts the deploy user's own key and a separate key made
# for the app:
#   - through sudo, nothing configured: the fetch fails (no identity, no
#     known_hosts of the deploy user), the app is unchanged;
#   - through sudo, with [build] ssh_key and ssh_known_hosts (root-owned,
#     trusted path): the fetch uses that key and succeeds;
#   - ssh_key on a path the deploy user can change: refused;
#   - ssh_key with a space (shell or ssh syntax): a configuration error;
#   - the key is root's alone (root:root 0600): a build step of the same
#     deploy that tries to read it fails (before, the key had to be
#     readable by the deploy user, so every build step could copy it);
#     a key its group may read is refused.
. "$(dirname "$0")/../lib.sh"

command -v /usr/sbin/sshd >/dev/null || fatal "sshd is missing (.ci/deps.sh installs openssh-server)"

step "a deploy user with a home, its own ssh key and known_hosts"
# Its home must be outside /tmp: the sandbox has a private /tmp, and the
# hole is the key in the home the password entry names.
DEP=cutit$(random_hex 8)
DHOME=/srv/cutover-it-$(random_hex 10)
[[ -d /srv && ! -e $DHOME ]] || fatal "cannot use $DHOME"
useradd --system --home-dir "$DHOME" --no-create-home --shell /bin/sh "$DEP" || fatal "cannot create the user $DEP"
undo_push "userdel $DEP >/dev/null 2>&1 || echo 'cannot delete the user $DEP' >&2"
undo_push "rm -rf --one-file-system -- $(printf '%q' "$DHOME")"
# Not locked (sshd refuses locked accounts), but no password either.
usermod -p '*' "$DEP"
DGROUP=$(id -gn "$DEP")
mkdir -p "$DHOME/.ssh" "$DHOME/srv"
ssh-keygen -q -t ed25519 -N '' -C deploy-user-key -f "$DHOME/.ssh/id_ed25519" || fatal "ssh-keygen failed"

step "a repository and an sshd on 127.0.0.1"
REPO=$DHOME/srv/app.git
work=$DHOME/srv/work
app_source "$work" viassh
git -C "$work" init -q -b main && git -C "$work" add -A &&
	git -C "$work" -c user.name=it -c user.email=it@example.invalid commit -q -m v1 ||
	fatal "cannot make the repository"
git clone -q --bare "$work" "$REPO" || fatal "cannot make the bare repository"
rm -rf "$work"
SSHD=$DHOME/sshd
mkdir -p "$SSHD"
ssh-keygen -q -t ed25519 -N '' -f "$SSHD/host_key" || fatal "ssh-keygen failed"
KEYDIR=/etc/cutover/keys-$(random_hex 8)
etc_dir_ensure
mkdir -m 0755 "$KEYDIR"
undo_push "rm -rf -- $(printf '%q' "$KEYDIR")"
ssh-keygen -q -t ed25519 -N '' -C app-key -f "$KEYDIR/app" || fatal "ssh-keygen failed"
chown root:root "$KEYDIR/app"
chmod 0600 "$KEYDIR/app"
cat "$DHOME/.ssh/id_ed25519.pub" "$KEYDIR/app.pub" >"$SSHD/authorized_keys"
PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
cat >"$SSHD/config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $SSHD/host_key
PidFile none
AuthorizedKeysFile $SSHD/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowUsers $DEP
CFG
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$SSHD/host_key.pub")" >"$DHOME/.ssh/known_hosts"
cp "$DHOME/.ssh/known_hosts" "$KEYDIR/known_hosts"
chmod 0644 "$KEYDIR/known_hosts"
chown -R "$DEP:$DGROUP" "$DHOME"
chmod 0700 "$DHOME/.ssh"
chown -R root:root "$SSHD"
if [[ ! -d /run/sshd ]]; then
	mkdir -m 0755 /run/sshd
	undo_push "rmdir /run/sshd 2>/dev/null"
fi
bg SSHD_PID /usr/sbin/sshd -D -e -f "$SSHD/config"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || fatal "sshd does not listen on $PORT" "$(cat "$IT_TMP"/bg.*.err 2>/dev/null)"
# The deploy user's own ssh reaches the repository: the key works.
su -s /bin/sh "$DEP" -c "git ls-remote ssh://$DEP@127.0.0.1:$PORT$REPO" </dev/null >/dev/null 2>&1 ||
	fatal "the deploy user's own key does not reach the repository"
URL=git+ssh://$DEP@127.0.0.1:$PORT$REPO#main

step "through sudo, nothing configured: not with the deploy user's key"
APP_USER=$DEP APP_GROUP=$DGROUP hostile_app_init
BEFORE=$(app_state)
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 1 "$RC" "the fetch through sudo fails"
assert_app_unchanged "$BEFORE" "the fetch through sudo"
assert_no_cutover_procs "the fetch through sudo"

step "through sudo, [build] ssh_key and ssh_known_hosts: that key"
APP_USER=$DEP APP_GROUP=$DGROUP etc_conf_write "$APP" "$ROOT" 'run = true' \
	"ssh_key = $KEYDIR/app" "ssh_known_hosts = $KEYDIR/known_hosts"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 0 "$RC" "the fetch with the configured key succeeds" || printf '%s\n' "$(it_last_output)"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "viassh";' "what the configured key fetched"
# The deploy user's key is not offered: with it removed from the server,
# the configured key alone still works (proved above), and with the
# configured key removed, the fetch fails although the deploy user's is
# still accepted.
BEFORE=$(app_state)
SERVING='<?php echo "viassh";'
cp "$DHOME/.ssh/id_ed25519.pub" "$SSHD/authorized_keys"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 1 "$RC" "only the deploy user's key authorized: the fetch fails"
assert_app_unchanged "$BEFORE" "only the deploy user's key authorized"

step "ssh_key on a path the deploy user can change"
APP_USER=$DEP APP_GROUP=$DGROUP etc_conf_write "$APP" "$ROOT" 'run = true' "ssh_key = $DHOME/.ssh/id_ed25519"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 1 "$RC" "an untrusted ssh_key is refused"
assert_contains "$ERR" "ssh_key" "the refusal names ssh_key"
assert_app_unchanged "$BEFORE" "an untrusted ssh_key"

step "ssh_key with characters the shell or ssh would expand"
for bad in "$KEYDIR/app -oProxyCommand=x" "$KEYDIR/%h" "~/key" "key"; do
	APP_USER=$DEP APP_GROUP=$DGROUP etc_conf_write "$APP" "$ROOT" 'run = true' "ssh_key = $bad"
	run ci_cutover deploy "$APP" --from "$URL"
	assert_refused 2 "ssh_key" "ssh_key = $bad"
done
assert_app_unchanged "$BEFORE" "bad ssh_key values"

step "a build step tries to read the key"
APP_USER=$DEP APP_GROUP=$DGROUP etc_conf_write "$APP" "$ROOT" \
	"run = cat $KEYDIR/app; cat /proc/1/fd/3; for f in /proc/*/fd/3; do cat \$f; done; exit 0" \
	"ssh_key = $KEYDIR/app" "ssh_known_hosts = $KEYDIR/known_hosts"
cat "$KEYDIR/app.pub" >"$SSHD/authorized_keys"
BEFORE=$(app_state)
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 0 "$RC" "the fetch with the root-only key succeeds" || printf '%s\n' "$(it_last_output)"
assert_not_contains "$OUT$ERR" "PRIVATE KEY" "the build step could not read the key"
assert_contains "$OUT$ERR" "Permission denied" "the step's cat was refused"
log=$(cat "$ROOT"/.cutover/logs/*.log 2>/dev/null)
assert_not_contains "$log" "PRIVATE KEY" "nor does the build log hold it"
BEFORE=$(app_state)
SERVING='<?php echo "viassh";'

step "a key the deploy user's group can read"
chown root:"$DGROUP" "$KEYDIR/app"
chmod 0640 "$KEYDIR/app"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 1 "$RC" "a group-readable ssh_key is refused"
assert_contains "$ERR" "must be readable by root only" "the refusal says why"
assert_app_unchanged "$BEFORE" "a group-readable ssh_key"
chown root:root "$KEYDIR/app"
chmod 0600 "$KEYDIR/app"
