#!/usr/bin/env bash
# Installs everything cutover needs to build, test, benchmark and run its
# demo on Debian 12. Idempotent and non-interactive; run as root.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (apt-get install)" >&2
	exit 1
fi
packages=(
	# build
	build-essential pkg-config
	libmount-dev libcap-dev libseccomp-dev libinih-dev libarchive-dev
	libssl-dev libcurl4-openssl-dev libcmocka-dev
	# tests, demo, bench
	git zstd xz-utils gzip tar sudo util-linux procps coreutils findutils jq
	# test_store_crash: SIGKILL at the Nth syscall (fault injection)
	strace
	php8.2-cli php8.2-fpm nginx-light wrk curl
	# hostile/test_20_git_ssh: a real sshd on a loopback port
	openssh-client openssh-server
	# the bundled Laravel app (Debian packages the framework: no composer)
	php-laravel-framework php-doctrine-dbal php8.2-sqlite3 php8.2-mbstring
	php8.2-intl php8.2-xml
	# make deb and test_package: the Debian package, lintian, and the
	# Debian 12 root it is installed into
	debhelper dpkg-dev lintian mmdebstrap
	# the fleet tests and bench/fleet.sh (issue 12): Ansible over ssh
	ansible-core
	# systemctl and systemd-analyze: test_units.sh verifies dist/'s units;
	# the reload = swap tests bind-mount their double over systemctl
	systemd
	# make fuzz (libFuzzer)
	clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	# Packaged services must not start on this machine: tests run their
	# own nginx and php-fpm on loopback ports in scratch directories.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
