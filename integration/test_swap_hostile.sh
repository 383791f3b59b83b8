#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap against the attacks of review 14 (docs/SECURITY.md):
#   F1  the app's pool file includes another file (which nobody checked:
#       www-data could add an access.log that the root master opens):
#       refused, as are prefix and chroot
#   F4  the pool's access.log in a directory www-data can write (it could
#       swap the log for a symlink to any file; the root master opens it
#       with O_CREAT|O_APPEND): refused
#   F2  a compromised front end of a switch run starts a slot, tells the
#       helper to stop it, then asks for the switch to it (its master still
#       holds its socket while it finishes a request): refused, the live
#       site unchanged
# Review 14b: a template with a NUL byte, a lone CR (php-fpm ends a line
# there) or more than 64 KiB is refused, not checked in part; a log in a
# sticky world-writable directory (/tmp) is refused; a restart after a
# crash refuses a pool file that gained an include. And a slot directory
# that www-data made before cutover did is never used; a
# process_control_timeout beyond the unit's TimeoutStopSec is refused.
# Each refusal names the problem and changes nothing.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=0)
swap_app_init
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
live0=$(live_target)
pid0=$(swap_master_pid demo a)

# remember_live: what unchanged compares with from now on.
remember_live()
{
	live0=$(live_target)
	pid0=$(swap_master_pid demo "$(sed 's/^demo\.\(.\).*/\1/' <<<"$live0")")
}

unchanged()
{
	assert_eq "$live0" "$(live_target)" "$1: the live socket"
	assert_eq "$pid0" "$(swap_master_pid demo "$(sed 's/^demo\.\(.\).*/\1/' <<<"$live0")")" "$1: the live master"
	assert_contains "$(served /)" "a=v0 b=v0 i=v0" "$1: v0 is served"
}

step "a slot directory someone else made"
mkdir -m 0755 /run/cutover/fpm/demo.b
chown www-data /run/cutover/fpm/demo.b
run deploy_version pre-made -q
assert_ne 0 "$RC" "the deploy was refused"
assert_contains "$ERR" "/run/cutover/fpm/demo.b" "the error names the directory"
unchanged "a slot directory of www-data"
[[ -e /run/cutover/fpm/demo.b/php-fpm.conf ]] && fail "a configuration was written into www-data's directory"
rmdir /run/cutover/fpm/demo.b

step "F1: include, prefix and chroot in the pool file"
cp "$POOL" "$S/pool.good"
scratch_new W
chown www-data "$W"
printf '[demo]\naccess.log = /root/owned-by-www-data\n' > "$W/extra.conf"
chown www-data "$W/extra.conf"
for line in "include = $W/extra.conf" "prefix = $W" "chroot = $W"; do
	cp "$S/pool.good" "$POOL"
	printf '%s\n' "$line" >> "$POOL"
	run deploy_version "f1-${line%% *}" -q
	assert_ne 0 "$RC" "${line%% *}: the deploy was refused"
	assert_contains "$ERR" "holds ${line%% *}: a slot's pool file may not" "${line%% *}: the reason"
	unchanged "${line%% *}"
done
cp "$S/pool.good" "$POOL"
[[ -e /root/owned-by-www-data ]] && fail "the included access.log was created"
# Bytes php-fpm reads differently from a C string (review 14b): refused.
{ cat "$S/pool.good"; printf 'pm.max_children = 4\rinclude = %s/extra.conf\n' "$W"; } > "$POOL"
run deploy_version f1-cr -q
assert_ne 0 "$RC" "a lone carriage return was refused"
assert_contains "$ERR" "holds a carriage return that ends no line" "the reason"
unchanged "a lone carriage return"
cp "$S/pool.good" "$POOL"
# An include beyond what is read is not missed: a longer file is refused.
{ cat "$S/pool.good"; head -c 70000 /dev/zero | tr '\0' ';'; printf '\ninclude = %s/extra.conf\n' "$W"; } > "$POOL"
run deploy_version f1-long -q
assert_ne 0 "$RC" "a pool file over 64 KiB was refused"
assert_contains "$ERR" "is larger than 64 KiB" "the reason"
unchanged "a long pool file"
cp "$S/pool.good" "$POOL"

