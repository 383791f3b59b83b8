#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 30: a cgroup the CI user controls (review 11, F2).
# systemd delegates a user's own subtree to it (user@UID.service,
# `systemd-run --user`); whoever owns a cgroup v2 directory can write its
# cgroup.kill, which kills every process in it without any signal
# permission check: uid 0 included. A CI user that runs `sudo cutover`
# from such a cgroup could kill the helper at the moment it chooses (in
# the middle of a freeze, a switch, a rebuild).
#
# The launcher leaves every cgroup that is not root's alone before it
# starts anything: here the CI user's sudo runs in a delegated cgroup and
# kills it while the build step runs. The stage must still finish (the
# release frozen, nothing left in staging), and no process of the run may
# have been in that cgroup.
. "$(dirname "$0")/../lib.sh"

CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[[ -n $CG2 && -e $CG2/cgroup.procs ]] || fatal "no cgroup v2 hierarchy is mounted on this machine"
hostile_app_prepare 'run = sh step.sh'
printf 'if [ -e slow ]; then sleep 4; fi\n' >"$SRC/step.sh"
hostile_deploy_good

# Delegation as systemd does it: the directory and the files that move
# processes belong to the user.
D=$CG2/it-ci-$(random_hex 6)
mkdir "$D" || fatal "cannot make a cgroup in $CG2"
undo_push "rmdir '$D/job' '$D' 2>/dev/null"
chown "$CI_USER" "$D" "$D/cgroup.procs" "$D/cgroup.threads" "$D/cgroup.subtree_control"
touch "$SRC/slow"
chmod -R a+rX "$SRC"
O=$S/ci
mkdir "$O" && chown "$CI_USER" "$O"
cat >"$O/ci.sh" <<SH
#!/bin/bash
# as the CI user: sudo in a cgroup of its own below the delegated one,
# this shell beside it to kill it
mkdir "$D/job" || exit 9
(echo \$BASHPID >"$D/job/cgroup.procs" && exec sudo -n -u root "$CUTOVER_BIN" stage "$APP" --from "$SRC" --label cg) \
	>"$O/stage.out" 2>&1 &
for i in \$(seq 100); do
	pgrep -f "cutover-helper stage $APP" >/dev/null && break
	sleep 0.1
done
sleep 1.5   # the build step runs now
pgrep -f "cutover-helper stage $APP" >"$O/helper-at-kill"
cat "$D/job/cgroup.procs" >"$O/in-job"
echo 1 >"$D/job/cgroup.kill"
SH
chmod 755 "$O/ci.sh"
# This shell joins the cgroup only to fork the CI user into it.
echo $BASHPID >"$D/cgroup.procs"
(cd / && setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups bash "$O/ci.sh")
rc=$?
echo $BASHPID >"$CG2/cgroup.procs"
assert_eq 0 "$rc" "the CI user's script ran and wrote cgroup.kill"

step "the helper was never in the CI user's cgroup"
assert_ne "" "$(cat "$O/helper-at-kill")" "the helper ran when the CI user killed its cgroup"
for pid in $(cat "$O/in-job"); do
	comm=$(cat "/proc/$pid/comm" 2>/dev/null)
	[[ $comm == cutover* ]] && fail "process $pid ($comm) was in the caller's cgroup"
done
# The stage goes on without the sudo that started it.
for _ in $(seq 100); do
	pgrep -f "cutover-helper stage $APP" >/dev/null || break
	sleep 0.1
done
assert_eq "" "$(pgrep -f "cutover-helper stage $APP")" "the helper finished"
label=$(find "$ROOT/releases" -mindepth 1 -maxdepth 1 -name '*-cg' -printf '%f\n')
[[ -n $label ]] || fail "no release labelled cg: the stage was killed" "$(cat "$O/stage.out" 2>/dev/null)"
[[ -n $label ]] && assert_eq "frozen" "$(sed -n 's/^state=//p' "$ROOT/.cutover/state/$label")" "the staged release is frozen"
assert_eq "" "$(ls -A "$ROOT/.cutover/staging")" "nothing left in staging"
assert_file_content "$ROOT/current/public/index.php" "$SERVING" "the live release"
