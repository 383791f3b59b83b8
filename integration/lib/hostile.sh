# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# integration/lib/hostile.sh: sudo and the hostile cases.
#
# For integration/hostile/test_*.sh: cutover driven the way CI drives it,
# as the unprivileged user cutover-ci through a real sudo rule, for apps
# configured in /etc/cutover (cutover refuses -c under sudo), and what the
# hostile cases check after each refusal. Whatever a test creates on the
# host outside its scratch directories (the CI user, a sudoers include,
# files in /etc/cutover and the directory itself, secret files) is undone
# at exit, in reverse order, by the test that created it, even when the
# test fails (undo_push, lib/core.sh). Nothing that existed before is
# changed.

CI_USER=cutover-ci
CI_CWD=/              # the cwd of ci_sudo (a relative --from is read there)
declare -A HOSTILE_OWNED=()   # files outside the scratch dirs this test made
GOOD_ID=''            # the known-good release hostile_app_init deployed
SUDO_RULE=''          # the sudoers include sudo_rule_install wrote last
SUDO_RULE_BASE='' SUDO_RULE_SEQ=0
SERVING=''            # what current/public/index.php must hold

# hostile_lock: one hostile test at a time on this machine (two suites
# running at once would share CI_USER and /etc/cutover, and the first to
# finish would delete them under the other). The lock is a flock on
# /etc/sudoers.d itself, so it leaves no file behind; it goes with the test.
hostile_lock()
{
	[[ -n ${HOSTILE_LOCK_FD:-} ]] && return 0
	exec {HOSTILE_LOCK_FD}</etc/sudoers.d || fatal "cannot open /etc/sudoers.d"
	flock -w 90 "$HOSTILE_LOCK_FD" ||
		fatal "another hostile test has been running on this machine for 90 s; run one suite at a time"
}

# ci_user_ensure: the CI user exists; created if missing (a system user
# without home or shell) and then deleted at exit.
ci_user_ensure()
{
	command -v sudo >/dev/null || fatal "sudo is not installed (.ci/deps.sh installs it)"
	hostile_lock
	id -u "$CI_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --shell /usr/sbin/nologin "$CI_USER" ||
		fatal "cannot create the user $CI_USER"
	# With the user go sudo's records of it (timestamp file).
	undo_push "userdel $CI_USER >/dev/null 2>&1 || echo 'cannot delete the user $CI_USER' >&2
		rm -f /run/sudo/ts/$CI_USER /var/lib/sudo/lectured/$CI_USER"
}

# etc_dir_ensure: /etc/cutover exists (root, 0755); if this test created
# it, it is removed at exit (once empty again).
etc_dir_ensure()
{
	[[ -d /etc/cutover ]] && return 0
	mkdir -m 0755 /etc/cutover || fatal "cannot create /etc/cutover"
	undo_push "rmdir /etc/cutover 2>/dev/null || echo '/etc/cutover is not empty; left in place' >&2"
}

# etc_file_owned PATH: removes PATH at exit (a file this test created
# outside its scratch directories).
etc_file_owned()
{
	undo_push "rm -f -- $(printf '%q' "$1")"
}

# app_name_new: a fresh app name ("it-" and 8 hex digits).
app_name_new()
{
	printf 'it-%s' "$(random_hex 8)"
}

# etc_conf_write APP ROOT [BUILD_LINE...]: /etc/cutover/APP.conf (root,
# 0644) as app_config writes it (again, if this test wrote it before);
# removed at exit.
etc_conf_write()
{
	local f=/etc/cutover/$1.conf

	shift
	etc_dir_ensure
	if [[ -z ${HOSTILE_OWNED[$f]:-} ]]; then
		[[ -e $f || -L $f ]] && fatal "$f exists already; not touching it"
		HOSTILE_OWNED[$f]=1
		etc_file_owned "$f"
	fi
	rm -f -- "$f"
	app_config "$f" "$@"
	chown root:root "$f"
}

