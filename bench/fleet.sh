#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench/fleet.sh: a two-phase fleet deploy (issue 12) next to its
# baselines: one release deployed to 1, 3 and 5 hosts
#
#   ssh      by a sequential loop,
#            for h in hosts; do ssh h sudo cutover deploy APP --from ARTIFACT; done
#   ansible  by ansible-playbook running that same command on every host
#            at once (integration/fleet/deploy-only.yml; one phase)
#   2phase   by the cutover.fleet collection's deploy.yml: stage with the
#            same --id everywhere, migrations once, then every host told
#            one moment to switch at (cutover_switch_delay, 1 s ahead)
#   2phase-nosync  the same with cutover_switch_delay=0: each host
#            switches as soon as Ansible reaches it
#
# on the hosts of integration/lib/fleet.sh (mount namespaces on this
# machine, each with its own sshd, nginx and php-fpm; ssh as the CI user
# through the project's sudo rule). The artifact (a .tar.gz) is put in
# each host's CI home beforehand, not timed. Printed per fleet size, the
# median of BENCH_RUNS (default 5) runs, the sizes and methods taking
# turns (so a change in the machine's load spreads over all of them):
#
#   fleet deploy   wall time of the method (the loop, ansible-playbook)
#   per host       the same divided by the number of hosts
#   mixed window   first host's switch to the last host's: the time the
#                  fleet serves two releases at once (0 for one host)
#
# A host's switch time is the modification time of its current symlink
# (fleet_switch_time, integration/lib/fleet.sh), read on the machine
# through the host's app root; after each run every host's current is
# checked against `cutover --json status` and what its nginx serves.
# Needs root, the build (make) and ansible-core (.ci/deps.sh). Shared and
# noisy machines: read the figures as orders of magnitude.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-5}
sizes=(1 3 5)
# BENCH_METHODS: "ssh" (the baseline) and "ansible"; see method_* below.
read -r -a methods <<<"${BENCH_METHODS:-ssh ansible 2phase 2phase-nosync}"
declare -A label=([ssh]="sequential ssh loop" [ansible]="ansible command, all hosts at once"
	[2phase]="two-phase deploy.yml, switch at one moment" [2phase-nosync]="two-phase deploy.yml, switch when reached")
# The test library: the fleet, and cleanup at exit whatever happens.
# shellcheck source=integration/lib.sh
. "$top/integration/lib.sh"

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "bench fleet: starting 5 hosts..."
t0=$(now_ms)
fleet_start 5
echo "bench fleet: started in $(($(now_ms) - t0)) ms (per host: ${FLEET_START_MS[*]} ms)"
scratch_new S

# artifact_put NAME: S/NAME.tar.gz (index.php prints NAME) in every
# host's CI home.
artifact_put()
{
	local i

	app_source "$S/$1" "$1"
	tar -C "$S/$1" -czf "$S/$1.tar.gz" . || fatal "cannot make $S/$1.tar.gz"
	rm -rf "${S:?}/$1"
	for ((i = 1; i <= FLEET_N; i++)); do
		install -m 0644 -o "$FLEET_UID" -g "$FLEET_UID" "$S/$1.tar.gz" "${FLEET_HOST_DIR[i]}/home/$1.tar.gz" ||
			fatal "cannot copy $1 to host $i"
	done
}

# switched I NAME: host I's current release is the one just deployed:
# --json status agrees with the current symlink, and nginx serves NAME.
switched()
{
	local i=$1 name=$2 id json

	id=$(current_id "${FLEET_HOST_DIR[i]}/root")
	json=$(fleet_exec "$i" "$FLEET_BIN" --json status "$FLEET_APP") || fatal "host $i: cutover --json status failed"
	[[ $(jq -r .current <<<"$json") == "$id" ]] ||
		fatal "host $i: --json status names $(jq -r .current <<<"$json"), current is $id"
	[[ $(curl -s --max-time 5 "$(fleet_url "$i")/") == "$name" ]] ||
		fatal "host $i does not serve $name after its deploy"
}

# The methods: deploy S/NAME.tar.gz (already in each CI home) to hosts
# 1..N. Each returns once every host has switched (or fails).
#
# ssh: the sequential loop, the baseline.
method_ssh()
{
	local n=$1 name=$2 i

	for ((i = 1; i <= n; i++)); do
		fleet_ssh "$i" sudo -n cutover deploy "$FLEET_APP" --from "$FLEET_HOME/$name.tar.gz" >/dev/null 2>"$S/err" ||
			fatal "$name: the deploy to host $i failed" "$(cat "$S/err")"
	done
}

