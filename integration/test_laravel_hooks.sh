#!/bin/bash
# SPDX-License-Identifier: MIT
#
# [hooks] with preset = laravel, on the bundled app:
#
#  1. The preset's default after_switch, `php artisan queue:restart`, runs
#     after every deploy: it writes the cache key illuminate:queue:restart
#     (the file store's data/<sha1 path>, in shared/storage) with the
#     deploy's time, as nobody:www-data and group-readable; the next deploy
#     writes a newer time.
#  2. Custom hooks (which replace the default): before_switch runs as
#     nobody in the new release's directory, with its id in
#     CUTOVER_RELEASE, while current is still the old release;
#     after_switch hooks run in order, in the new release, once current
#     points to it; a rollback runs after_switch in the release rolled
#     back to.
#  3. A failing before_switch hook: exit 1, one error line naming the hook
#     and saying the release was not published; current, releases/ and the
#     page unchanged; no after_switch hook ran.
#  4. A failing after_switch hook: exit 1, one error line saying the new
#     release is live; current is the new release and it is served.
. "$(dirname "$0")/lib.sh"

# The file store's path for a key (Illuminate\Cache\FileStore::path).
KEY_SHA=$(printf '%s' 'illuminate:queue:restart' | sha1sum | cut -c1-40)
RESTART_FILE=framework/cache/data/${KEY_SHA:0:2}/${KEY_SHA:2:2}/$KEY_SHA

# restart_time: the time queue:restart stored ("" if none): the file holds
# a 10-digit expiry (forever: 9999999999) and then serialize(time()).
restart_time()
{
	sed -n 's/^9999999999i:\([0-9]*\);$/\1/p' "$ROOT/shared/storage/$RESTART_FILE" 2>/dev/null
}

# assert_hook_failed CODE NEEDLE WHAT: the last run exited CODE with one
# error line containing NEEDLE.
assert_hook_failed()
{
	local line

	assert_error_line "$1" || return 1
	line=$(grep '^cutover: ' <<<"$ERR")
	[[ ${IT_VERBOSE:-0} == 1 ]] && printf '   %s\n' "$line"
	assert_contains "$line" "$2" "$3"
}

laravel_app_init

step "the default after_switch: php artisan queue:restart"
t0=$(date +%s)
assert_ok laravel_deploy v1 || fatal "the first deploy failed"
t1=$(date +%s)
V1=$(release_of v1)
assert_eq "$V1" "$(current_id)" "current after deploying v1"
assert_contains "$ERR" "running: php artisan queue:restart" "the deploy ran queue:restart"
assert_contains "$ERR" "Broadcasting queue restart signal." "queue:restart's output"
line_of() { grep -n -m 1 -F -- "$1" <<<"$ERR" | cut -d: -f1; }
assert_lt "$(line_of 'health check')" "$(line_of 'running: php artisan queue:restart')" \
	"queue:restart ran after the health check"
assert_file_exists "$ROOT/shared/storage/$RESTART_FILE" "the cache file of illuminate:queue:restart"
when=$(restart_time)
assert_match "$when" '^[0-9]+$' "the time queue:restart stored (file: $(cat "$ROOT/shared/storage/$RESTART_FILE" 2>&1))"
((${when:-0} >= t0 && ${when:-0} <= t1)) ||
	fail "queue:restart's time is not the deploy's" "stored: $when, deploy: $t0..$t1"
perm=$(stat -c '%U:%G %a' "$ROOT/shared/storage/$RESTART_FILE" 2>&1)
assert_match "$perm" '^nobody:www-data 6[67]0$' "the cache file's owner and mode (the web group reads it)"
sleep 1
t0=$(date +%s)
assert_ok laravel_deploy v2 -q
V2=$(release_of v2)
assert_eq "$V2" "$(current_id)" "current after deploying v2"
when2=$(restart_time)
((${when2:-0} >= t0)) || fail "the second deploy's queue:restart stored no newer time" "first: $when, second: $when2, deploy began: $t0"

step "custom hooks: where, as whom and when they run"
MARK=$ROOT/shared/storage/app
laravel_config "[hooks]" \
	"before_switch = echo \"before \$(id -un) \$PWD \$CUTOVER_RELEASE current=\$(readlink $ROOT/current)\" > storage/app/hook-before" \
	"after_switch = echo \"after1 \$(id -un) \$PWD \$CUTOVER_RELEASE current=\$(readlink $ROOT/current)\" > storage/app/hook-after" \
	"after_switch = echo \"after2 \$CUTOVER_APP\" >> storage/app/hook-after"
laravel_version v3 v1
assert_ok laravel_deploy v3 -q
V3=$(release_of v3)
assert_eq "$V3" "$(current_id)" "current after deploying v3"
assert_file_content "$MARK/hook-before" "before nobody $ROOT/releases/$V3 $V3 current=releases/$V2" \
	"before_switch: as nobody, in the new release, before the switch"
assert_file_content "$MARK/hook-after" "after1 nobody $ROOT/releases/$V3 $V3 current=releases/$V3
after2 $APP" "after_switch: both hooks, in order, as nobody, in the new release, after the switch"
assert_eq "nobody:www-data 660" "$(stat -c '%U:%G %a' "$MARK/hook-after" 2>&1)" \
	"what a hook writes in the shared storage stays the web group's (umask 007, setgid)"
assert_eq "$when2" "$(restart_time)" "queue:restart did not run (custom after_switch hooks replace the default)"
rm -f "$MARK/hook-before" "$MARK/hook-after"
assert_ok co -q rollback
assert_eq "$V2" "$(current_id)" "current after the rollback"
assert_file_content "$MARK/hook-after" "after1 nobody $ROOT/releases/$V2 $V2 current=releases/$V2
after2 $APP" "a rollback runs after_switch in the release rolled back to"
assert_file_absent "$MARK/hook-before" "a rollback runs no before_switch hook"

step "a failing before_switch hook: nothing switched"
laravel_config "[hooks]" "before_switch = echo refusing >&2 && exit 7" \
	"after_switch = echo ran > storage/app/hook-after"
rm -f "$MARK/hook-after"
releases=$(dir_list "$ROOT/releases")
laravel_version v4 v1
run laravel_deploy v4 -q
assert_hook_failed 1 "before_switch hook 1" "the message names the failing hook"
assert_contains "$ERR" "exit code 7" "the message gives the hook's exit code"
assert_contains "$ERR" "was not published" "the message says the release was not published"
assert_contains "$ERR" "refusing" "the hook's output is shown"
assert_eq "$V2" "$(current_id)" "current after the failing before_switch hook"
assert_eq "$releases" "$(dir_list "$ROOT/releases")" "releases/ after the failing before_switch hook"
assert_eq "" "$(dir_list "$ROOT/.cutover/staging")" "nothing left staged"
assert_eq "version: v2" "$(page_version)" "GET / after the failing before_switch hook"
assert_file_absent "$MARK/hook-after" "no after_switch hook ran"

step "a failing after_switch hook: the release is live, and the message says so"
laravel_config "[hooks]" "after_switch = exit 5"
laravel_version v5 v1
run laravel_deploy v5 -q
V5=$(release_of v5)
assert_hook_failed 1 "release $V5 is live" "the message says the new release is live"
assert_contains "$ERR" "after_switch hook 1 'exit 5' failed with exit code 5" "the message names the hook and its exit code"
assert_eq "$V5" "$(current_id)" "current after the failing after_switch hook"
assert_eq "version: v1" "$(page_version)" "GET / serves the new release"
http_request GET /up
assert_eq "200 OK" "$HTTP_STATUS $HTTP_BODY" "GET /up on the new release"
