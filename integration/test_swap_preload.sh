#!/bin/bash
# SPDX-License-Identifier: MIT
#
# reload = swap with [fpm] preload: each release's own master preloads
# that release's script (opcache.preload on php-fpm's command line, given
# by fpm-exec), so a function defined only in the preload script exists
# in every request of that release, with that release's code, which no
# reload of one shared master can offer. A preload script that fails
# makes the new master fail to start: the deploy fails before the switch
# and the live site is unchanged.
. "$(dirname "$0")/lib.sh"
swap_env_enter "$@"

SWAP_FPM=(fpm.keep_warm=0 fpm.preload=config/preload.php)
swap_app_init

# preload_version LABEL BODY: the test app's LABEL with a preload script
# whose function returns "preloaded-LABEL" (BODY replaces it if given),
# and an index.php that prints what the function returns.
preload_version()
{
	local label=$1
	app_version "$label"
	mkdir -p "$SRCS/$label/config"
	printf '<?php\nfunction cutover_preloaded() { return "preloaded-%s"; }\n%s\n' "$label" "${2:-}" \
		> "$SRCS/$label/config/preload.php"
	printf '<?php echo function_exists("cutover_preloaded") ? cutover_preloaded() : "none", "\\n";\n' \
		> "$SRCS/$label/public/p.php"
}

step "each release's master preloads its own script"
preload_version v0
assert_ok deploy_version v0 -q || fatal "the first deploy failed"
assert_eq "preloaded-v0" "$(served /p.php)" "v0's preloaded function"
preload_version v1
assert_ok deploy_version v1 -q
assert_eq "preloaded-v1" "$(served /p.php)" "v1's preloaded function, from v1's own master"
pid=$(swap_master_pid demo "$(readlink "$LIVE_SOCK" | sed 's/^demo\.\(.\).*/\1/')")
tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q . || fail "no live master"

step "a preload script that fails: the new master does not start, nothing changes"
preload_version v2 'throw new Exception("preload failed on purpose");'
run deploy_version v2 -q
assert_ne 0 "$RC" "the deploy failed"
assert_contains "$ERR" "the live site is unchanged" "the error says the site is unchanged"
assert_eq "preloaded-v1" "$(served /p.php)" "v1 is still served, preloaded"