# sudo_rule_install [--any] [--setenv] APP...: a sudoers include
# /etc/sudoers.d/cutover-it-RANDOM-NN (0440, checked with visudo -cf before
# it is installed; removed at exit) that lets CI_USER run CUTOVER_BIN,
# pinned by its sha256 so that the rule is worthless for any other file,
# as root without a password: the verbs of dist/sudoers.example for
# each APP (deploy, stage, switch, rollback, prune with any arguments;
# status, list, check). --any: the binary with any arguments, for the
# cases that test cutover's own refusals of what a careless rule lets
# through. --setenv: SETENV, and env_keep of the variables of case 5.
sudo_rule_install()
{
	local any=0 setenv=0 app digest alias file tmp cmds=() c tag='NOPASSWD:'

	while [[ ${1:-} == --* ]]; do
		case $1 in
		--any) any=1 ;;
		--setenv) setenv=1 ;;
		*) fatal "sudo_rule_install: unknown option $1" ;;
		esac
		shift
	done
	digest=$(sha256sum <"$CUTOVER_BIN" | cut -d' ' -f1) || fatal "cannot hash $CUTOVER_BIN"
	c="sha256:$digest $CUTOVER_BIN"
	if ((any)); then
		cmds+=("$c")
	fi
	for app in "$@"; do
		cmds+=("$c deploy $app *" "$c stage $app *" "$c switch $app *" "$c rollback $app"
			"$c rollback $app *" "$c prune $app" "$c prune $app *" "$c status $app"
			"$c list $app" "$c check $app")
	done
	((${#cmds[@]} > 0)) || fatal "sudo_rule_install: no app and no --any"
	alias=CUTOVER_IT_$(random_hex 8 | tr a-f A-F)
	# sudo reads sudoers.d in name order and the last matching rule wins:
	# a test's later rules sort after its earlier ones.
	[[ -n $SUDO_RULE_BASE ]] || SUDO_RULE_BASE=/etc/sudoers.d/cutover-it-$(random_hex 10)
	SUDO_RULE_SEQ=$((SUDO_RULE_SEQ + 1))
	file=$SUDO_RULE_BASE-$(printf '%02d' "$SUDO_RULE_SEQ")
	tmp=$IT_TMP/sudoers.$$
	((setenv)) && tag='NOPASSWD:SETENV:'
	{
		printf '# %s: written by integration/hostile/%s; removed when it ends\n' "${file##*/}" "$IT_NAME"
		if ((setenv)); then
			printf 'Defaults:%s env_keep += "LD_PRELOAD LD_AUDIT GLIBC_TUNABLES LIBMOUNT_FSTAB LIBMOUNT_DEBUG PATH BASH_ENV IFS"\n' "$CI_USER"
		fi
		printf 'Cmnd_Alias %s = ' "$alias"
		for ((c = 0; c < ${#cmds[@]}; c++)); do
			((c > 0)) && printf ', \\\n\t'
			printf '%s' "${cmds[c]}"
		done
		printf '\n%s ALL=(root) %s %s\n' "$CI_USER" "$tag" "$alias"
	} >"$tmp"
	visudo -cqf "$tmp" >/dev/null || fatal "visudo rejects the rule written for the test" "$(cat "$tmp")" "$(visudo -cf "$tmp" 2>&1)"
	[[ -e $file ]] && fatal "$file exists already"
	install -m 0440 -o root -g root "$tmp" "$file" || fatal "cannot install $file"
	undo_push "rm -f -- $(printf '%q' "$file")"
	rm -f "$tmp"
	# The whole policy must still parse, or sudo would stop working for
	# everyone on this machine.
	if ! visudo -cq >/dev/null 2>&1; then
		rm -f -- "$file"
		fatal "sudoers does not parse with $file; removed it again" "$(visudo -c 2>&1 | tail -n 3)"
	fi
	SUDO_RULE=$file
}

# ci_sudo ARG...: `sudo -n -u root ARG...` run as CI_USER (its uid, gid and
# groups; no PAM session), in CI_CWD.
ci_sudo()
{
	(cd "$CI_CWD" && exec setpriv --reuid="$CI_USER" --regid="$(id -g "$CI_USER")" --init-groups -- \
		sudo -n -u root "$@")
}

# ci_cutover ARG...: cutover ARG... through sudo as CI_USER.
ci_cutover()
{
	ci_sudo "$CUTOVER_BIN" "$@"
}

# hostile_app_prepare [BUILD_LINE...]: a new app for the hostile cases:
# the CI user, a scratch dir S with the source SRC (index.php prints "v1",
# readable by everyone), the app root ROOT, the config CONF =
# /etc/cutover/APP.conf (APP = it-XXXXXXXX) and a sudo rule for it.
hostile_app_prepare()
{
	ci_user_ensure
	etc_dir_ensure
	scratch_new S
	APP=$(app_name_new)
	SRC=$S/src ROOT=$S/root CONF=/etc/cutover/$APP.conf
	app_source "$SRC" v1
	chmod -R a+rX "$SRC"
	etc_conf_write "$APP" "$ROOT" "$@"
	sudo_rule_install "$APP"
}

# hostile_app_init [BUILD_LINE...]: hostile_app_prepare, then a known-good
# release of SRC deployed through sudo: GOOD_ID is current and SERVING what
# its index.php holds.
hostile_app_init()
{
	hostile_app_prepare "$@"
	hostile_deploy_good
}

# hostile_deploy_good: deploys SRC through sudo as the known-good release.
hostile_deploy_good()
{
	chmod -R a+rX "$SRC"
	run ci_cutover deploy "$APP" --from "$SRC"
	[[ $RC == 0 ]] || fatal "the known-good deploy through sudo failed" "$(it_last_output)"
	GOOD_ID=$(current_id)
	SERVING='<?php echo "v1";'
	assert_file_content "$ROOT/current/public/index.php" "$SERVING" "the known-good release"
}

# mount_points: the host's mount points, sorted, one line.
mount_points()
{
	awk '{ print $5 }' /proc/self/mountinfo | LC_ALL=C sort | paste -sd' ' -
}

# app_state [ROOT]: what a refused or failed run must leave as it was:
# current and the bytes it serves, releases/, the staging, state, trash,
# failed, manifest and log directories, the history's length, stray
# .current.new, the top of ROOT, and the host's mount points.
app_state()
{
	local r=${1:-$ROOT} d

	printf 'current -> %s\n' "$(readlink "$r/current" 2>&1)"
	printf 'serves %s\n' "$(sha256sum <"$r/current/public/index.php" 2>&1 | cut -c1-16)"
	printf 'ROOT: %s\n' "$(dir_list "$r")"
	# A failed run's record (state "failed" and its log, no tree) is what
	# the history of attempts keeps on purpose: not a trace it left behind.
	local records
	records=$(grep -lx 'state=failed' "$r"/.cutover/state/* 2>/dev/null | while read -r f; do
		[[ -e $r/.cutover/failed/${f##*/} ]] || printf '%s\n%s.log\n' "${f##*/}" "${f##*/}"; done)
	for d in releases .cutover .cutover/staging .cutover/state .cutover/trash .cutover/failed \
		.cutover/manifest .cutover/logs; do
		printf '%s: %s\n' "$d" "$(dir_list "$r/$d" | tr ' ' '\n' | grep -vxF -f <(printf '%s\n' "$records" | grep .) | paste -sd' ' -)"
	done
	printf 'history lines: %s\n' "$(grep -c '"to":"' "$r/.cutover/history.jsonl" 2>/dev/null)"
	printf 'mounts: %s\n' "$(mount_points)"
}

# assert_app_unchanged BEFORE WHAT: app_state is still BEFORE, and
# current still serves SERVING.
assert_app_unchanged()
{
	local now

	now=$(app_state "$ROOT")
	if [[ $1 != "$now" ]]; then
		fail "$2: the app root or the mounts changed" "diff (- before, + after):" \
			"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
		return 1
	fi
	assert_file_content "$ROOT/current/public/index.php" "$SERVING" "$2: what current serves"
}

# assert_serving_php WHAT: php executes current/public/index.php and
# prints what the known-good release prints.
assert_serving_php()
{
	local got

	command -v php >/dev/null || return 0
	got=$(php "$ROOT/current/public/index.php" 2>&1)
	assert_eq "${SERVING_OUTPUT:-v1}" "$got" "$1: php runs current/public/index.php"
}

# assert_refused CODE NEEDLE WHAT: the last run was refused by cutover
# itself (not by sudo) with exit code CODE: nothing on stdout, exactly one
# "cutover: " line on stderr, containing NEEDLE (if not empty); for exit
# code 2 that is all of stderr; no control characters but newlines
# anywhere on stderr; no "sudo:" line.
assert_refused()
{
	local want=$1 needle=$2 what=$3 n line

	if [[ $RC != "$want" ]]; then
		fail "$what: expected exit code $want" "$(it_last_output)"
		return 1
	fi
	if printf '%s\n' "$ERR" | grep -q '^sudo:'; then
		fail "$what: sudo refused, cutover never ran (the test's sudo rule is wrong)" "$(it_last_output)"
		return 1
	fi
	n=$(printf '%s\n' "$ERR" | grep -c '^cutover: ')
	if [[ $n != 1 ]]; then
		fail "$what: expected exactly one 'cutover: ' line on stderr, got $n" "$(it_last_output)"
		return 1
	fi
	if [[ $want == 2 && $(printf '%s' "$ERR" | grep -c '') != 1 ]]; then
		fail "$what: a usage or configuration error must be one line on stderr" "$(it_last_output)"
		return 1
	fi
	if LC_ALL=C grep -q '[[:cntrl:]]' <<<"$(printf '%s' "$ERR" | tr -d '\n')"; then
		fail "$what: raw control characters on stderr" "$(printf '%s' "$ERR" | od -c | head -n 20)"
		return 1
	fi
	[[ -z $OUT ]] || { fail "$what: expected nothing on stdout" "$(it_last_output)"; return 1; }
	line=$(printf '%s\n' "$ERR" | grep '^cutover: ')
	[[ ${IT_VERBOSE:-0} == 1 ]] && printf '   (exit %s) %s\n' "$RC" "$line"
	[[ -z $needle || $line == *"$needle"* ]] ||
		{ fail "$what: the message does not say '$needle'" "message: $line"; return 1; }
	return 0
}

# secret_new VAR: a unique marker string for "no byte of it may leak".
secret_new()
{
	printf -v "$1" 'cutover-it-secret-%s' "$(random_hex 16)"
}

# assert_no_secret SECRET WHAT [DIR...]: SECRET appears in no file under
# ROOT (releases, shared, .cutover/logs, everything) or the DIRs, nor in
# the last run's output. Directories named SECRET_HOME (where a test keeps
# the secret itself) are not searched.
assert_no_secret()
{
	local secret=$1 what=$2 hits

	shift 2
	hits=$(grep -rlaF --exclude-dir="${SECRET_HOME:-/}" -- "$secret" "$ROOT" "$@" 2>/dev/null)
	[[ -z $hits ]] || fail "$what: the secret leaked into files" "$hits"
	[[ $OUT$ERR != *"$secret"* ]] || fail "$what: the secret appears in cutover's output" "$(it_last_output)"
}

# cutover_procs: "PID PPID UID NAME" of every running process of the
# binaries under test (front end, source reader, helper, sandbox init).
cutover_procs()
{
	local exe bindir

	bindir=$(dirname "$CUTOVER_BIN")
	# One find, not a readlink per process: this runs in polling loops.
	find /proc/[0-9]*/exe -maxdepth 0 \( -lname "$bindir/cutover" -o -lname "$bindir/cutover-helper" \) \
		-printf '%h %l\n' 2>/dev/null |
		while read -r exe name; do
			awk -v pid="${exe#/proc/}" -v name="${name##*/}" '
				$1 == "PPid:" { pp = $2 } $1 == "Uid:" { u = $2 }
				END { if (pp != "") print pid, pp, u, name }' "$exe/status" 2>/dev/null
		done
}

no_cutover_procs()
{
	[[ -z $(cutover_procs) ]]
}

# procs_in_root: "PID CWD" of processes working in ROOT (a build step's,
# whose cwd is its release; also as seen from its own mount namespace).
procs_in_root()
{
	find /proc/[0-9]*/cwd -maxdepth 0 \( -lname "$ROOT" -o -lname "$ROOT/*" \) -printf '%h %l\n' 2>/dev/null
}

no_procs_in_root()
{
	[[ -z $(procs_in_root) ]]
}

# assert_no_cutover_procs WHAT [SECONDS]: within SECONDS (default 5), no
# process of cutover's binaries and none working in ROOT is left.
assert_no_cutover_procs()
{
	wait_for "${2:-5}" no_cutover_procs ||
		fail "$1: cutover processes left running" "$(cutover_procs)"
	wait_for "${2:-5}" no_procs_in_root ||
		fail "$1: processes left working in $ROOT" "$(procs_in_root)"
}

# status_field PID FIELD: FIELD's value in /proc/PID/status.
status_field()
{
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status" 2>/dev/null
}

# staging_started FILE: some build step of ROOT created FILE in its
# release (seen from the host in .cutover/staging).
staging_started()
{
	compgen -G "$ROOT/.cutover/staging/*/$1" >/dev/null
}
