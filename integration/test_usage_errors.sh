#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Usage and configuration errors exit 2 with exactly one "cutover: " line
# on stderr, nothing on stdout, and nothing created: unknown verb, bad app
# name "../x", missing --from, -c without a file, an unknown key or
# section (message has FILE:LINE), a missing required key, a config that
# is group- or other-writable, not root-owned, a symlink, below a
# group-writable directory, or missing. `check` on a good config passes
# and, as documented, changes nothing.
. "$(dirname "$0")/lib.sh"

app_init

# usage_error WHAT NEEDLE CMD...: CMD must fail as a usage error whose
# message contains NEEDLE.
usage_error()
{
	local what=$1 needle=$2

	shift 2
	step "$what"
	run "$@"
	assert_usage_error
	assert_contains "$ERR" "$needle" "the message for $what"
	# A usage or config error changes nothing, not even creating ROOT.
	assert_file_absent "$ROOT" "after $what: the app root must not be created" ||
		rm -rf "$ROOT"
}

usage_error "unknown verb" "frobnicate" cutover -c "$CONF" frobnicate demo
usage_error "bad app name ../x" "../x" cutover -c "$CONF" list ../x
usage_error "bad app name with a capital" "Demo" cutover -c "$CONF" list Demo
usage_error "deploy without --from" "--from" cutover -c "$CONF" deploy demo
usage_error "-c without a file" "-c" cutover -c
usage_error "unknown option" "--frobnicate" cutover -c "$CONF" list demo --frobnicate
usage_error "switch to an id that is not an id" "../x" cutover -c "$CONF" switch demo ../x

# bad_config NAME LINE...: writes $S/NAME.conf (root, 0644) from the lines.
bad_config()
{
	local f=$S/$1.conf

	shift
	printf '%s\n' "$@" >"$f"
	chmod 0644 "$f"
}
good=("[app]" "root = $ROOT" "user = nobody" "group = nogroup" "web_group = www-data")

bad_config unknown-key "${good[@]}" "colour = blue" "[build]" "run = true"
usage_error "unknown key" "$S/unknown-key.conf:6" cutover -c "$S/unknown-key.conf" check demo
assert_contains "$ERR" "colour" "the unknown key is named"

bad_config unknown-section "${good[@]}" "[deploy]" "run = true"
usage_error "unknown section" "$S/unknown-section.conf:6" cutover -c "$S/unknown-section.conf" check demo

bad_config missing-user "[app]" "root = $ROOT" "group = nogroup" "web_group = www-data"
usage_error "missing user =" "user" cutover -c "$S/missing-user.conf" check demo

bad_config group-writable "${good[@]}"
chmod 0664 "$S/group-writable.conf"
usage_error "group-writable config" "writable" cutover -c "$S/group-writable.conf" check demo

bad_config other-writable "${good[@]}"
chmod 0646 "$S/other-writable.conf"
usage_error "other-writable config" "writable" cutover -c "$S/other-writable.conf" check demo

bad_config not-root "${good[@]}"
chown nobody "$S/not-root.conf"
usage_error "config not owned by root" "root" cutover -c "$S/not-root.conf" check demo

mkdir -m 0775 "$S/gw"
cp "$CONF" "$S/gw/app.conf"
usage_error "config below a group-writable directory" "$S/gw" cutover -c "$S/gw/app.conf" check demo

ln -s "$CONF" "$S/link.conf"
usage_error "config is a symlink" "symlink" cutover -c "$S/link.conf" check demo

usage_error "-c names a missing file" "$S/missing.conf" cutover -c "$S/missing.conf" check demo

step "the good config itself passes check, which changes nothing"
assert_ok cutover -c "$CONF" check demo
assert_file_absent "$ROOT" "check (\"change nothing\") must not create the app root"

step "descriptors the caller leaves open do not reach the helper"
# fd 3 open in the caller: the launcher closes it, and the helper's socket
# goes there; its executable must not have been opened on fd 3 first.
assert_ok cutover -c "$CONF" check demo 3</dev/null
assert_ok cutover -c "$CONF" check demo 3</dev/null 4</dev/null 5</dev/null
