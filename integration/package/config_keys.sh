#!/bin/bash
# SPDX-License-Identifier: MIT
#
# integration/package/config_keys.sh CONFIG_C MAN_PAGE EXAMPLE: every
# configuration key that src/common/config.c accepts is documented in
# cutover.conf(5) and shown in the example config, and neither names a
# key that config.c does not accept.
#
# config.c has no key table: each section has a handler,
# handle_SECTION(), that compares the key's name with strcmp(name, "KEY").
# Those are the keys; the sections are the handlers named in handler().
# A section's handler may hand some keys on to handle_SECTION_PART().
# In the man page a key is the first word of the line after a .TP inside
# ".SH [SECTION]"; in the example it is "KEY =" or ";KEY =" at the start
# of a line under "[SECTION]" (or ";[SECTION]", a section left out).
#
# Prints one line per difference and exits 1 if there is any; prints the
# number of keys and exits 0 otherwise.
set -euo pipefail

(($# == 3)) || { echo "usage: $0 CONFIG_C MAN_PAGE EXAMPLE" >&2; exit 2; }
config_c=$1 man=$2 example=$3

# SECTION.KEY lines, sorted, of each source.
keys_config()
{
	awk '
		/^static int handle_[a-z_]+\(/ {
			sec = $3; sub(/^handle_/, "", sec); sub(/\(.*/, "", sec); sub(/_.*/, "", sec); next
		}
		/^}/ { sec = "" }
		sec != "" {
			line = $0
			while (match(line, /strcmp\(name, "[a-z_]+"\)/)) {
				k = substr(line, RSTART + 14, RLENGTH - 16)
				print sec "." k
				line = substr(line, RSTART + RLENGTH)
			}
		}' "$1" | LC_ALL=C sort -u
}

keys_man()
{
	awk '
		/^\.SH / { sec = ""; if (match($0, /^\.SH \[[a-z]+\]/)) sec = substr($0, 6, RLENGTH - 6); next }
		/^\.TP/ { tp = 1; next }
		tp && sec != "" {
			w = $2; gsub(/"/, "", w)
			if (w ~ /^[a-z_]+$/) print sec "." w
		}
		{ tp = 0 }' "$1" | LC_ALL=C sort -u
}

keys_example()
{
	awk '
		/^;?\[[a-z]+\]/ { sec = $1; sub(/^;?\[/, "", sec); sub(/\].*/, "", sec); next }
		match($0, /^;?[a-z_]+[ \t]*=/) {
			k = substr($0, 1, RLENGTH); sub(/^;/, "", k); sub(/[ \t]*=$/, "", k)
			if (sec != "") print sec "." k
		}' "$1" | LC_ALL=C sort -u
}

# The sections handler() dispatches to, as a cross-check of the parse.
sections_config()
{
	sed -n 's/^[[:space:]]*return handle_\([a-z]*\)(st, name, value);$/\1/p' "$1" | LC_ALL=C sort -u
}

want=$(keys_config "$config_c")
[[ -n $want ]] || { echo "no key found in $config_c: has its form changed?"; exit 1; }
bad=0
have_secs=$(cut -d. -f1 <<<"$want" | LC_ALL=C sort -u)
if [[ $have_secs != "$(sections_config "$config_c")" ]]; then
	echo "the handle_SECTION functions ($(paste -sd' ' - <<<"$have_secs")) are not the sections handler() dispatches to ($(sections_config "$config_c" | paste -sd' ' -))"
	bad=1
fi
for f in man example; do
	file=$man
	[[ $f == example ]] && file=$example
	got=$(keys_$f "$file")
	while read -r k; do
		[[ -n $k ]] && echo "${file##*/}: key [${k%%.*}] ${k#*.} of config.c is missing" && bad=1
	done < <(LC_ALL=C comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
	while read -r k; do
		[[ -n $k ]] && echo "${file##*/}: key [${k%%.*}] ${k#*.} is not one config.c accepts" && bad=1
	done < <(LC_ALL=C comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
done
((bad == 0)) || exit 1
echo "$(wc -l <<<"$want") keys in $(wc -l <<<"$have_secs") sections, each in ${man##*/} and ${example##*/}"
