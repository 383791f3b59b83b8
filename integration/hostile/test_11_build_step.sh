#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 11: a build step that attacks, deployed through sudo.
#   - integration/tools/trysys.c (static, shipped in the source so it
#     lands in the release) attempts every call of the deny-list: mount,
#     the new mount API, unshare/setns/clone with CLONE_NEW*, clone3,
#     ptrace, process_vm_readv/writev and pidfd_getfd of the sandbox's pid
#     1 (the helper's sandbox init, found in /proc) and of the real
#     helper's host pid, keyctl/add_key/request_key, bpf, perf_event_open,
#     userfaultfd, io_uring_setup, kexec, modules, open_by_handle_at,
#     mknod of devices, reboot, swapon, acct, quotactl, syslog, iopl/ioperm,
#     ioctl(TIOCSTI), personality: each must fail with EPERM (clone3:
#     ENOSYS) or kill only the attempt;
#   - writes to /etc, /root and another app's root (releases, current,
#     shared; in /srv, where the sandbox sees it), and reading that app's
#     shared/.env (daemon's, 0640, holding a secret) and frozen release:
#     all denied, the secret in no release or log; symlinks from the
#     public docroot to that .env: the freeze refuses them (the web
#     server's user, web_group, could read it through them);
#   - a fork bomb under [build] max_procs = 64: forks stop at the cap, the
#     step is ended by its timeout, nothing is left running, the machine
#     answers;
#   - filling the disk under [build] max_size = 50M, with write(2) and
#     with fallocate(2) (at most ~2 GB either way): the step is stopped
#     having allocated at most twice the budget, its release removed.
# The app keeps serving its known-good release throughout.
. "$(dirname "$0")/../lib.sh"

step "another app (daemon's) with a secret in shared/.env"
# Its root is in /srv, not in a scratch dir under /tmp: a build step's
# private /tmp would hide it, and the probes below would prove nothing.
secret_new SECRET
APP=other
app_init
B_ROOT=/srv/cutover-it-$(random_hex 10) B_CONF=$CONF
[[ -d /srv && ! -e $B_ROOT ]] || fatal "cannot use $B_ROOT for the other app"
undo_push "rm -rf --one-file-system -- $(printf '%q' "$B_ROOT")"
APP_USER=daemon APP_GROUP=daemon app_config "$B_CONF" "$B_ROOT"
assert_ok cutover -c "$B_CONF" deploy other --from "$SRC" || fatal "deploying the other app failed"
printf 'APP_KEY=%s\n' "$SECRET" >"$B_ROOT/shared/.env"
assert_eq "daemon:www-data 640" "$(stat -c '%U:%G %a' "$B_ROOT/shared/.env")" "the other app's shared/.env"
B_BEFORE=$(tree_snapshot "$B_ROOT")

