#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Visitors of the bundled Laravel app keep their sessions and forms across
# deploys (sessions in the shared storage, cookies encrypted with the
# APP_KEY of the shared .env):
#
#  1. log in on v1 (POST /login with the CSRF token of GET /login, cookies
#     kept in a jar); deploy v2, then v1 again (label v1b), under load on
#     /probe (no failed, torn or stale request); GET /me with the same
#     cookies still shows the name, and so does a request on each release
#     in between.
#  2. GET /note for a CSRF token, deploy (v2 again, label v2b), then POST
#     /note with that token: 302 to / (not 419), and the note is in the
#     database with the author given.
. "$(dirname "$0")/lib.sh"

NAME=alice-$(random_hex 6)

# me_name JAR: the name GET /me shows for the session in JAR.
me_name()
{
	http_request GET /me "$1"
	sed -n 's/.*name: \([^<[:space:]]*\).*/\1/p' <<<"$HTTP_BODY" | head -n 1
}

laravel_app_init

step "v1, and a login"
assert_ok laravel_deploy v1 -q || fatal "the first deploy failed"
switch_logged v1
V1=$(release_of v1)
assert_eq "$V1" "$(current_id)" "current after deploying v1"
http_request GET /login alice
TOKEN=$(csrf_token)
[[ $HTTP_STATUS == 200 && -n $TOKEN ]] || fatal "GET /login gave no CSRF token (status $HTTP_STATUS)"
http_request POST /login alice "_token=$TOKEN" "name=$NAME"
assert_eq 302 "$HTTP_STATUS" "POST /login with the CSRF token"
assert_eq "$URL/me" "$HTTP_LOCATION" "POST /login redirects to /me"
assert_eq "$NAME" "$(me_name alice)" "GET /me on v1 after logging in"
http_request GET /me
assert_contains "$HTTP_BODY" "not logged in" "GET /me without the cookies"
sessions=$(find "$ROOT/shared/storage/framework/sessions" -type f ! -name '.gitignore' | wc -l)
assert_lt 0 "$sessions" "session files in the shared storage"

step "two deploys under load; the session survives both"
echo v1 >"$S/expect"
load_start PROBE /probe --connections 6 --switch-log "$SWITCH_LOG" --switch-grace 4000 \
	--expect-marker-file "$S/expect"
sleep 1
laravel_version v2
run laravel_deploy v2 -q
((RC == 0)) && switch_logged v2
[[ $RC == 0 ]] || fail "deploy v2 under load exited $RC" "$(it_last_output)"
assert_eq "$(release_of v2)" "$(current_id)" "current after deploying v2"
assert_eq "$NAME" "$(me_name alice)" "GET /me on v2"
assert_eq "version: v2" "$(page_version)" "GET / after deploying v2"
sleep 1
laravel_version v1b v1
run laravel_deploy v1b -q
# loadgen knows releases by what /probe prints: v1b prints v1.
((RC == 0)) && switch_logged v1
[[ $RC == 0 ]] || fail "deploy v1b under load exited $RC" "$(it_last_output)"
assert_eq "$(release_of v1b)" "$(current_id)" "current after deploying v1b"
sleep 1
load_stop "$PROBE"
printf 'on /probe: %s\n' "$LOAD_SUMMARY"
assert_load_clean "two deploys under load"
assert_eq 3 "$(load_key switches)" "switch log lines loadgen read"
assert_eq "$NAME" "$(me_name alice)" "GET /me with the same cookies after both deploys"
assert_eq "version: v1" "$(page_version)" "GET / after deploying v1b"

step "a form loaded before a deploy is accepted after it"
http_request GET /note alice
FORM_TOKEN=$(csrf_token)
[[ $HTTP_STATUS == 200 && -n $FORM_TOKEN ]] || fatal "GET /note gave no CSRF token (status $HTTP_STATUS)"
assert_not_contains "$HTTP_BODY" 'name="author"' "v1's form has no author field"
laravel_version v2b v2
assert_ok laravel_deploy v2b -q
assert_eq "$(release_of v2b)" "$(current_id)" "current after deploying v2b"
BODY=note-$(random_hex 8)
http_request POST /note alice "_token=$FORM_TOKEN" "body=$BODY" "author=$NAME"
assert_eq 302 "$HTTP_STATUS" "POST /note with a token from the previous release (419 = token lost)"
assert_eq "$URL/" "$HTTP_LOCATION" "POST /note redirects to /"
assert_eq "$BODY|$NAME" "$(db_query "SELECT body, author FROM notes WHERE body = '$BODY'")" \
	"the note is in the database, with its author"
page=$(curl -s --max-time 10 "$URL/")
assert_contains "$page" "$BODY" "the note is on the home page"
assert_eq "$NAME" "$(me_name alice)" "GET /me after the third deploy"

step "without the token the form is refused (419), also after deploys"
http_request POST /note alice "body=no-token"
assert_eq 419 "$HTTP_STATUS" "POST /note without _token"
assert_eq 0 "$(db_query "SELECT count(*) FROM notes WHERE body = 'no-token'")" "no note stored without the token"
