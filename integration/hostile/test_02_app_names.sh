#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 2: app names from the CI user through sudo, under a
# careless rule that lets any argument through (dist/sudoers.example
# would not even let sudo run these): "../x", "Shop", "a b", 64 and 300
# bytes, a newline with an escape sequence, "-c", and a well-formed name
# whose /etc/cutover/NAME.conf does not exist. Each is a usage or
# configuration error (exit 2, exactly one "cutover: " line, control
# characters escaped), for deploy and for status, and nothing is created:
# not in /etc/cutover, not next to the app, not in the app's root.
. "$(dirname "$0")/../lib.sh"

hostile_app_init
sudo_rule_install --any
before=$(app_state)
etc_before=$(dir_list /etc/cutover)
scratch_before=$(dir_list "$S")
missing=$(app_name_new)

names=('../x' 'Shop' 'a b' "$(printf 'a%.0s' {1..64})" "$(printf 'b%.0s' {1..300})"
	$'x\n\e[31mred' '-c' "$missing")
shown=('../x' 'Shop' "'a b'" '64 bytes' '300 bytes' 'a newline and an escape sequence' '-c'
	'an app without a config')
needles=('not a valid app name' 'not a valid app name' 'not a valid app name'
	'not a valid app name' 'not a valid app name' 'x\n\x1b[31mred' 'not a valid app name'
	"/etc/cutover/$missing.conf")

cases=0
for i in "${!names[@]}"; do
	for verb in deploy status; do
		step "$verb ${shown[i]}"
		if [[ $verb == deploy ]]; then
			run ci_cutover deploy "${names[i]}" --from "$SRC"
		else
			run ci_cutover status "${names[i]}"
		fi
		assert_refused 2 "${needles[i]}" "$verb ${shown[i]}"
		cases=$((cases + 1))
	done
	# Only what this name could have made: another suite running on the
	# machine may add and remove its own configs meanwhile.
	for f in "/etc/cutover/${names[i]}.conf" "/etc/cutover/${names[i]}" "/etc/${names[i]#../}.conf"; do
		[[ $etc_before == *"${f##*/}"* ]] || assert_file_absent "$f" "after ${shown[i]}: nothing at $f"
	done
	assert_eq "$scratch_before" "$(dir_list "$S")" "the scratch dir after ${shown[i]}"
	assert_app_unchanged "$before" "after ${shown[i]}"
done
assert_file_absent "/etc/x" "nothing is created at /etc/x"
assert_file_absent "/etc/cutover/../x.conf"
assert_serving_php "after the bad app names"
echo "cases: $cases"
