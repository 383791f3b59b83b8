#!/bin/bash
# SPDX-License-Identifier: MIT
#
# --json (issue 12, docs/cutover.8 JSON OUTPUT): every verb prints exactly
# one JSON document on stdout for every outcome, --json anywhere on the
# command line. Each case checks with jq: one document and nothing else on
# stdout, the envelope keys in order with their types, .exit equal to the
# exit code, .ok, .error.code, and where the live site stood before and
# after. Outcomes: success, usage and configuration errors, help and
# --version, an unknown release, locked, a failed build, a destructive
# migration refused, a failed health check with automatic rollback
# (exit 3), verify with differences, the helper lost, SIGTERM.
. "$(dirname "$0")/lib.sh"

ENVELOPE='cutover verb app ok exit changed error current_before current_after'

# jdoc WHAT CODE BEFORE AFTER [CHANGED]: $OUT (of the last `run`) is one
# JSON object with the envelope; CODE is .error.code ("null" for
# success), BEFORE and AFTER the live release ids ("null": none);
# CHANGED (true/false) if given.
jdoc()
{
	local what=$1 code=$2 before=$3 after=$4 changed=${5:-}

	assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c '')" "$what: one line on stdout" || {
		printf '%s\n' "$OUT" | head -n 5 >&2
		return
	}
	assert_eq 1 "$(jq -s length <<<"$OUT" 2>&1)" "$what: exactly one JSON document" || return
	assert_eq object "$(jq -r type <<<"$OUT")" "$what: an object"
	assert_eq "$ENVELOPE" "$(jq -r 'keys_unsorted[0:9] | join(" ")' <<<"$OUT")" "$what: the envelope, in order"
	assert_match "$(jq -r '[.cutover, .verb, .app, .ok, .exit, .changed, .error, .current_before, .current_after]
			| map(type) | join(" ")' <<<"$OUT")" \
		'^number (string|null) (string|null) boolean number boolean (object|null) (string|null) (string|null)$' \
		"$what: the envelope's types"
	assert_eq "1 $RC $([[ $RC == 0 ]] && echo true || echo false)" "$(jq -r '"\(.cutover) \(.exit) \(.ok)"' <<<"$OUT")" \
		"$what: .exit is the exit code ($RC), .ok"
	assert_eq "$code" "$(jq -r '.error.code // "null"' <<<"$OUT")" "$what: .error.code" || printf '%s\n' "$ERR" >&2
	if [[ $code != null ]]; then
		assert_eq string "$(jq -r '.error.message | type' <<<"$OUT")" "$what: .error.message"
		# the message is the last error line on stderr, without "cutover: "
		[[ $code == interrupted || $code == verify_failed || $code == config && $what == check* ]] ||
			assert_contains "$ERR" "cutover: $(jq -r .error.message <<<"$OUT")" "$what: the message is stderr's"
	fi
	assert_eq "$before $after" "$(jq -r '"\(.current_before) \(.current_after)"' <<<"$OUT")" \
		"$what: current_before and current_after"
	[[ -z $changed ]] || assert_eq "$changed" "$(jq -r .changed <<<"$OUT")" "$what: changed"
}

web_app_init
web_app_config health.precheck=no health.retries=1
BASE_CONF=$(cat "$CONF")

step "usage and configuration errors, --json anywhere"
run cutover --json
jdoc "no verb" usage null null false
assert_eq null "$(jq -r .verb <<<"$OUT")" "no verb: verb null"
run cutover deploy --json
jdoc "deploy without APP" usage null null false
assert_eq "deploy null" "$(jq -r '"\(.verb) \(.app)"' <<<"$OUT")" "deploy without APP: the verb, no app"
run cutover -c "$CONF" bogus "$APP" --json
jdoc "unknown verb" usage null null false
run co status --bogus --json
jdoc "unknown option" usage null null false
assert_eq "status $APP" "$(jq -r '"\(.verb) \(.app)"' <<<"$OUT")" "unknown option: verb and app"
run co --json deploy
jdoc "deploy without --from" usage null null false
run cutover -c "$S/missing.conf" --json status "$APP"
jdoc "missing config" config null null false
run cutover --json status nosuch-app-json-test
jdoc "no config for the app" config null null false

