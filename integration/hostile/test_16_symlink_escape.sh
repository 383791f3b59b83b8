#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Hostile case group 16: symlinks a build step makes that look as if they
# stayed inside the release when their '..' are counted as text, but that
# the kernel resolves outside it, because a '..' follows a symlink:
#
#  1. public/a/b/c/d/e/s -> ../../../../../.. (the release root) and
#     t -> s/../../../../../../../etc/passwd: t is /etc/passwd;
#  2. public/k -> ../storage (cutover's shared link, ROOT/shared/storage)
#     and public/m -> k/../..: m is ROOT, above the release, with the
#     other releases and .cutover below it.
#
# Each deploy through sudo fails at the freeze with exit 1, naming the
# escaping link, and changes nothing. Then links the kernel keeps inside
# the release (or in shared/, through cutover's own links) still freeze:
# a link into the deep directory and back, a link through the shared link
# into shared/storage, a dangling link and a link loop.
. "$(dirname "$0")/../lib.sh"

hostile_app_prepare 'run = sh step.sh'
cat >"$SRC/step.sh" <<'EOF'
set -e
case $(cat mode 2>/dev/null) in
root)
	mkdir -p public/a/b/c/d/e
	ln -s ../../../../../.. public/a/b/c/d/e/s
	ln -s s/../../../../../../../etc/passwd public/a/b/c/d/e/t
	;;
shared)
	ln -s ../storage public/k
	ln -s k/../.. public/m
	;;
fine)
	mkdir -p public/a/b/c/d/e
	ln -s ../../../../../.. public/a/b/c/d/e/s
	ln -s s/public/index.php public/a/b/c/d/e/ok
	ln -s a/b/c/d/e/s/src/../public/css/app.css public/css-link
	ln -s ../storage public/k
	ln -s k/../storage public/k2
	ln -s nothing/here public/dangling
	ln -s loop public/loop
	;;
esac
EOF
hostile_deploy_good
cases=0

# refused MODE LINK WHAT: a deploy whose build step runs MODE is refused
# at the freeze, naming LINK, and the app is as it was.
refused()
{
	local before

	printf '%s\n' "$1" >"$SRC/mode"
	set_index "$SRC" "$1"
	before=$(app_state)
	run ci_cutover deploy "$APP" --from "$SRC"
	assert_refused 1 "outside the release" "$3" &&
		assert_contains "$ERR" "$2" "$3: the message names the link"
	assert_app_unchanged "$before" "$3"
	assert_eq "" "$(find "$ROOT/releases" -mindepth 1 -maxdepth 1 -newer "$SRC/mode" 2>/dev/null)" \
		"$3: no new release"
	cases=$((cases + 1))
}

step "a '..' after a link to the release root"
refused root public/a/b/c/d/e/t "t -> s/../../../../../../../etc/passwd"

step "a '..' after the shared link"
refused shared public/m "m -> k/../.. through ../storage"

step "links the kernel keeps inside the release or shared/"
printf 'fine\n' >"$SRC/mode"
set_index "$SRC" fine
run ci_cutover deploy "$APP" --from "$SRC"
assert_eq 0 "$RC" "links that stay inside: the deploy works" || printf '%s\n' "$(it_last_output)"
REL=$ROOT/current
assert_file_content "$REL/public/index.php" '<?php echo "fine";' "the release with inner links is live"
assert_eq "$(realpath "$REL/public/index.php")" "$(realpath "$REL/public/a/b/c/d/e/ok")" "ok resolves to index.php"
assert_eq "$ROOT/shared/storage" "$(realpath "$REL/public/k2")" "k2 resolves to shared/storage"
assert_eq "../storage" "$(readlink "$REL/public/k")" "the link to the shared link is kept"
cases=$((cases + 1))
echo "cases: $cases"