hostile_app_prepare 'run = sh attack.sh'
# Static when the toolchain allows (integration/tools.mk).
tool_build trysys
install -m 0755 "$TOOL" "$SRC/bin/trysys"
tag=cutover-it-$(random_hex 8)
cat >"$SRC/attack.sh" <<ATTACK
[ -e attack ] || exit 0
# Wait (at most 10 s) for the test to tell the helper's host pid.
touch started
i=0
while [ ! -s helper.pid ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
helper=\$(cat helper.pid 2>/dev/null)
# The helper, as the sandbox sees it: pid 1 runs "cutover-helper ...".
for p in /proc/[0-9]*; do
	tr '\0' ' ' <\$p/cmdline 2>/dev/null | grep -q cutover-helper && echo "\${p#/proc/}"
done >helper-in-proc.txt
./bin/trysys 1 >trysys-init.txt 2>&1
./bin/trysys "\${helper:-0}" >trysys-helper.txt 2>&1
probe() {
	if err=\$(sh -c "\$2" 2>&1); then echo "written \$1"; else echo "denied \$1 (\$err)"; fi
}
{
	probe /etc "echo x >/etc/$tag"
	probe /root "echo x >/root/$tag"
	probe other-release "echo x >$B_ROOT/current/$tag"
	probe other-releases "mkdir $B_ROOT/releases/$tag"
	probe other-shared "echo x >$B_ROOT/shared/storage/$tag"
	probe other-env "echo x >>$B_ROOT/shared/.env"
	probe other-root "echo x >$B_ROOT/$tag"
} >writes.txt
cat $B_ROOT/shared/.env >stolen-env.txt 2>&1
cat $B_ROOT/shared/.env 2>&1
cp -r $B_ROOT/current/. stolen-release/ 2>/dev/null
# What the step cannot read, the web server (web_group) can: a symlink in
# the public docroot would hand it the other app's secrets.
if [ -e leak ]; then
	ln -s $B_ROOT/shared/.env public/leak.txt
	ln -s $B_ROOT/shared public/leak-dir
fi
exit 0
ATTACK
undo_push "rm -rf /etc/$tag /root/$tag"
hostile_deploy_good
before=$(app_state)
cases=0

step "the attacking deploy"
touch "$SRC/attack"
set_index "$SRC" attacked
pid=
bg pid ci_cutover deploy "$APP" --from "$SRC"
if wait_for 20 staging_started started; then
	helper=$(cutover_procs | awk '$4 == "cutover-helper"' | sort -n | head -n 1 | cut -d' ' -f1)
	for d in "$ROOT"/.cutover/staging/*/; do
		printf '%s\n' "$helper" >"$d/helper.pid"
	done
else
	fail "the attacking build step never started"
fi
bg_wait "$pid"
assert_eq 0 "$RC" "the attacking deploy (its step exits 0)" || fatal "the attacking deploy failed" "$(it_last_output)"
REL=$ROOT/releases/$(current_id)

step "denied system calls"
for f in trysys-init trysys-helper; do
	assert_file_exists "$REL/$f.txt" "trysys ran ($f)" || continue
	sed "s/^/   $f: /" "$REL/$f.txt" | paste -sd'\n' - | head -n 0
	n=0
	while read -r name result; do
		[[ $name == 'kill(target,0)' ]] && continue
		want=EPERM
		[[ $name == clone3 ]] && want=ENOSYS
		n=$((n + 1))
		case $result in
		"$want" | KILLED*) ;;
		OK) fail "$f: $name succeeded in a build step" ;;
		*) fail "$f: $name failed with $result, not $want: the seccomp filter did not stop it" ;;
		esac
	done <"$REL/$f.txt"
	assert_lt 50 "$n" "$f: the number of denied calls tried"
	cases=$((cases + n))
done
echo "   trysys (target: the sandbox's pid 1): $(awk '{ print $2 }' "$REL/trysys-init.txt" | sort | uniq -c | paste -sd' ' -)"
echo "   the helper as the build step sees it in /proc: pid $(paste -sd' ' - <"$REL/helper-in-proc.txt")"
assert_eq 1 "$(cat "$REL/helper-in-proc.txt")" "the only cutover-helper the build step sees is its sandbox's pid 1"
if [[ -n ${helper:-} ]]; then
	assert_match "$(grep '^kill(target,0) ' "$REL/trysys-helper.txt")" 'ESRCH|EPERM' \
		"the helper's host pid ($helper) is not reachable from the build step"
fi

step "writes outside the release, another app's secret"
while read -r verdict what; do
	assert_eq denied "$verdict" "the build step writing $what"
	assert_not_contains "$what" "No such file" "the build step sees what it tries to write: $what"
	cases=$((cases + 1))
done <"$REL/writes.txt"
sed 's/^/   /' "$REL/writes.txt"
assert_file_absent "/etc/$tag"
assert_file_absent "/root/$tag"
assert_eq "$B_BEFORE" "$(tree_snapshot "$B_ROOT")" "the other app's root"
assert_contains "$(cat "$REL/stolen-env.txt")" "Permission denied" "reading the other app's shared/.env"
assert_no_secret "$SECRET" "the other app's shared/.env" 
assert_eq "" "$(find "$REL/stolen-release" -type f 2>/dev/null | head -n 3)" "the other app's frozen release is unreadable"
cases=$((cases + 2))

step "symlinks from the public docroot to the other app's shared/.env"
# The only links out of a frozen release may be cutover's own shared
# links; anything else would let the deploy user read as the web group
# (the web server follows links in the docroot by default).
touch "$SRC/leak"
set_index "$SRC" leak
attacked=$(app_state)
run ci_cutover deploy "$APP" --from "$SRC"
assert_refused 1 "outside the release" "symlinks out of the release made by a build step"
SERVING='<?php echo "attacked";' assert_app_unchanged "$attacked" "symlinks out of the release made by a build step"
links=$(find "$ROOT/releases" -mindepth 2 -type l -printf '%P\t%l\n' | while IFS=$'\t' read -r path target; do
	id=${path%%/*} path=${path#*/}
	case $path/$target in
	"storage/$ROOT/shared/storage" | ".env/$ROOT/shared/.env") continue ;;
	esac
	[[ $target == /* ]] || target=$(realpath -ms "$(dirname "$ROOT/releases/$id/$path")/$target")
	[[ $target == "$ROOT/releases/$id"/* ]] || printf '%s/%s -> %s\n' "$id" "$path" "$target"
done)
assert_eq "" "$links" "symlinks out of a release in releases/"
read_as_web=$(setpriv --reuid=www-data --regid=www-data --init-groups -- cat "$ROOT/current/public/leak.txt" 2>&1)
assert_not_contains "$read_as_web" "$SECRET" \
	"the web server's user reads the other app's shared/.env through current/public/leak.txt"
rm -f "$SRC/leak" "$SRC/attack"
cases=$((cases + 1))
# The known-good release goes back up for the cases below.
assert_ok ci_cutover switch "$APP" "$GOOD_ID"
ci_cutover prune "$APP" --keep 1 >/dev/null 2>&1
before=$(app_state)

step "a fork bomb under max_procs = 64"
etc_conf_write "$APP" "$ROOT" 'run = ./bin/trysys --forks 1000; exec ./bin/trysys --bomb' \
	'max_procs = 64' 'timeout = 8'
set_index "$SRC" bomb
run ci_cutover deploy "$APP" --from "$SRC"
assert_refused 1 "timed out" "the fork bomb"
forks=$(printf '%s\n' "$ERR" | sed -n 's/.*forks=\([0-9]*\) .*/\1/p' | head -n 1)
echo "   forks before the cap: ${forks:-?} ($(printf '%s\n' "$ERR" | grep -o 'forks=[0-9]* [A-Z]*' | head -n 1))"
assert_match "${forks:-x}" '^[0-9]+$' "the step reported how many forks it got"
[[ ${forks:-x} =~ ^[0-9]+$ ]] && assert_lt "$forks" 64 "forks stop at max_procs = 64 (got $forks)"
assert_no_cutover_procs "after the fork bomb"
left=$(pgrep -f "$ROOT/releases/.*trysys|bin/trysys" || true)
assert_eq "" "$left" "no process of the bomb is left"
assert_ok true
assert_app_unchanged "$before" "after the fork bomb"
cases=$((cases + 1))

# fill HOW NEEDLE COMMAND: a step running COMMAND (which writes at most
# ~2 GB, so a failing budget cannot fill this machine's disk) under
# max_size = 50M fails (its message saying NEEDLE), kept with --keep-failed
# to measure what it wrote before it was stopped: at most twice the budget.
fill()
{
	local how=$1 kept written

	step "filling the disk with $how under max_size = 50M"
	etc_conf_write "$APP" "$ROOT" "run = $3" 'max_size = 50M' 'timeout = 60'
	set_index "$SRC" fill
	run ci_cutover deploy "$APP" --keep-failed --from "$SRC"
	assert_refused 1 "$2" "filling the disk with $how"
	kept=$(find "$ROOT/.cutover/failed" -mindepth 1 -maxdepth 1)
	written=$(du -s -B1 "$kept" 2>/dev/null | cut -f1)
	echo "   $how: stopped after $ELAPSED_MS ms, having allocated ${written:-?} bytes (budget 52428800)"
	assert_lt "${written:-0}" $((2 * 50 * 1024 * 1024)) \
		"filling the disk with $how: allocated ${written:-?} bytes before the step was stopped (budget 50M)"
	ci_cutover prune "$APP" >/dev/null 2>&1
	assert_app_unchanged "$before" "after filling the disk with $how"
	assert_no_cutover_procs "after filling the disk with $how"
	cases=$((cases + 1))
}
fill 'write(2), 40 files of 30 MiB' max_size \
	'i=0; while [ $i -lt 40 ]; do head -c 31457280 /dev/zero >fill$i || exit 1; i=$((i + 1)); done; sleep 2'
# fallocate(2) allocates 49 MiB in microseconds: it is stopped by the
# budget or refused outright; either way the allocation stays bounded.
fill 'fallocate(2), 40 files of 49 MiB' '' \
	'i=0; while [ $i -lt 40 ]; do fallocate -l 49M fill$i || exit 1; i=$((i + 1)); done; sleep 2'

step "one file over max_size"
etc_conf_write "$APP" "$ROOT" 'run = head -c 104857600 /dev/zero >big' 'max_size = 50M'
run ci_cutover deploy "$APP" --from "$SRC"
assert_refused 1 "" "one file over max_size"
assert_app_unchanged "$before" "after one file over max_size"
cases=$((cases + 1))
assert_serving_php "after the attacks"
echo "cases: $cases"
