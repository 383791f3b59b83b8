#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Help where people look for it (issue 13): --help, help, help VERB,
# VERB --help and -h, --version print on stdout and exit 0, without root,
# a config or an app. The whole command line is checked before the config
# is loaded: a typo next to a config that does not exist is reported as
# the typo.
. "$(dirname "$0")/lib.sh"

scratch_new S
chmod 755 "$S"
cp "$CUTOVER_BIN" "$S/cutover" && chmod 755 "$S/cutover" || fatal "cannot copy the binary"

# helps WHAT NEEDLE CMD...: exit 0, NEEDLE on stdout, nothing on stderr.
helps()
{
	local what=$1 needle=$2

	shift 2
	step "$what"
	run "$@"
	assert_eq 0 "$RC" "$what exits 0" || printf '%s\n' "$(it_last_output)"
	assert_contains "$OUT" "$needle" "$what prints its help on stdout"
	assert_eq "" "$ERR" "$what prints nothing on stderr"
}

helps "--help" "usage: cutover" cutover --help
helps "-h" "usage: cutover" cutover -h
helps "help" "usage: cutover" cutover help
helps "help deploy" "usage: cutover deploy APP --from SOURCE" cutover help deploy
helps "deploy --help" "--dry-run" cutover deploy --help
helps "switch -h" "unique prefix" cutover switch -h
helps "-q help rollback" "usage: cutover rollback" cutover -q help rollback
helps "help with a missing config" "usage: cutover list" cutover -c /nonexistent/x.conf help list
for v in deploy stage switch rollback list status prune check mount verify; do
	helps "help $v" "usage: cutover $v" cutover help "$v"
done
helps "--version" "cutover " cutover --version

step "help as a user who is not root"
run runuser -u nobody -- "$S/cutover" help deploy
assert_eq 0 "$RC" "help as nobody exits 0" || printf '%s\n' "$(it_last_output)"
assert_contains "$OUT" "--label TEXT" "help deploy as nobody"
run runuser -u nobody -- "$S/cutover" status --help
assert_eq 0 "$RC" "status --help as nobody exits 0"
assert_contains "$OUT" "usage: cutover status" "status --help as nobody"

# refused WHAT NEEDLE CMD...: exit 2, one "cutover: " line holding NEEDLE.
refused()
{
	local what=$1 needle=$2

	shift 2
	step "$what"
	run "$@"
	assert_usage_error
	assert_contains "$ERR" "$needle" "the message for $what"
}

refused "help of an unknown verb" "unknown verb 'frobnicate'" cutover help frobnicate
refused "help with an extra argument" "unexpected argument 'x'" cutover help list x
refused "a typo next to a missing config" "unknown option '--dry-run-typo'" \
	cutover -c /nonexistent/x.conf deploy shop --from . --dry-run-typo
refused "the typo names the verb's help" "cutover help deploy" \
	cutover -c /nonexistent/x.conf deploy shop --from . --dry-run-typo
refused "--dry-run is for deploy only" "unknown option '--dry-run'" \
	cutover -c /nonexistent/x.conf stage shop --from . --dry-run
refused "a bad label next to a missing config" "--label 'a b'" \
	cutover -c /nonexistent/x.conf deploy shop --from . --label 'a b'
refused "a missing --from next to a missing config" "deploy needs --from" \
	cutover -c /nonexistent/x.conf deploy shop
step "not root, with a typo: the typo"
run runuser -u nobody -- "$S/cutover" deploy shop --from . --bogus
assert_usage_error
assert_contains "$ERR" "unknown option '--bogus'" "the typo, not 'must be run as root'"
step "not root, a good line: must be root"
run runuser -u nobody -- "$S/cutover" list shop
assert_usage_error
assert_contains "$ERR" "must be run as root" "a good line as nobody"
