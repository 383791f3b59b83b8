#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 23 (issue 11): the deploy user must not be able to
# change how the next git fetch runs, or what it checks out, through the
# repository cache (ROOT/.cutover/git). Through sudo, from a git daemon on
# 127.0.0.1:
#   - a build step tries to write the cache's config, hooks, alternates and
#     objects by path, and to find it through /proc and the mount table;
#   - a process of the deploy user outside the sandbox watches for git
#     processes during the fetches and tries to reach the cache through
#     /proc/PID/cwd and /proc/PID/root;
# every attempt is denied, and the next deploys are exactly the commits
# fetched (compared with `git archive`), with the cache's config as cutover
# writes it.
# Then git+ssh from an sshd on 127.0.0.1 with [build] ssh_key (root:root
# 0600): the key's memfd must be git_user's (ssh, run as git_user, opens
# it through /proc/PID/fd/3 and refuses, or cannot open, another user's)
# and on git_user's fetch shell only: the watcher, trying fd 3 of every
# process it sees, never reads the key, and the deploy user's tar holds no
# memfd.
. "$(dirname "$0")/../lib.sh"

DEP=cutit$(random_hex 8)
useradd --system --no-create-home --shell /bin/sh "$DEP" || fatal "cannot create the user $DEP"
undo_push "userdel $DEP >/dev/null 2>&1 || echo 'cannot delete the user $DEP' >&2"
DGROUP=$(id -gn "$DEP")
GU=cutgit$(random_hex 6)
useradd --system --no-create-home --shell /usr/sbin/nologin "$GU" || fatal "cannot create the user $GU"
undo_push "userdel $GU >/dev/null 2>&1 || echo 'cannot delete the user $GU' >&2"

step "a repository served by git daemon on 127.0.0.1"
git_scratch_dir G
repo=$G/app.git
work=$G/work
APP_USER=$DEP APP_GROUP=$DGROUP hostile_app_prepare 'run = sh bin/plant.sh' "git_user = $GU"
CACHE=$ROOT/.cutover/git
cp -a "$SRC" "$work" || fatal "cannot copy the source"
cat >"$work/bin/plant.sh" <<SH
#!/bin/sh
# A hostile build step: every way into the repository cache.
try() { if sh -c "\$1" >/dev/null 2>&1; then echo "REACHED \$1"; else echo "denied \$1"; fi >>plant.log; }
try "ls $CACHE"
try "printf '[core]\\\\n\\\\tfsmonitor = touch /x\\\\n' >>$CACHE/repo.git/config"
try "mkdir -p $CACHE/repo.git/hooks && echo x >$CACHE/repo.git/hooks/reference-transaction"
try "echo /x >$CACHE/repo.git/objects/info/alternates"
try "mkdir -p $CACHE/repo.git/objects/aa && echo x >$CACHE/repo.git/objects/aa/bb"
for p in /proc/[0-9]*; do try "ls \$p/cwd/repo.git"; try "ls \$p/root$CACHE"; try "ls \$p/root/tmp/.cutover-git"; done
grep -q 'cutover-git' /proc/self/mountinfo && echo "REACHED the mount table" >>plant.log
exit 0
SH
git_q() { git -c safe.directory=* -C "$work" -c user.name=it -c user.email=it@example.invalid "$@" >/dev/null 2>&1; }
git_q init -q -b main && git_q add -A && git_q commit -q -m v1 || fatal "cannot make the repository"
git clone -q --bare "$work" "$repo" || fatal "cannot make the bare repository"
PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
bg DAEMON_PID git daemon --listen=127.0.0.1 --port="$PORT" --base-path="$G" --export-all --reuseaddr "$G"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || fatal "git daemon does not listen on $PORT"
URL=git+git://127.0.0.1:$PORT/app.git#main

