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
log=$1/spy.log
while [ ! -e "$1/stop" ]; do
	for p in /proc/[0-9]*; do
		case $(cat "$p/comm" 2>/dev/null) in git*) ;; *) continue ;; esac
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
