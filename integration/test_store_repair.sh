#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A damaged object (its bytes changed behind the store's back, same size,
# owner and mode) is not reused by the next freeze: the redeploy of the
# same source publishes the right bytes and verifies, where it used to
# link the damaged object again (its name matched) and serve it.
. "$(dirname "$0")/lib.sh"

app_init
set_index "$SRC" v1
assert_ok co deploy --from "$SRC" || fatal "deploy v1 failed"
V1=$(current_id)
file=$ROOT/releases/$V1/public/index.php
want=$(cat "$file")
obj=$(find "$ROOT/.cutover/objects" -type f -inum "$(stat -c %i "$file")" | head -n 1)
[[ -n $obj ]] || fatal "no object links public/index.php"

step "root damages the object, keeping size, owner and mode"
printf '%s' "$want" | tr 'v' 'w' >"$S/damaged"
cat "$S/damaged" >"$obj"
assert_eq "$(stat -c %s "$S/damaged")" "$(stat -c %s "$obj")" "same size"
run co verify
assert_eq 1 "$RC" "verify sees the damage"

step "the same source deployed again"
assert_ok co deploy --from "$SRC" --label again || fatal "the redeploy failed"
V2=$(current_id)
assert_ne "$V1" "$V2" "a new release"
assert_eq "$want" "$(cat "$ROOT/current/public/index.php")" "the new release serves the right bytes"
run co verify "$V2"
assert_eq 0 "$RC" "the new release verifies ($OUT)"