step "a process of the deploy user watches for git"
SPY=$G/spy
mkdir -m 0777 "$SPY"
cat >"$SPY/spy.sh" <<'SH'
#!/bin/sh
# Every git process it sees: through its cwd and root, plant what it can.
# Any process's fd 3: the ssh key, if it can. The deploy user's tar: a memfd?
log=$1/spy.log
me=$(id -u)
while [ ! -e "$1/stop" ]; do
	for p in /proc/[0-9]*; do
		# read, not cat: a fork per process would make the loop too
		# slow to catch a short fetch.
		c=
		read -r c <"$p/comm" 2>/dev/null || continue
		case $c in sh|git*|ssh|tar) ;; *) continue ;; esac
		if grep -q 'PRIVATE KEY' "$p/fd/3" 2>/dev/null; then echo "REACHED $p/fd/3 (the ssh key)" >>"$log"; fi
		if [ "$c" = tar ]; then
			echo "tar $p" >>"$log"
			if ls -l "$p/fd/" 2>/dev/null | grep -q memfd; then echo "REACHED $p: tar holds a memfd" >>"$log"; fi
		fi
		case $c in git*) ;; *) continue ;; esac
		# The ssh server's git-upload-pack ($3), the deploy user's own
		# repository, is not the cache; nor is any git process of the
		# deploy user itself (the server side starts in its home and
		# changes into $3 later: the cwd test alone races with that).
		[ -n "${3:-}" ] && [ "$(readlink "$p/cwd" 2>/dev/null)" = "$3" ] && continue
		u=
		while read -r k v _; do [ "$k" = Uid: ] && u=$v && break; done <"$p/status" 2>/dev/null
		[ "$u" = "$me" ] && continue
		echo "saw $p" >>"$log"
		for d in "$p/cwd" "$p/cwd/repo.git" "$p/root$2/repo.git" "$p/root/tmp/.cutover-git/repo.git"; do
			if ls "$d" >/dev/null 2>&1; then echo "REACHED $d" >>"$log"; fi
			if printf '[core]\n\tfsmonitor = touch /x\n' >>"$d/config" 2>/dev/null; then echo "REACHED $d/config" >>"$log"; fi
			if mkdir "$d/hooks" 2>/dev/null; then echo "REACHED $d/hooks" >>"$log"; fi
		done
	done
done
SH
chmod 755 "$SPY/spy.sh"
bg SPY_PID setpriv --reuid="$DEP" --regid="$DGROUP" --clear-groups sh "$SPY/spy.sh" "$SPY" "$CACHE"
undo_push "touch $SPY/stop"

step "two deploys through sudo, the build step and the watcher at work"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 0 "$RC" "the first deploy from git" || fatal "the first deploy failed" "$(it_last_output)"
printf '<?php echo "v2";\n' >"$work/public/index.php"
git_q commit -q -am v2 && git_q push -q "$repo" main || fatal "commit v2"
run ci_cutover deploy "$APP" --from "$URL"
assert_eq 0 "$RC" "the second deploy from git" || fatal "the second deploy failed" "$(it_last_output)"
touch "$SPY/stop"
bg_wait "$SPY_PID"

step "every attempt was denied"
log=$ROOT/current/plant.log
assert_file_exists "$log" "the build step ran"
assert_eq "" "$(grep REACHED "$log")" "the build step reached nothing"
assert_lt 3 "$(grep -c denied "$log")" "the build step tried"
assert_eq "" "$(grep REACHED "$SPY/spy.log" 2>/dev/null)" "the watcher reached nothing"
printf '    (the watcher saw %s git processes)\n' "$(grep -c saw "$SPY/spy.log" 2>/dev/null || echo 0)"
assert_eq "$GU:root 700" "$(stat -c '%U:%G %a' "$CACHE")" "the cache directory"
assert_eq "" "$(find "$CACHE" ! -user "$GU")" "nothing in the cache belongs to anyone but git_user"
assert_eq "" "$(git config -f "$CACHE/repo.git/config" --get-regexp 'fsmonitor|hookspath|include|url')" "the cache's config"
assert_file_absent "$CACHE/repo.git/hooks" "no hooks in the cache"
assert_file_absent "$CACHE/repo.git/objects/info/alternates" "no alternates in the cache"

