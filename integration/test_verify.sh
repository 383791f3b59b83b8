#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cutover verify: a fresh release matches its manifest (exit 0). Then
# root tampers with it: changes an object's content, chmods a file, adds
# an extra file, removes one, replaces a hard link by a copy. verify
# exits 1 naming each difference, one line each, and --json gives one
# document with each kind. The metadata check before a switch refuses the
# tampered release (a copy is not a link to its object).
. "$(dirname "$0")/lib.sh"

app_init
set_index "$SRC" v1
assert_ok co deploy --from "$SRC" || fatal "deploy v1 failed"
V1=$(current_id)
REL=$ROOT/releases/$V1

step "a fresh release verifies"
run co verify
assert_eq 0 "$RC" "verify of the current release ($ERR)"
assert_contains "$OUT" "release $V1 matches its manifest" "verify says it matches"
run co verify "$V1"
assert_eq 0 "$RC" "verify of the release named"
run co --json verify
assert_eq "true 0 $V1" "$(jq -r '"\(.ok) \(.differences | length) \(.release)"' <<<"$OUT")" "verify --json of a clean release"
assert_eq "$(cd "$REL" && find . -type f | wc -l)" "$(jq -r .files <<<"$OUT")" "verify hashed every file"

step "root tampers with the release"
printf 'tampered\n' >>"$REL/public/css/app.css"           # the object itself
chmod 0640 "$REL/src/Controller/Home.php"
printf 'extra\n' >"$REL/public/extra.txt"
rm "$REL/composer.json"
cp -p "$REL/bin/tool" "$S/tool.copy"
rm "$REL/bin/tool"
cp -p "$S/tool.copy" "$REL/bin/tool"

run co verify
assert_eq 1 "$RC" "verify exits 1 on differences"
assert_contains "$OUT" "public/css/app.css: content differs from the manifest" "the changed object"
assert_contains "$OUT" "src/Controller/Home.php: mode 0640, the manifest says 0440" "the chmod"
assert_contains "$OUT" "public/extra.txt: extra file, not in the manifest" "the extra file"
assert_contains "$OUT" "composer.json: missing (the manifest lists a file)" "the removed file"
assert_contains "$OUT" "bin/tool: not a hard link to its object" "the copy"
assert_contains "$OUT" "release $V1: 5 differences from its manifest" "the summary"
assert_eq 6 "$(grep -c '' <<<"$OUT")" "one line per difference and the summary"

run co --json verify "$V1"
assert_eq 1 "$RC" "verify --json exits 1 too"
assert_eq "false 5" "$(jq -r '"\(.ok) \(.differences | length)"' <<<"$OUT")" "verify --json: ok and the count"
assert_eq "bin/tool:not-linked composer.json:missing public/css/app.css:content public/extra.txt:extra src/Controller/Home.php:mode" \
	"$(jq -r '.differences | map("\(.path):\(.kind)") | sort | join(" ")' <<<"$OUT")" "verify --json: each path and kind"
assert_eq "288 416" "$(jq -r '.differences[] | select(.kind == "mode") | "\(.expected) \(.found)"' <<<"$OUT")" \
	"verify --json: the mode difference (0440, 0640)"

step "the check before a switch refuses the tampered release"
set_index "$SRC" v2
assert_ok co deploy --from "$SRC" || fatal "deploy v2 failed"
run co rollback
assert_eq 1 "$RC" "rollback to the tampered release is refused"
# Home.php has an owner write bit now, bin/tool one link: either comes first.
assert_match "$ERR" "releases/$V1/(bin/tool|src/Controller/Home.php) is no longer frozen" "the refusal names a tampered file"
assert_contains "$(readlink "$ROOT/current")" "releases/" "current unchanged"
assert_ne "releases/$V1" "$(readlink "$ROOT/current")" "current is not the tampered release"

step "unknown releases and bad arguments"
run co verify 20000101T000000Z
assert_eq 1 "$RC" "verify of a release that does not exist"
assert_contains "$ERR" "is not a frozen release" "says so"
run co verify ../x
assert_eq 2 "$RC" "verify of an invalid id is a usage error"
