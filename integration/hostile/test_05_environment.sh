#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 5: the CI user's environment, under a permissive sudo
# rule (SETENV, env_keep of every variable below) that does pass them to
# cutover. LD_PRELOAD and LD_AUDIT name a library that leaves a marker in
# every process it is loaded into (integration/tools/marker.c);
# LD_LIBRARY_PATH; GLIBC_TUNABLES; LIBMOUNT_FSTAB and LIBMOUNT_MTAB name a
# fifo (libmount reading it would hang); LIBMOUNT_DEBUG would print debug
# lines; PATH starts with fake tar, php, composer, git and sh that leave a
# marker; BASH_ENV and ENV name a script that leaves a marker; IFS is "/".
#
# The dynamic loader honours LD_PRELOAD, LD_AUDIT and LD_LIBRARY_PATH
# before main() runs, which no code in cutover can undo: cutover refuses
# to run when it finds them (exit 2, one line), so that such a sudoers rule
# is noticed; no process it would start may carry the marker. The
# launcher's own marker ("loaded.cutover.*") is the loader's doing: shown
# for a dynamically linked cutover, a failure for a static one.
#
# Every other variable, alone and all at once: the deploy works as usual,
# no marker appears, the build step runs the real tools, and neither the
# helper's nor the build step's environment holds any of them
# (/proc/PID/environ, read while the step sleeps). The same variables in
# sudo's own environment (env_keep, where sudo drops the LD_ ones): the
# deploy works, no marker.
. "$(dirname "$0")/../lib.sh"

cat_step='
cd "$(dirname "$0")"
tr "\0" "\n" </proc/$$/environ >step-environ.txt
php -r "echo 1;" >/dev/null
tar --version >/dev/null
git --version >/dev/null
sh -c true
composer --version >/dev/null 2>&1 || true
if [ -e slow ]; then touch started; sleep 2; fi
'
hostile_app_prepare 'run = sh step.sh'
printf '%s' "$cat_step" >"$SRC/step.sh"
hostile_deploy_good
sudo_rule_install --setenv "$APP"
markers=$S/markers
mkdir -m 0777 "$markers"

step "the hostile files"
# marker.so leaves its markers in "markers" beside itself: $S/markers.
tool_build marker.so "$S"
PRELOAD=$TOOL
fake=$S/fakebin
mkdir -m 0755 "$fake"
for t in tar php composer git sh; do
	printf '#!/bin/sh\ntouch %s/fake-%s.$$\nexit 0\n' "$markers" "$t" >"$fake/$t"
	chmod 0755 "$fake/$t"
done
printf 'touch %s/bash-env.$$\n' "$markers" >"$S/bash-env"
chmod 0644 "$S/bash-env"
mkfifo -m 0666 "$S/fstab-fifo"

mkdir -m 0755 "$S/libs"
loader=(
	"LD_PRELOAD=$PRELOAD"
	"LD_AUDIT=$PRELOAD"
	"LD_LIBRARY_PATH=$S/libs"
)
loader_names=(LD_PRELOAD LD_AUDIT LD_LIBRARY_PATH)
hostile=(
	"GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.perturb=85:glibc.rtld.optional_static_tls=1"
	"LIBMOUNT_FSTAB=$S/fstab-fifo"
	"LIBMOUNT_MTAB=$S/fstab-fifo"
	"LIBMOUNT_DEBUG=0xffff"
	"PATH=$fake:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"BASH_ENV=$S/bash-env"
	"ENV=$S/bash-env"
	"IFS=/"
)
names=(GLIBC_TUNABLES LIBMOUNT_FSTAB LIBMOUNT_MTAB LIBMOUNT_DEBUG PATH BASH_ENV ENV IFS)
if LC_ALL=C readelf -l "$CUTOVER_BIN" 2>/dev/null | grep -q 'program interpreter'; then
	DYNAMIC=1
else
	DYNAMIC=0
fi

# check_markers WHAT: no marker of anything but the launcher; the
# launcher's own reported separately.
check_markers()
{
	local own launcher

	own=$(find "$markers" -mindepth 1 ! -name 'loaded.cutover.*' -printf '%f\n' | LC_ALL=C sort)
	launcher=$(find "$markers" -mindepth 1 -name 'loaded.cutover.*' -printf '%f\n')
	assert_eq "" "$own" "$1: markers of processes cutover started (the helper, the build step, tools from PATH)"
	if ((DYNAMIC)); then
		[[ -z $launcher ]] || echo "   note: $1: the loader ran the library in the launcher before main(): $(paste -sd' ' - <<<"$launcher")"
	else
		assert_eq "" "$launcher" "$1: markers of the (static) launcher"
	fi
	find "$markers" -mindepth 1 -delete
}