step "help and --version"
run cutover --json --help
jdoc "--help" null null null false
assert_contains "$(jq -r .text <<<"$OUT")" "usage: cutover" "--help: the text inside"
run cutover help deploy --json
jdoc "help deploy" null null null false
assert_contains "$(jq -r .text <<<"$OUT")" "usage: cutover deploy" "help deploy: the verb's text"
run cutover --version --json
jdoc "--version" null null null false
assert_match "$(jq -r .version <<<"$OUT")" '^[0-9]' "--version: the version"

step "deploy: the first, then a second"
app_version v1 >/dev/null
run deploy_version v1 --json
V1=$(release_of v1)
jdoc "first deploy" null null "$V1" true
assert_eq "$V1 null false" "$(jq -r '"\(.release) \(.previous) \(.dry_run)"' <<<"$OUT")" "first deploy: release, previous, dry_run"
assert_eq "true true" "$(jq -r '[.steps[].name] | "\(index("freeze") != null) \(index("switch") != null)"' <<<"$OUT")" \
	"first deploy: its steps"
run co deploy --from "$SRCS/v1" --label v2 -q --json
V2=$(release_of v2)
jdoc "second deploy (-q --json after the verb)" null "$V1" "$V2" true
assert_eq "$V2 $V1" "$(jq -r '"\(.release) \(.previous)"' <<<"$OUT")" "second deploy: release and previous"

step "read-only verbs"
for verb in status list history check verify; do
	run co "$verb" --json
	jdoc "$verb" null "$V2" "$V2" false
done
run co list --json
assert_eq "$(sorted "$V1" "$V2")" "$(jq -r '.releases[].id' <<<"$OUT" | LC_ALL=C sort | paste -sd' ' -)" "list: releases"
assert_eq "$V2" "$(jq -r '.releases[] | select(.current) | .id' <<<"$OUT")" "list: the current one"
assert_eq "v2" "$(jq -r --arg id "$V2" '.releases[] | select(.id == $id) | .label' <<<"$OUT")" "list: the label"
run co --json history
assert_eq array "$(jq -r '.events | type' <<<"$OUT")" "history: events"
run co --json status
assert_eq "$V2 $V1" "$(jq -r '"\(.current) \(.previous)"' <<<"$OUT")" "status: its keys beside the envelope"
run co --json log "$V2"
jdoc "log" null "$V2" "$V2" false
run co --json deploy --from "$SRCS/v1" --dry-run
jdoc "dry run" null "$V2" "$V2" false
assert_eq "true" "$(jq -r .dry_run <<<"$OUT")" "dry run: dry_run"

step "unknown release"
run co --json switch nosuch
jdoc "switch to an unknown release" not_found "$V2" "$V2" false
run co verify nosuch --json
jdoc "verify an unknown release" "$(jq -r '.error.code' <<<"$OUT")" "$V2" "$V2" false
assert_ne 0 "$RC" "verify an unknown release fails"
run co --json log nosuch
jdoc "log of an unknown release" not_found "$V2" "$V2" false

step "switch and rollback"
run co --json switch "$V1"
jdoc "switch" null "$V2" "$V1" true
assert_eq "$V1 $V2 symlink" "$(jq -r '"\(.release) \(.previous) \(.mode)"' <<<"$OUT")" "switch: release, previous, mode"
run co rollback --json
jdoc "rollback" null "$V1" "$V2" true

