#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What a build step runs with: no capabilities in any set, NoNewPrivs 1,
# a seccomp filter (Seccomp 2), nobody's uid and only its group, an
# environment rebuilt from nothing (PATH, HOME, LANG, CUTOVER_APP,
# CUTOVER_RELEASE, what sh adds, and the config's env= entries: nothing
# of the caller's, even under the same names), stdin /dev/null, output
# to a pipe, no file descriptor but 0, 1 and 2, and its own pid namespace.
. "$(dirname "$0")/lib.sh"

app_init 'env = APP_ENV=production' 'env = SECOND=two words' \
	'run = tr "\0" "\n" </proc/$$/environ >environ.txt' \
	'run = sh inspect.sh'
cat >"$SRC/inspect.sh" <<'SH'
cat /proc/self/status >status-child.txt
cat /proc/$PPID/status >status-step.txt
env >env.txt
id -u >uid.txt
id -G >groups.txt
readlink /proc/$PPID/fd/0 >stdin.txt
readlink /proc/$PPID/fd/1 >stdout.txt
ls /proc/$PPID/fd | sort -n | tr '\n' ' ' >fds.txt
head -c 1 | wc -c >stdin-bytes.txt
SH

step "deploy with a polluted caller environment"
assert_ok env FOO=leak BASH_ENV=/leak/env ENV=/leak/env \
	PATH="/leak/bin:$PATH" HOME=/root/leak LANG=xx_XX.leak APP_ENV=leak \
	CUTOVER_APP=forged CUTOVER_RELEASE=forged \
	"$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC" || fatal "deploy failed"
ID=$(current_id)
REL=$ROOT/releases/$ID

step "capabilities, NoNewPrivs, seccomp"
for who in step child; do
	f=$REL/status-$who.txt
	for field in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_eq 0000000000000000 "$(awk -v k="$field:" '$1 == k { print $2 }' "$f")" "$field of the build step ($who)"
	done
	assert_eq 1 "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$f")" "NoNewPrivs of the build step ($who)"
	assert_eq 2 "$(awk '$1 == "Seccomp:" { print $2 }' "$f")" "Seccomp mode of the build step ($who)"
done

# status-step.txt is the step's own shell (sh -c), whose parent is pid 1
# of the step's pid namespace.
assert_eq "sh 1" "$(awk '$1 == "Name:" { n = $2 } $1 == "PPid:" { p = $2 } END { print n, p }' "$REL/status-step.txt")" \
	"name and parent pid of the step's shell (a child of pid 1: own pid namespace)"

step "credentials"
assert_file_content "$REL/uid.txt" "$(id -u nobody)" "id -u in the build step"
assert_file_content "$REL/groups.txt" "$(id -g nobody)" "id -G in the build step (nogroup only)"
assert_eq "$(id -u nobody) $(id -g nobody)" \
	"$(awk '$1 == "Uid:" { u = $2 "/" $3 "/" $4 "/" $5 } $1 == "Gid:" { g = $2 "/" $3 "/" $4 "/" $5 } END { split(u, a, "/"); split(g, b, "/"); print (a[1] == a[2] && a[2] == a[3] && a[3] == a[4] ? a[1] : u), (b[1] == b[2] && b[2] == b[3] && b[3] == b[4] ? b[1] : g) }' "$REL/status-step.txt")" \
	"real, effective, saved and fs uid/gid of the build step"

step "environment"
allowed_sh="PATH HOME LANG CUTOVER_APP CUTOVER_RELEASE APP_ENV SECOND PWD SHLVL _ OLDPWD"
# check_env FILE ALLOWED_NAMES WHAT
check_env()
{
	local name extra=''

	while IFS= read -r name; do
		[[ " $2 " == *" $name "* ]] || extra+="$name "
	done < <(cut -d= -f1 "$1")
	assert_eq "" "$extra" "variables in $3 beyond the allowed ones"
	assert_eq "demo" "$(sed -n 's/^CUTOVER_APP=//p' "$1")" "CUTOVER_APP in $3"
	assert_eq "$ID" "$(sed -n 's/^CUTOVER_RELEASE=//p' "$1")" "CUTOVER_RELEASE in $3"
	assert_eq "production" "$(sed -n 's/^APP_ENV=//p' "$1")" "APP_ENV (config env=) in $3"
	assert_eq "two words" "$(sed -n 's/^SECOND=//p' "$1")" "SECOND (config env=) in $3"
	assert_not_contains "$(cat "$1")" leak "the caller's values in $3"
	assert_match "$(sed -n 's/^PATH=//p' "$1")" '^/' "PATH is set in $3"
	assert_match "$(sed -n 's/^HOME=//p' "$1")" '^/' "HOME is set in $3"
	assert_match "$(sed -n 's/^LANG=//p' "$1")" '.' "LANG is set in $3"
}
check_env "$REL/env.txt" "$allowed_sh" "the step's env(1) output"
# What execve gave the step's shell: not even sh's own variables.
check_env "$REL/environ.txt" "PATH HOME LANG CUTOVER_APP CUTOVER_RELEASE APP_ENV SECOND" "the step's initial environment"

step "stdin, stdout, file descriptors"
assert_file_content "$REL/stdin.txt" /dev/null "the build step's stdin"
assert_file_content "$REL/stdin-bytes.txt" 0 "bytes readable from stdin"
assert_match "$(cat "$REL/stdout.txt")" '^pipe:' "the build step's stdout is a pipe"
assert_file_content "$REL/fds.txt" "0 1 2 " "open file descriptors of the build step"