# check_environ FILE WHAT: none of the hostile variables in FILE.
check_environ()
{
	local name found=''

	for name in "${names[@]}" "${loader_names[@]}"; do
		[[ $name == PATH ]] && continue
		grep -q "^$name=" "$1" && found+="$name "
	done
	assert_eq "" "$found" "$2: hostile variables in the environment"
	assert_eq "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$(grep '^PATH=' "$1")" \
		"$2: PATH is cutover's own"
	assert_eq "" "$(grep -F -e "$markers" -e "$fake" -e "$S/bash-env" -e "$S/fstab" "$1")" \
		"$2: a path of this test's hostile files in the environment"
}

cases=0
n=1
# deploy_with WHAT VAR=VALUE...: deploys version n+1 with the variables on
# sudo's command line (SETENV), and checks everything.
deploy_with()
{
	local what=$1 rel

	shift
	n=$((n + 1))
	set_index "$SRC" "v$n"
	step "deploy with $what"
	run timeout 60 setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
		sudo -n -u root "$@" "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
	assert_eq 0 "$RC" "$what: the deploy works" || printf '%s\n' "$(it_last_output)"
	assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$n\";" "$what: the new release is live"
	assert_not_contains "$ERR" "libmount" "$what: libmount debug output"
	rel=$ROOT/releases/$(current_id)
	[[ -f $rel/step-environ.txt ]] && check_environ "$rel/step-environ.txt" "$what: the build step"
	check_markers "$what"
	cases=$((cases + 1))
}

# refused_with WHAT VAR=VALUE...: cutover refuses to run with the
# variables on sudo's command line; nothing changes, no marker but the
# loader's in the launcher.
refused_with()
{
	local what=$1 before

	shift
	before=$(app_state)
	step "deploy with $what: refused"
	run timeout 60 setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
		sudo -n -u root "$@" "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
	# A sanitizer build (SANITIZE=address) stops earlier still: ASan's
	# runtime refuses another preloaded library before main() (exit 1).
	if [[ $RC == 1 && $ERR == *"ASan runtime does not come first"* ]]; then
		echo "   note: $what: refused by the ASan runtime (sanitizer build) before main()"
	else
		assert_refused 2 "LD_" "$what"
	fi
	SERVING="<?php echo \"v$n\";" assert_app_unchanged "$before" "$what"
	check_markers "$what"
	cases=$((cases + 1))
}

for i in "${!loader[@]}"; do
	refused_with "${loader_names[i]}" "${loader[i]}"
done
refused_with "all the loader's variables and the others at once" "${loader[@]}" "${hostile[@]}"
for i in "${!hostile[@]}"; do
	deploy_with "${names[i]}" "${hostile[i]}"
done

step "all but the loader's at once, with a sleeping build step: the helper's environment"
touch "$SRC/slow"
n=$((n + 1))
set_index "$SRC" "v$n"
pid=
bg pid setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
	sudo -n -u root "${hostile[@]}" "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
if wait_for 20 staging_started started; then
	# The front end's exec-time environment block (clearenv() leaves it
	# in memory) shows what sudo passed on.
	front=$(cutover_procs | awk -v u="$(id -u nobody)" '$4 == "cutover" && $3 == u' | head -n 1 | cut -d' ' -f1)
	[[ -n $front ]] && tr '\0' '\n' <"/proc/$front/environ" >"$S/front-environ.txt"
	assert_eq "${#names[@]}" "$(grep -cE "^($(IFS='|'; echo "${names[*]}"))=" "$S/front-environ.txt")" \
		"sudo passed every hostile variable to cutover (its exec-time environment)"
	helper=$(cutover_procs | awk '$4 == "cutover-helper"' | sort -n | head -n 1 | cut -d' ' -f1)
	if [[ -n $helper ]]; then
		tr '\0' '\n' <"/proc/$helper/environ" >"$S/helper-environ.txt"
		check_environ "$S/helper-environ.txt" "the helper (pid $helper)"
		assert_eq "LANG PATH" "$(cut -d= -f1 "$S/helper-environ.txt" | LC_ALL=C sort | paste -sd' ' -)" \
			"the helper's environment holds PATH and LANG only"
	else
		fail "no helper process found during the build step" "$(cutover_procs)"
	fi
else
	fail "the build step never started"
fi
bg_wait "$pid"
assert_eq 0 "$RC" "all at once: the deploy works" || printf '%s\n' "$(it_last_output)"
assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$n\";" "all at once: the new release is live"
check_environ "$ROOT/current/step-environ.txt" "all at once: the build step"
assert_not_contains "$ERR" "libmount" "all at once: libmount debug output"
check_markers "all at once"
cases=$((cases + 1))

step "all the variables in sudo's own environment (env_keep)"
n=$((n + 1))
set_index "$SRC" "v$n"
rm -f "$SRC/slow"
run timeout 60 setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
	env "${loader[@]}" "${hostile[@]}" /usr/bin/sudo -n -u root "$CUTOVER_BIN" deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "env_keep: the deploy works" || printf '%s\n' "$(it_last_output)"
assert_file_content "$ROOT/current/public/index.php" "<?php echo \"v$n\";" "env_keep: the new release is live"
check_markers "env_keep"
cases=$((cases + 1))
assert_no_cutover_procs "after the deploys"
echo "cases: $cases"
