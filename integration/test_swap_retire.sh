#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap retires the old pool only once its accept queue is empty:
# the old pool has one worker, busy with a 2 s request, and 20 more
# requests wait in its socket's accept queue when the deploy renames the
# live socket. All 20 are answered 200 by the old release (a SIGQUIT while
# they waited would have closed the socket with them in it: 502s), the
# deploy reports the time it waited for the queue, and the old master is
# gone afterwards with its socket path, while the live socket stays.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=0)
swap_app_init pm=static pm.max_children=1
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
old_pid=$(swap_master_pid demo a)

step "one busy worker and 20 queued requests in the old pool"
curl -s -o "$S/long.body" -w '%{http_code}\n' --max-time 20 "$URL/?sleep=2000" > "$S/long.code" &
sleep 0.3
for i in $(seq 20); do
	curl -s -o "$S/q$i.body" -w '%{http_code}\n' --max-time 20 "$URL/?sleep=10" > "$S/q$i.code" &
done
wait_for 5 eval '[[ $(ss -xlH | awk -v p=/run/cutover/fpm/demo.a/fpm.sock '"'"'$5 == p { print $3 }'"'"') -ge 15 ]]' ||
	fail "the requests did not queue in the old socket" "$(ss -xl)"

step "a deploy while they wait"
run deploy_version v1 -q --json
assert_eq 0 "$RC" "the deploy"
queue_us=$(jq -r .pool.retire_queue_us <<<"$OUT")
printf 'retire waited %s us for the old queue\n' "$queue_us"
assert_lt 100000 "$queue_us" "the retire waited for the queued requests (us)"
wait

step "every queued request was answered by the old release"
assert_eq 200 "$(cat "$S/long.code")" "the long request"
for i in $(seq 20); do
	assert_eq 200 "$(cat "$S/q$i.code")" "queued request $i"
	assert_contains "$(cat "$S/q$i.body")" "a=v0 b=v0 i=v0" "queued request $i ran on v0"
done
swap_wait_state demo a inactive 10 || fail "the old pool did not stop"
[[ -d /proc/$old_pid ]] && fail "the old master still runs"
[[ -e /run/cutover/fpm/demo.a/fpm.sock ]] && fail "the old pool's socket path is still there"
[[ -L $LIVE_SOCK ]] || fail "the live socket is gone"
assert_contains "$(served /)" "a=v1 b=v1 i=v1" "v1 is served"
