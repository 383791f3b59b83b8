#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The systemd units of dist/, verified by systemd itself: `systemd-analyze
# verify` of every unit as the instances cutover uses
# (cutover-fpm@shop:a.service, cutover-fpm-boot@shop.service, ...), and
# what the reload = swap contract (tools/SWAP_SPEC.md) and the test double
# (lib/systemd_double.py) rely on in them.
#
# Without systemd as PID 1 (this machine, CI's container): systemd-analyze
# verify loads units into a manager of its own in test mode, which needs no
# running systemd, only the unit files and the executables of ExecStart=,
# which it checks exist and are executable. So the units are verified as
# `make install` writes them, but for a BINDIR of the build under test:
# copies in a scratch directory with /usr/sbin/cutover replaced by
# CUTOVER_BIN (the same sed as the install target). The instances are
# given as FILE:INSTANCE (systemd >= 250: verify copies FILE under the name
# INSTANCE into a temporary unit directory): the only way to name an
# instance whose name has a ':', since verify reads the first ':' of an
# argument as that separator. --man=no: the man pages of Documentation=
# are not installed here (test_package.sh installs them). verify reports
# a parse error (a misspelt value, an unknown key) as a warning with exit
# code 0, so any output fails the test, not only the exit code; the test
# shows that each kind of breakage is caught.

. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || fatal "systemd-analyze is missing (install systemd: .ci/deps.sh)"
DIST=$REPO_ROOT/dist
scratch_new U

# unit_copy NAME [SED...]: dist/NAME as installed for CUTOVER_BIN, then
# each SED applied, in U/NAME (or U/NAME.SUFFIX with UNIT_SUFFIX).
unit_copy()
{
	local name=$1 out=$U/$1${UNIT_SUFFIX:-} e

	shift
	sed "s|/usr/sbin/cutover|$CUTOVER_BIN|" "$DIST/$name" >"$out" || fatal "cannot copy $name"
	for e in "$@"; do
		sed -i "$e" "$out" || fatal "sed $e failed"
	done
	printf '%s' "$out"
}

# verify FILE INSTANCE: systemd-analyze verify of FILE as INSTANCE; OUT
# and RC are its output and exit code.
verify()
{
	run env SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$1:$2"
	OUT=$OUT$ERR
}

# assert_verified FILE INSTANCE
assert_verified()
{
	verify "$1" "$2"
	[[ $RC == 0 && -z $OUT ]] && return 0
	fail "systemd-analyze verify of $2 ($(basename "$1")) is not clean" "$(it_last_output)" "$OUT"
}

# assert_broken FILE INSTANCE NEEDLE WHAT: verify reports the breakage.
assert_broken()
{
	verify "$1" "$2"
	if [[ $RC == 0 && -z $OUT ]]; then
		fail "$4: systemd-analyze verify found nothing wrong with $2"
		return 1
	fi
	assert_contains "$OUT" "$3" "$4: what verify says"
}

# unit_value FILE KEY: the value of KEY= in FILE (the last one).
unit_value()
{
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

step "each unit, as the instances cutover uses"
for inst in shop:a shop:b my-app_2:b; do
	assert_verified "$(unit_copy cutover-fpm@.service)" "cutover-fpm@$inst.service"
done
assert_verified "$(unit_copy cutover-fpm-boot@.service)" cutover-fpm-boot@shop.service
assert_verified "$(unit_copy cutover-fpm-trim@.service)" cutover-fpm-trim@shop.service
assert_verified "$(unit_copy cutover-fpm-trim@.timer)" cutover-fpm-trim@shop.timer
assert_verified "$(unit_copy cutover-mount@.service)" cutover-mount@shop.service

step "what the swap contract and the test double rely on"
F=$DIST/cutover-fpm@.service
assert_eq "/usr/sbin/cutover fpm-exec %i" "$(unit_value "$F" ExecStart)" "the slot unit's ExecStart"
# The double (lib/systemd_double.py) implements these values.
for kv in Type=notify NotifyAccess=main KillSignal=SIGQUIT KillMode=mixed TimeoutStartSec=30 \
	TimeoutStopSec=90 Restart=on-failure RestartSec=100ms StartLimitIntervalSec=30 StartLimitBurst=5; do
	assert_eq "${kv#*=}" "$(unit_value "$F" "${kv%%=*}")" "cutover-fpm@.service: ${kv%%=*}"
done
assert_eq "" "$(grep '^\[Install\]' "$F")" "the slot unit cannot be enabled (no [Install])"
F=$DIST/cutover-fpm-boot@.service
assert_eq "/usr/sbin/cutover fpm-start %i" "$(unit_value "$F" ExecStart)" "the boot unit's ExecStart"
assert_eq "cutover-fpm-trim@%i.timer" "$(unit_value "$F" Wants)" "the boot unit starts the trim timer"
assert_eq "multi-user.target" "$(unit_value "$F" WantedBy)" "the boot unit is enabled for multi-user.target"
F=$DIST/cutover-fpm-trim@.service
assert_eq "/usr/sbin/cutover -q fpm-start %i" "$(unit_value "$F" ExecStart)" "the trim unit's ExecStart"
F=$DIST/cutover-fpm-trim@.timer
assert_eq "1min" "$(unit_value "$F" OnUnitActiveSec)" "the timer runs every minute"

step "verify catches a broken unit"
UNIT_SUFFIX=.nobin
F=$(unit_copy cutover-fpm@.service "s|^ExecStart=$CUTOVER_BIN |ExecStart=$U/no-such-cutover |")
assert_broken "$F" cutover-fpm@shop:a.service "is not executable" "ExecStart's binary missing"
UNIT_SUFFIX=.type
F=$(unit_copy cutover-fpm@.service "s|^Type=notify|Type=notifyy|")
assert_broken "$F" cutover-fpm@shop:a.service "Failed to parse service type" "a misspelt Type="
UNIT_SUFFIX=.signal
F=$(unit_copy cutover-fpm@.service "s|^KillSignal=SIGQUIT|KillSignal=SIGQUITT|")
assert_broken "$F" cutover-fpm@shop:a.service "Failed to parse signal" "a misspelt KillSignal="
UNIT_SUFFIX=.key
F=$(unit_copy cutover-fpm-boot@.service "s|^RemainAfterExit=|RemainAfterExits=|")
assert_broken "$F" cutover-fpm-boot@shop.service "Unknown key" "an unknown key"
UNIT_SUFFIX=.timer
F=$(unit_copy cutover-fpm-trim@.timer "s|^OnUnitActiveSec=1min|OnUnitActiveSec=1 minnute|")
assert_broken "$F" cutover-fpm-trim@shop.timer "Failed to parse timer value" "a misspelt timer value"
UNIT_SUFFIX=.noexec
F=$(unit_copy cutover-fpm-trim@.service "/^ExecStart=/d")
assert_broken "$F" cutover-fpm-trim@shop.service "ExecStart" "a service without ExecStart"