# ansible: the same command on every host at once, one phase
# (integration/fleet/deploy-only.yml): each host switches when its own
# deploy is done. Includes ansible-playbook's own start (about a second).
method_ansible()
{
	local n=$1 name=$2

	fleet_ansible -i "$S/inventory-$n" "$IT_DIR/fleet/deploy-only.yml" -e "artifact_name=$name.tar.gz" \
		>"$S/ansible.out" 2>&1 || fatal "$name: ansible-playbook failed" "$(tail -n 20 "$S/ansible.out")"
}

# 2phase: the collection's deploy.yml (ansible/collections/.../cutover/
# fleet/playbooks); the artifact is already in each CI home under the name
# deploy.yml gives it (ID.tar.gz): its copy task compares, sends nothing.
# Migrations only if the sudo rule allows the migrate verb (the app has
# no [migrate] here: one more round trip to the first host).
playbooks=$top/ansible/collections/ansible_collections/cutover/fleet/playbooks
migrate=false
fleet__rule_allows migrate && migrate=true
method_2phase()
{
	local n=$1 name=$2

	fleet_ansible -i "$S/inventory-$n" "$playbooks/deploy.yml" -e "cutover_artifact=$S/$name.tar.gz" \
		-e "cutover_release_id=$name" -e "cutover_artifact_dir=$FLEET_HOME" -e "cutover_migrate=$migrate" \
		"${@:3}" >"$S/ansible.out" 2>&1 || fatal "$name: deploy.yml failed" "$(tail -n 30 "$S/ansible.out")"
}

method_2phase-nosync()
{
	method_2phase "$@" -e cutover_switch_delay=0
}

for m in "${methods[@]}"; do
	[[ $m == 2phase* ]] || continue
	fleet__rule_allows stage switch status list ||
		fatal "the sudo rule $FLEET_RULE_SRC does not allow stage, switch, status and list: the two-phase playbook cannot run (set BENCH_METHODS or FLEET_RULE_SRC)"
done

# Every host gets a first release: the runs measure updates.
artifact_put warmup
for ((i = 1; i <= FLEET_N; i++)); do
	fleet_ssh "$i" sudo -n cutover deploy "$FLEET_APP" --from "$FLEET_HOME/warmup.tar.gz" >/dev/null 2>&1 ||
		fatal "the first deploy to host $i failed"
done
for n in "${sizes[@]}"; do
	mapfile -t hosts < <(seq 1 "$n")
	fleet_inventory "$S/inventory-$n" "${hosts[@]}"
done

declare -A total=() window=()
for ((r = 1; r <= runs; r++)); do
	for n in "${sizes[@]}"; do
		for m in "${methods[@]}"; do
			name=$m-n${n}r$r
			artifact_put "$name"
			t0=$(date +%s.%N)
			"method_$m" "$n" "$name"
			t1=$(date +%s.%N)
			mapfile -t hosts < <(seq 1 "$n")
			for i in "${hosts[@]}"; do
				switched "$i" "$name"
			done
			total[$m.$n]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') "
			window[$m.$n]+="$(fleet_mixed_window "${hosts[@]}") "
		done
	done
done

printf '\nfleet deploy, median of %s runs (the artifact already on each host)\n\n' "$runs"
printf '| hosts | method | fleet deploy (s) | per host (s) | mixed window (s) |\n'
printf '| ---: | --- | ---: | ---: | ---: |\n'
for n in "${sizes[@]}"; do
	for m in "${methods[@]}"; do
		# shellcheck disable=SC2086 # lists of numbers
		tm=$(printf '%s\n' ${total[$m.$n]} | median)
		# shellcheck disable=SC2086
		wm=$(printf '%s\n' ${window[$m.$n]} | median)
		printf '| %s | %s | %.2f | %.2f | %.2f |\n' "$n" "${label[$m]}" "$tm" \
			"$(awk -v t="$tm" -v n="$n" 'BEGIN { print t / n }')" "$wm"
	done
done
printf '\nevery run (fleet deploy / mixed window, s):\n'
for n in "${sizes[@]}"; do
	for m in "${methods[@]}"; do
		printf '  %s hosts, %s: %s / %s\n' "$n" "$m" "${total[$m.$n]% }" "${window[$m.$n]% }"
	done
done
