# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/assert.sh: the assertions. Each prints what was
# expected and what happened, counts a failure (fail, lib/core.sh) and
# returns 1; none stops the test.

# assert_exit CODE CMD...: runs CMD (see run) and checks its exit code.
assert_exit()
{
	local want=$1

	shift
	run "$@"
	[[ $RC == "$want" ]] && return 0
	fail "expected exit code $want from: $*" "$(it_last_output)"
}

assert_ok()
{
	assert_exit 0 "$@"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq()
{
	[[ $1 == "$2" ]] && return 0
	fail "${3:-values differ}" "expected: '$1'" "actual:   '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne()
{
	[[ $1 != "$2" ]] && return 0
	fail "${3:-values are equal}" "expected anything but: '$1'"
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains()
{
	[[ $1 == *"$2"* ]] && return 0
	fail "${3:-text does not contain: $2}" "expected to contain: '$2'" "actual text:" "$1"
}

# assert_not_contains HAYSTACK NEEDLE WHAT
assert_not_contains()
{
	[[ $1 != *"$2"* ]] && return 0
	fail "${3:-text contains: $2}" "expected not to contain: '$2'" "actual text:" "$1"
}

# assert_match STRING ERE WHAT
assert_match()
{
	[[ $1 =~ $2 ]] && return 0
	fail "${3:-text does not match /$2/}" "expected to match: /$2/" "actual: '$1'"
}

# assert_lt A B WHAT: integers, A < B.
assert_lt()
{
	(($1 < $2)) && return 0
	fail "${3:-$1 is not less than $2}" "expected: $1 < $2"
}

assert_file_absent()
{
	[[ ! -e $1 && ! -L $1 ]] && return 0
	fail "${2:-$1 should not exist}" "found: $(ls -ld "$1" 2>&1)"
}

assert_file_exists()
{
	[[ -e $1 || -L $1 ]] && return 0
	fail "${2:-$1 should exist}" "missing: $1"
}

# assert_file_content FILE TEXT WHAT
assert_file_content()
{
	local got

	got=$(cat "$1" 2>&1) || { fail "${3:-cannot read $1}" "$got"; return 1; }
	assert_eq "$2" "$got" "${3:-content of $1}"
}

assert_dir_empty()
{
	local l

	l=$(dir_list "$1")
	[[ -d $1 && -z $l ]] && return 0
	fail "${2:-$1 should be an empty directory}" "found: '$l'$([[ -d $1 ]] || printf ' (no such directory)')"
}

# assert_error_line CODE: the last run exited CODE, printed nothing on
# stdout, and exactly one "cutover: " line on stderr (the other stderr
# lines are progress).
assert_error_line()
{
	local want=$1 n

	[[ $RC == "$want" ]] || { fail "expected exit code $want" "$(it_last_output)"; return 1; }
	n=$(printf '%s\n' "$ERR" | grep -c '^cutover: ')
	[[ $n == 1 ]] || { fail "expected exactly one 'cutover: ...' line on stderr, got $n" "$(it_last_output)"; return 1; }
	[[ -z $OUT ]] || { fail "expected nothing on stdout" "$(it_last_output)"; return 1; }
}

# assert_usage_error: the last run exited 2 with stderr exactly one
# "cutover: " line and nothing on stdout.
assert_usage_error()
{
	local n

	[[ $RC == 2 ]] || { fail "expected exit code 2" "$(it_last_output)"; return 1; }
	n=$(printf '%s' "$ERR" | grep -c '')
	[[ $n == 1 && $ERR == "cutover: "* ]] ||
		{ fail "expected stderr to be exactly one 'cutover: ...' line, got $n line(s)" "$(it_last_output)"; return 1; }
	[[ -z $OUT ]] || { fail "expected nothing on stdout" "$(it_last_output)"; return 1; }
}

# assert_tree_same SNAPSHOT ROOT WHAT: ROOT looks as when snapshotted.
assert_tree_same()
{
	local now

	now=$(tree_snapshot "$2")
	[[ $1 == "$now" ]] && return 0
	fail "${3:-$2 changed}" "diff (- before, + after):" \
		"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
}

# assert_manifest_ok ROOT ID: the release verifies against its manifest.
assert_manifest_ok()
{
	local out

	out=$(cd "$1/releases/$2" && sha256sum --quiet --strict -c "$1/.cutover/manifest/$2.sha256" 2>&1) &&
		return 0
	fail "release $2 does not match its manifest" "$out"
}

# assert_no_procs DIR WHAT [SECONDS]: within SECONDS (default 5), no
# process runs in or on DIR.
assert_no_procs()
{
	local left

	wait_for "${3:-5}" no_procs_on "$1" && return 0
	left=$(procs_on "$1")
	[[ -z $left ]] && return 0
	fail "${2:-processes still running in $1}" "$left"
}
