#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 1: release id arguments of switch and rollback, from
# the CI user through sudo (the rule of dist/sudoers.example: "switch
# APP *" lets any argument through). "../../etc", "/etc", "", ".", "..",
# "a/b", an id with a newline, a 65-byte id, "--help" and "-rf" are each
# refused as a usage error: exit 2, exactly one "cutover: " line (the
# newline shown escaped), nothing on stdout; current, what it serves,
# releases/, the staging and state directories and the mounts unchanged.
# A well-formed id that names no release, and a rollback with nothing to
# roll back to, fail with exit 1, changing nothing.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
before=$(app_state)

long=$(printf 'a%.0s' {1..65})
ids=('../../etc' '/etc' '' '.' '..' 'a/b' $'20261126T000000Z\nevil' "$long" '--help' '-rf')
shown=('../../etc' '/etc' '(empty)' '.' '..' 'a/b' 'an id with a newline' 'a 65-byte id' '--help' '-rf')
needles=('not a valid release id' 'not a valid release id' 'not a valid release id'
	'not a valid release id' 'not a valid release id' 'not a valid release id'
	'20261126T000000Z\nevil' 'not a valid release id' 'unknown option' 'unknown option')

cases=0
for verb in switch rollback; do
	for i in "${!ids[@]}"; do
		step "$verb ${shown[i]}"
		run ci_cutover "$verb" "$APP" "${ids[i]}"
		assert_refused 2 "${needles[i]}" "$verb ${shown[i]}"
		assert_app_unchanged "$before" "after $verb ${shown[i]}"
		cases=$((cases + 1))
	done
done

step "switch to a well-formed id of no release (64 bytes)"
run ci_cutover switch "$APP" "$(printf 'b%.0s' {1..64})"
assert_refused 1 "" "switch to a release that does not exist"
assert_app_unchanged "$before" "after switching to a release that does not exist"

step "rollback with nothing to roll back to"
run ci_cutover rollback "$APP"
assert_refused 1 "" "rollback without a previous release"
assert_app_unchanged "$before" "after a rollback without a previous release"

assert_eq "$GOOD_ID" "$(current_id)" "current after all the refused ids"
assert_serving_php "after all the refused ids"
echo "cases: $((cases + 2))"
