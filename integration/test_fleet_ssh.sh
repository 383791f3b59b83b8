#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12's test bed (integration/lib/fleet.sh): three hosts on this
# machine, each a private mount namespace with its own sshd, /etc/cutover,
# app root, nginx and php-fpm, and a CI user who logs in with a key and
# may run only what dist/sudoers.example allows.
#   - each host sees only its own state (a deploy to host 1 over ssh is
#     not on hosts 2 and 3); the machine's /etc/cutover, /run/sshd and
#     users are as they were; the hosts share one SQLite database;
#   - ansible-playbook over real ssh (strict host key checking against
#     the generated host keys) deploys one artifact with `sudo cutover
#     deploy` on every host (integration/fleet/deploy-command.yml): every
#     host's nginx serves the new release;
#   - host 3's sshd stopped: Ansible reports it unreachable, deploys to
#     hosts 1 and 2, and host 3 still serves the release it had.
. "$(dirname "$0")/lib.sh"

command -v ansible-playbook >/dev/null || fatal "ansible-playbook is missing (.ci/deps.sh installs ansible-core)"

step "three hosts"
t0=$(now_ms)
fleet_start 3
step "started in $(($(now_ms) - t0)) ms (per host: ${FLEET_START_MS[*]} ms)"
# (Other tests on this machine may create and remove /etc/cutover and
# /run/sshd meanwhile: only what is the fleet's is checked.)
[[ -e /etc/cutover/$FLEET_APP.conf ]] && fail "the machine has /etc/cutover/$FLEET_APP.conf"
for i in 1 2 3; do
	run fleet_exec "$i" findmnt -n -o TARGET --target "/etc/cutover/$FLEET_APP.conf"
	assert_eq /etc/cutover "$OUT" "host $i: /etc/cutover is a mount of its own"
	run fleet_exec "$i" findmnt -n -o FSTYPE /run
	assert_eq tmpfs "$OUT" "host $i: /run is a tmpfs of its own"
	run fleet_exec "$i" findmnt -n -o FSTYPE /etc
	assert_eq overlay "$OUT" "host $i: /etc is an overlay"
done
run id -u "$FLEET_USER"
assert_eq 1 "$RC" "the CI user '$FLEET_USER' does not exist on the machine, only in the hosts"

# artifact NAME TEXT: S/NAME.tar.gz, whose index.php prints TEXT.
scratch_new S
artifact()
{
	app_source "$S/$1" "$2"
	tar -C "$S/$1" -czf "$S/$1.tar.gz" . || fatal "cannot make $S/$1.tar.gz"
	chmod 0644 "$S/$1.tar.gz"
}

# serves I TEXT: host I's nginx answers TEXT on /.
serves()
{
	[[ $(curl -s --max-time 5 "$(fleet_url "$1")/") == "$2" ]]
}

step "each host sees only its own state"
artifact v1 fleet-v1
install -m 0644 -o "$FLEET_UID" -g "$FLEET_UID" "$S/v1.tar.gz" "${FLEET_HOST_DIR[1]}/home/v1.tar.gz"
run fleet_ssh 1 sudo -n cutover deploy "$FLEET_APP" --from "$FLEET_HOME/v1.tar.gz"
assert_eq 0 "$RC" "host 1: sudo cutover deploy over ssh" || fatal "the first deploy failed" "$(it_last_output)"
V1=$(current_id "${FLEET_HOST_DIR[1]}/root")
assert_match "$V1" '^[0-9]{8}T[0-9]{6}Z' "host 1 has a current release"
for i in 1 2 3; do
	run fleet_ssh "$i" sudo -n cutover status "$FLEET_APP"
	assert_eq 0 "$RC" "host $i: sudo cutover status over ssh" || { it_last_output; continue; }
	want='(none)'
	((i == 1)) && want=$V1
	assert_eq "$want" "$(printf '%s\n' "$OUT" | awk '$1 == "current:" { print $2 }')" "host $i: its current release"
	assert_match "$OUT" "root: +$FLEET_ROOT" "host $i: the app root is $FLEET_ROOT"
done
serves 1 fleet-v1 || fail "host 1's nginx does not serve fleet-v1" "$(curl -s "$(fleet_url 1)/")"
serves 2 fleet-v1 && fail "host 2's nginx serves host 1's release"
assert_eq "" "$(dir_list "${FLEET_HOST_DIR[2]}/root")" "host 2's app root is empty"