step "the release is the commit"
want=$S/want
mkdir -p "$want" && git -C "$repo" archive main | tar -x -C "$want" || fatal "git archive"
assert_eq "Only in $ROOT/current/: .env|Only in $ROOT/current/: plant.log|Only in $ROOT/current/: storage" \
	"$(diff -r --no-dereference "$want" "$ROOT/current/" 2>&1 | paste -sd'|' -)" "the release against git archive"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "the second release"
assert_no_cutover_procs "after the deploys"

step "git+ssh through the cache with [build] ssh_key"
command -v /usr/sbin/sshd >/dev/null || fatal "sshd is missing (.ci/deps.sh installs openssh-server)"
# Not locked (sshd refuses locked accounts), but no password either.
usermod -p '*' "$DEP"
printf '<?php echo "v3";\n' >"$work/public/index.php"
# Some bytes, so that the fetch and the tar last long enough to be watched.
mkdir -p "$work/data"
for i in $(seq 1 200); do head -c 49152 /dev/urandom | base64 >"$work/data/f$i"; done
git_q add -A && git_q commit -q -m v3 && git_q push -q "$repo" main || fatal "commit v3"
SREPO=$G/ssh.git
git clone -q --bare "$repo" "$SREPO" && chown -R "$DEP:$DGROUP" "$SREPO" || fatal "cannot make the ssh repository"
SSHD=$G/sshd
mkdir -p "$SSHD"
ssh-keygen -q -t ed25519 -N '' -f "$SSHD/host_key" || fatal "ssh-keygen failed"
KEYDIR=/etc/cutover/keys-$(random_hex 8)
etc_dir_ensure
mkdir -m 0755 "$KEYDIR"
undo_push "rm -rf -- $(printf '%q' "$KEYDIR")"
ssh-keygen -q -t ed25519 -N '' -C app-key -f "$KEYDIR/app" || fatal "ssh-keygen failed"
chown root:root "$KEYDIR/app"
chmod 0600 "$KEYDIR/app"
cp "$KEYDIR/app.pub" "$SSHD/authorized_keys"
SPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
cat >"$SSHD/config" <<CFG
Port $SPORT
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
printf '[127.0.0.1]:%s %s\n' "$SPORT" "$(cut -d' ' -f1,2 "$SSHD/host_key.pub")" >"$KEYDIR/known_hosts"
chmod 0644 "$KEYDIR/known_hosts"
chown -R root:root "$SSHD"
if [[ ! -d /run/sshd ]]; then
	mkdir -m 0755 /run/sshd
	undo_push "rmdir /run/sshd 2>/dev/null"
fi
bg SSHD_PID /usr/sbin/sshd -D -e -f "$SSHD/config"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT" 2>/dev/null || fatal "sshd does not listen on $SPORT"
APP_USER=$DEP APP_GROUP=$DGROUP etc_conf_write "$APP" "$ROOT" 'run = sh bin/plant.sh' "git_user = $GU" \
	"ssh_key = $KEYDIR/app" "ssh_known_hosts = $KEYDIR/known_hosts"
rm -f "$SPY/stop" "$SPY/spy.log"
bg SPY_PID setpriv --reuid="$DEP" --regid="$DGROUP" --clear-groups sh "$SPY/spy.sh" "$SPY" "$CACHE" "$SREPO"
run ci_cutover deploy "$APP" --from "git+ssh://$DEP@127.0.0.1:$SPORT$SREPO#main"
assert_eq 0 "$RC" "the fetch through ssh as git_user with the key" || printf '%s\n' "$(it_last_output)"
touch "$SPY/stop"
bg_wait "$SPY_PID"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v3";' "the release fetched through ssh"
assert_eq "" "$(grep REACHED "$SPY/spy.log" 2>/dev/null)" "the watcher reached neither the cache nor the key"
printf '    (the watcher saw %s git and %s tar processes)\n' "$(grep -c saw "$SPY/spy.log" 2>/dev/null || echo 0)" \
	"$(grep -c '^tar ' "$SPY/spy.log" 2>/dev/null || echo 0)"
assert_eq "" "$(find "$CACHE" ! -user "$GU")" "nothing in the cache belongs to anyone but git_user"
assert_no_cutover_procs "after the ssh deploy"
