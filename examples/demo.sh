#!/usr/bin/env bash
# make demo: deploys the bundled example app twice with cutover, rolls back,
# and prints what happened at each step. Runs in a scratch directory and
# leaves nothing behind.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cutover=$top/build/cutover
if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root (cutover is a root tool; see docs/SECURITY.md)" >&2
	exit 1
fi
scratch=$(mktemp -d /tmp/cutover-demo.XXXXXX)
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT

cat > "$scratch/hello.conf" <<CONF
[app]
root = $scratch/srv/hello
user = nobody
group = nogroup
web_group = www-data
keep = 3
[shared]
dirs = storage
[build]
run = echo "built by \$(id -un) at \$(date -u +%H:%M:%S)" > build-info.txt
run = php -l public/index.php
env = APP_ENV=production
CONF

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
serve() { printf 'live: '; php "$scratch/srv/hello/current/public/index.php"; }

cp -r "$top/examples/hello" "$scratch/src"

say "deploy v1 of the example app"
"$cutover" -c "$scratch/hello.conf" deploy hello --from "$scratch/src" --label v1
serve

say "deploy v2 (a changed VERSION), packed as a .tar.zst artifact"
echo 2 > "$scratch/src/VERSION"
tar --zstd -C "$scratch/src" -cf "$scratch/hello-v2.tar.zst" .
"$cutover" -c "$scratch/hello.conf" deploy hello --from "$scratch/hello-v2.tar.zst" --label v2
serve

say "releases"
"$cutover" -c "$scratch/hello.conf" list hello

say "a broken build (a syntax error) never goes live"
echo '<?php echo "oops"' > "$scratch/src/public/index.php"
if "$cutover" -c "$scratch/hello.conf" deploy hello --from "$scratch/src" --label broken; then
	echo "demo: the broken build was deployed" >&2
	exit 1
fi
serve

say "roll back to v1"
"$cutover" -c "$scratch/hello.conf" rollback hello
serve

say "status"
"$cutover" -c "$scratch/hello.conf" status hello
echo
echo "demo: done; scratch directory $scratch removed"
