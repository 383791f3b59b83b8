#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Honest defaults (issue 13). With -q, the output of what failed is still
# shown: a build step's, and a git fetch's (its error no longer says "see
# its output above" about output it hid). Without an [fpm] section, check
# and deploy warn that php-fpm is not reloaded; [fpm] reload = none alone
# says it on purpose: accepted, no warning.
. "$(dirname "$0")/lib.sh"

app_init "run = echo step-said-this-before-failing; exit 3"

step "-q: a failed build step's output"
run co -q deploy --from "$SRC"
assert_error_line 1
assert_contains "$ERR" "step-said-this-before-failing" "the step's output under -q"

step "-q: a failed git fetch's output"
app_config "$CONF" "$ROOT"
git_scratch_dir repo
cp -a "$SRC/." "$repo/" || fatal "cannot copy the source"
git -C "$repo" -c user.name=it -c user.email=it@example.invalid init -q -b main >/dev/null 2>&1 &&
	git -C "$repo" add -A && git -C "$repo" -c user.name=it -c user.email=it@example.invalid commit -q -m v1 >/dev/null ||
	fatal "cannot make the git repository"
chown -R nobody:nogroup "$repo"
run co -q deploy --from "git+file://$repo#no-such-branch"
assert_eq 1 "$RC" "a fetch of a missing branch fails" || printf '%s\n' "$(it_last_output)"
assert_contains "$ERR" "git fetch failed (see its output above)" "the error"
assert_contains "$ERR" "last output of the failed step" "git's output is shown under -q"
assert_contains "$ERR" "no-such-branch" "git's own words name the branch"

step "no [fpm]: check warns"
run co check
assert_eq 0 "$RC" "check still passes" || printf '%s\n' "$(it_last_output)"
assert_contains "$ERR" "php-fpm is not reloaded: no [fpm] section; set [fpm] reload = none to say so on purpose" "check's warning"
run co --json check
assert_contains "$(printf '%s' "$OUT" | jq -r '.problems[]')" "no [fpm] section" "check --json lists the warning"

step "no [fpm]: deploy warns"
assert_ok co deploy --from "$SRC"
assert_contains "$ERR" "warning: php-fpm is not reloaded: no [fpm] section" "deploy's warning"

step "[fpm] reload = none: on purpose, no warning"
app_config "$CONF" "$ROOT" "run = true" "[fpm]" "reload = none"
run co check
assert_eq 0 "$RC" "check with reload = none alone passes" || printf '%s\n' "$(it_last_output)"
assert_not_contains "$ERR" "no [fpm] section" "no warning from check"
set_index "$SRC" v2
assert_ok co deploy --from "$SRC"
assert_not_contains "$ERR" "no [fpm] section" "no warning from deploy"
assert_file_content "$ROOT/current/public/index.php" '<?php echo "v2";' "deployed with reload = none"