step "a failed build"
{ printf '%s\n' "$BASE_CONF" | sed 's/^run = true$/run = echo broken >\&2; exit 4/'; } >"$CONF"
run co --json deploy --from "$SRCS/v1"
jdoc "failed build" build_failed "$V2" "$V2" false
assert_match "$(jq -r .release <<<"$OUT")" '^[0-9]{8}T' "failed build: the release it made"

step "locked"
{ printf '%s\n' "$BASE_CONF" | sed 's/^run = true$/run = touch started; sleep 3/'; } >"$CONF"
in_build_step()
{
	compgen -G "$ROOT/.cutover/staging/*/started" >/dev/null
}
first=
bg first "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRCS/v1" --json
wait_for 15 in_build_step || { bg_wait "$first"; fatal "the first deploy never reached its build step" "$(it_last_output)"; }
run co deploy --json --from "$SRCS/v1"
jdoc "locked deploy" locked "$V2" "$V2" false
run co prune --json
jdoc "locked prune" locked "$V2" "$V2" false

step "SIGTERM during the build step"
kill -TERM "$first"
bg_wait "$first"
jdoc "SIGTERM" interrupted "$V2" "$V2" false
assert_no_procs "$ROOT" "no process of the interrupted build is left" 5

step "the helper lost during the build step"
bg first "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRCS/v1" --json
wait_for 15 in_build_step || { bg_wait "$first"; fatal "the deploy never reached its build step" "$(it_last_output)"; }
helper=
for p in $(pgrep -P "$first"); do
	if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^cutover-helper '; then
		helper=$p
	fi
done
[[ -n $helper ]] || fatal "no cutover-helper under cutover ($first)"
kill -KILL "$helper"
bg_wait "$first"
jdoc "helper lost" helper_lost "$V2" "$V2"
assert_no_procs "$ROOT" "no process of the build is left" 10
# what the helper left behind is removed by the next run
printf '%s\n' "$BASE_CONF" >"$CONF"
run co --json prune
jdoc "prune after the helper was lost" null "$V2" "$V2"

step "a destructive migration refused"
{ printf '%s\n' "$BASE_CONF"; printf '[migrate]\npretend = echo "drop table users"\nrun = true\n'; } >"$CONF"
run co --json deploy --from "$SRCS/v1"
jdoc "destructive migration" migration_refused "$V2" "$V2" false
printf '%s\n' "$BASE_CONF" >"$CONF"

step "a failed health check, rolled back (exit 3)"
break_up()
{
	app_version "$1" >/dev/null
	sed -i 's|^\techo "OK\\n";$|\thttp_response_code(500);\n\techo "DOWN\\n";|' "$SRCS/$1/public/index.php"
	grep -q 'http_response_code(500)' "$SRCS/$1/public/index.php" ||
		fatal "could not make /up of $1 answer 500 (has integration/testapp/make.sh changed?)"
}
break_up v3
run deploy_version v3 --json
assert_eq 3 "$RC" "the unhealthy deploy exits 3"
jdoc "health rollback" unhealthy_rolled_back "$V2" "$V2" true
assert_eq "$V2" "$(current_id)" "rolled back to v2"

step "health fails, rollback = no"
web_app_config health.precheck=no health.retries=1 health.rollback=no
run co deploy --from "$SRCS/v3" --label v4 --json
V4=$(release_of v4)
jdoc "unhealthy, no rollback" unhealthy "$V2" "$V4" true
web_app_config health.precheck=no health.retries=1
run co --json switch "$V2"
jdoc "switch back" null "$V4" "$V2" true

step "verify with differences"
printf 'tampered\n' >>"$ROOT/releases/$V4/public/index.php"
run co verify "$V4" --json
jdoc "verify with differences" verify_failed "$V2" "$V2" false
assert_lt 0 "$(jq -r '.differences | length' <<<"$OUT")" "verify: the differences"

step "prune"
run co --json prune --keep 1
jdoc "prune" null "$V2" "$V2" true
assert_lt 0 "$(jq -r '.removed | length' <<<"$OUT")" "prune: removed"