step "the CI user has only the sudo rule"
run fleet_ssh 1 sudo -n true
assert_eq 1 "$RC" "sudo true is not allowed"
# The rule never allows -c (cutover refuses it under sudo anyway): sudo
# itself must say no.
run fleet_ssh 1 sudo -n cutover -c "/etc/cutover/$FLEET_APP.conf" status "$FLEET_APP"
[[ $RC == 1 && $ERR == *"sudo:"* ]] || fail "sudo cutover -c (not in the rule) was not refused by sudo" "$(it_last_output)"
run fleet_ssh 1 id -un
assert_eq "$FLEET_USER" "$OUT" "ssh logs in as the CI user"

step "the shared database"
# shellcheck disable=SC2016 # PHP, not shell
run fleet_exec 1 setpriv --reuid=nobody --regid=nogroup --clear-groups -- php -r \
	'$db = new SQLite3($argv[1]); $db->exec("INSERT INTO fleet_marks VALUES (\"h1\", \"seen\")");' \
	"$FLEET_SHARED/fleet.sqlite"
assert_eq 0 "$RC" "host 1 writes the shared database" || it_last_output
# shellcheck disable=SC2016 # PHP, not shell
run fleet_exec 3 php -r '$db = new SQLite3($argv[1]); echo $db->querySingle("SELECT host FROM fleet_marks WHERE mark = \"seen\"");' \
	"$FLEET_SHARED/fleet.sqlite"
assert_eq "h1" "$OUT" "host 3 reads what host 1 wrote"

step "ansible-playbook deploys to the three hosts over ssh"
fleet_inventory "$S/inventory"
artifact v2 fleet-v2
run fleet_ansible -i "$S/inventory" "$IT_DIR/fleet/deploy-command.yml" -e "artifact=$S/v2.tar.gz" -e expect=fleet-v2
step "ansible-playbook took $ELAPSED_MS ms"
assert_eq 0 "$RC" "ansible-playbook exits 0" || it_last_output
for i in 1 2 3; do
	assert_match "$OUT" "h$i +: ok=4 +changed=[1-4] +unreachable=0 +failed=0" "host $i in the play recap"
	serves "$i" fleet-v2 || fail "host $i's nginx does not serve fleet-v2" "$(curl -s "$(fleet_url "$i")/")"
	V2[i]=$(current_id "${FLEET_HOST_DIR[i]}/root")
done
assert_eq 2 "$(find "${FLEET_HOST_DIR[1]}/root/releases" -mindepth 1 -maxdepth 1 | grep -c '')" "host 1 has two releases"
assert_eq 1 "$(find "${FLEET_HOST_DIR[2]}/root/releases" -mindepth 1 -maxdepth 1 | grep -c '')" "host 2 has one release"

step "host 3 unreachable"
fleet_sshd_stop 3
artifact v3 fleet-v3
run fleet_ansible -i "$S/inventory" "$IT_DIR/fleet/deploy-command.yml" -e "artifact=$S/v3.tar.gz" -e expect=fleet-v3
step "ansible-playbook took $ELAPSED_MS ms"
assert_eq 4 "$RC" "ansible-playbook exits 4 (a host unreachable)" || it_last_output
assert_match "$OUT" "fatal: \[h3\]: UNREACHABLE!" "Ansible says h3 is unreachable"
assert_match "$OUT" "h3 +: ok=0 +changed=0 +unreachable=1 +failed=0" "host 3 in the play recap"
for i in 1 2; do
	assert_match "$OUT" "h$i +: ok=4 +changed=[1-4] +unreachable=0 +failed=0" "host $i in the play recap"
	serves "$i" fleet-v3 || fail "host $i's nginx does not serve fleet-v3" "$(curl -s "$(fleet_url "$i")/")"
done
serves 3 fleet-v2 || fail "host 3's nginx no longer serves fleet-v2" "$(curl -s "$(fleet_url 3)/")"
assert_eq "${V2[3]}" "$(current_id "${FLEET_HOST_DIR[3]}/root")" "host 3's current release is unchanged"

step "fleet_stop leaves no process in the hosts"
fleet_stop
# Any process, in whatever namespace, that sees a host's app root at
# FLEET_ROOT is in that host.
left=$(for p in /proc/[0-9]*; do
	for i in 1 2 3; do
		[[ $p/root$FLEET_ROOT -ef ${FLEET_HOST_DIR[i]}/root ]] &&
			printf 'host %s: %s: %s\n' "$i" "${p#/proc/}" "$(tr '\0' ' ' <"$p/cmdline")"
	done
done 2>/dev/null)
assert_eq "" "$left" "processes left in the hosts"