step "F1 at a restart: the pool file changed after the slot started"
printf 'include = %s/extra.conf\n' "$W" >> "$POOL"
swap_kill_master demo a KILL
wait_for 15 eval '[[ $(swap_unit_prop demo a ActiveState) == failed ]]' ||
	fail "the unit did not fail" "$(swap_unit_show demo a)"
assert_contains "$(cat "$SWAP_DOUBLE_DIR/cutover-fpm@demo:a.service.log")" "holds include, which a slot's pool file may not" \
	"fpm-exec refused the changed pool file at the restart"
[[ -e /root/owned-by-www-data ]] && fail "the included access.log was created at the restart"
cp "$S/pool.good" "$POOL"
assert_ok co fpm-start
remember_live
assert_ne 0 "$pid0" "a live master after fpm-start"
unchanged "after fpm-start"

step "F4: the pool's access.log in a directory www-data can write"
printf 'access.log = %s/access.log\n' "$W" >> "$POOL"
run deploy_version f4 -q
assert_ne 0 "$RC" "the deploy was refused"
assert_contains "$ERR" "is in a directory others can write" "the reason"
unchanged "F4"
mkdir -m 1777 "$S/sticky"
cp "$S/pool.good" "$POOL"
printf 'access.log = %s/sticky/access.log\n' "$S" >> "$POOL"
run deploy_version f4-sticky -q
assert_ne 0 "$RC" "a sticky world-writable directory was refused"
assert_contains "$ERR" "is writable by group or others" "the reason"
unchanged "F4, sticky"
mkdir -m 0755 "$S/logs"
cp "$S/pool.good" "$POOL"
printf 'access.log = %s/logs/access.log\n' "$S" >> "$POOL"
assert_ok deploy_version f4-root-dir -q
assert_file_exists "$S/logs/access.log" "an access.log in a root-owned directory is fine"
cp "$S/pool.good" "$POOL"
assert_ok co -q rollback
remember_live
assert_contains "$(served /)" "a=v0 b=v0 i=v0" "the rollback went back to v0"

step "process_control_timeout longer than the unit's TimeoutStopSec"
sed 's/^process_control_timeout = .*/process_control_timeout = 120s/' "$S/pool.good" > "$POOL"
run deploy_version pct -q
assert_ne 0 "$RC" "the deploy was refused"
assert_contains "$ERR" "process_control_timeout 120s is longer than the unit's TimeoutStopSec" "the reason"
unchanged "process_control_timeout"
cp "$S/pool.good" "$POOL"

step "F2: a switch to a slot this run stopped"
app_version f2
sed -i '1a if (($_SERVER["SERVER_SOFTWARE"] ?? "") !== "nginx") { usleep(3000000); }' "$SRCS/f2/public/index.php"
assert_ok co -q stage --from "$SRCS/f2" --id f2-release
IT_LIB_DIR=$IT_LIB_DIR HELPER=$(dirname "$CUTOVER_BIN")/cutover-helper python3 - "$CONF" demo f2-release > "$S/f2.out" 2>&1 <<'PY'
import sys, os
sys.path.insert(0, os.path.join(os.environ["IT_LIB_DIR"]))
from helper_proto import Helper
conf, app, rid = sys.argv[1:4]
h = Helper('switch', app, 'root', conf)
def call(op, **kw):
    m, _ = h.call(op, **kw)
    print(op, m and (m['status'], m['text'][:160]))
    return m
call('lock', args=(5,))
call('fpm-slots')
slot = call('fpm-slot-start', id=rid)['text'].decode()[:1]
keep = call('fpm-request', args=(5,))      # the pre-switch check, left running 3 s
call('fpm-slot-retire', text=slot, args=(1,))
m = call('switch', id=rid, text='attack')
print('SWITCH-STATUS', m['status'])
h.close()
PY
cat "$S/f2.out"
grep -q '^SWITCH-STATUS -' "$S/f2.out" || fail "the switch to a stopped slot was accepted" "$(cat "$S/f2.out")"
assert_contains "$(cat "$S/f2.out")" "does not run in a slot this run started" "the reason"
sleep 3.5
unchanged "F2"
