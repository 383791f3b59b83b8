#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The history of every attempt (issue 13):
#  - a failed build stays listed as failed with its reason (list, list
#    --json, status), its build log is shown by `cutover log`, and one
#    "failed" line is in the history;
#  - a deploy refused because the app is locked is recorded as "refused";
#  - `cutover history` lists every attempt newest first (-n N, --json),
#    skipping lines that are not well-formed;
#  - with [app] operators = GROUP the history file is root:GROUP 0640,
#    fixed at every append;
#  - every event also goes to syslog: a datagram socket bound at /dev/log
#    in a private mount namespace (an overlay over /dev) receives one line
#    per event with app, event, release and user.
. "$(dirname "$0")/lib.sh"

app_init 'run = echo step-one-ran' 'run = echo "BUILD-LOG-MARKER"; [ ! -e fail ] || exit 3' \
	'[app]' 'operators = adm'
hist=$ROOT/.cutover/history.jsonl

step "a good deploy"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
OLD=$(current_id)
assert_eq "root:adm 640" "$(stat -c '%U:%G %a' "$hist")" "the history is root:operators 0640"

step "a failed build"
touch "$SRC/fail"
assert_exit 1 co deploy --from "$SRC"
failed_id=$(sed -n "s/.*release \([^ ]*\) removed.*/\1/p" <<<"$ERR")
assert_match "$failed_id" '^[0-9]{8}T' "the error names the failed release"
run co --json list
assert_eq "failed" "$(jq -r --arg id "$failed_id" '.releases[] | select(.id == $id) | .state' <<<"$OUT")" "list --json: state"
assert_contains "$(jq -r --arg id "$failed_id" '.releases[] | select(.id == $id) | .reason' <<<"$OUT")" \
	"build step 2" "list --json: the reason names the step"
run co list
assert_match "$(grep "^$failed_id " <<<"$OUT")" "failed" "list shows the failed build"
run co --json status
assert_eq "failed $failed_id" "$(jq -r '.last_failure | "\(.event) \(.release)"' <<<"$OUT")" "status --json: last failure"
assert_contains "$(jq -r .last_failure.reason <<<"$OUT")" "exit code 3" "status --json: its reason"
run co status
assert_contains "$OUT" "last failure:" "status shows the last failure"
assert_eq "$OLD" "$(current_id)" "current after the failed build"

step "cutover log of the failed build"
run co log "$failed_id"
assert_eq 0 "$RC" "cutover log exits 0" || printf '%s\n' "$ERR"
assert_contains "$OUT" "BUILD-LOG-MARKER" "the log holds the failing step's output"
assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$ROOT/.cutover/logs/$failed_id.log")" "the log stays root's"
assert_exit 1 co log 20200101T000000Z
assert_contains "$ERR" "has no build log" "a release without a log is said so"
assert_exit 2 co log "../../etc/passwd"

step "a deploy refused: the app is locked"
rm -f "$SRC/fail"
app_config "$CONF" "$ROOT" 'run = touch started; sleep 2' '[app]' 'operators = adm'
bg first "$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC"
in_build_step() { compgen -G "$ROOT/.cutover/staging/*/started" >/dev/null; }
wait_for 15 in_build_step || { bg_wait "$first"; fatal "the first deploy never reached its build step"; }
assert_exit 1 co deploy --from "$SRC"
bg_wait "$first"
assert_eq 0 "$RC" "the first deploy succeeds"
NEW=$(current_id)
assert_eq "refused" "$(jq -r 'select(.event == "refused") | .event' "$hist" | tail -n 1)" "a refused line"
assert_contains "$(jq -r 'select(.event == "refused") | .reason' "$hist")" "locked by" "the refusal's reason"

step "cutover history"
run co history
assert_eq 0 "$RC" "history exits 0" || printf '%s\n' "$ERR"
assert_eq 4 "$(grep -c '' <<<"$OUT")" "one line per attempt"
assert_match "$(sed -n 1p <<<"$OUT")" " deploy +deploy +$OLD -> $NEW " "newest first: the last deploy"
assert_match "$(sed -n 2p <<<"$OUT")" " refused " "then the refusal"
assert_match "$(sed -n 3p <<<"$OUT")" " failed .*$failed_id" "then the failed build"
assert_match "$(sed -n 4p <<<"$OUT")" "deploy +\(none\) -> $OLD" "then the first deploy"
run co history -n 2
assert_eq 2 "$(grep -c '' <<<"$OUT")" "-n 2 shows two"
run co --json history
assert_eq "deploy refused failed deploy" "$(jq -r '.events[].event' <<<"$OUT" | paste -sd' ' -)" "--json events"
assert_eq "true" "$(jq -r '.events[] | select(.event == "failed") | .reported' <<<"$OUT")" "the failure's reason was reported by the front end"
assert_eq "root" "$(jq -r '.events[0].who' <<<"$OUT")" "who"
# Lines that are not well-formed are skipped, not shown, not fatal.
cp "$hist" "$S/hist.bak"
printf '%s\n' 'garbage' '{"time":"x","verb":"deploy","event":"failed","from":null,"to":"../etc"}' \
	'{"time":"x","verb":"deploy","event":"bogus","from":null,"to":null}' '{"time":"x"' >>"$hist"
run co --json history
assert_eq 4 "$(jq '.events | length' <<<"$OUT")" "malformed lines are skipped"
run co rollback
assert_eq 0 "$RC" "rollback reads past malformed lines" || printf '%s\n' "$ERR"
assert_eq "$OLD" "$(current_id)" "rollback went to the previous release"
assert_eq "root:adm 640" "$(stat -c '%U:%G %a' "$hist")" "the history's mode after appends"
chmod 0600 "$hist"; chgrp root "$hist"
assert_ok co switch "$NEW"
assert_eq "root:adm 640" "$(stat -c '%U:%G %a' "$hist")" "the helper fixes the mode at every append"

step "syslog"
RECV=$S/syslog.lines
cat >"$S/ns.sh" <<NS
set -e
mount -t overlay overlay -o lowerdir=/dev,upperdir=$S/up,workdir=$S/work /dev
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(30)
with open(sys.argv[1], "a") as f:
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        f.write(d.decode("utf-8", "replace") + "\n"); f.flush()
' "$RECV" &
for i in \$(seq 100); do [ -e "$RECV.ready" ] && break; sleep 0.1; done
touch "$SRC/fail"
"$CUTOVER_BIN" -c "$CONF" deploy "$APP" --from "$SRC" >/dev/null 2>&1 || true
rm -f "$SRC/fail"
"$CUTOVER_BIN" -c "$CONF" rollback "$APP" >/dev/null 2>&1
sleep 0.3
kill %1
NS
mkdir "$S/up" "$S/work"
app_config "$CONF" "$ROOT" 'run = echo ok; [ ! -e fail ] || exit 3' '[app]' 'operators = adm'
unshare -m --propagation private bash "$S/ns.sh"
assert_eq "" "$(ls /dev/log 2>&1 | grep -v 'No such file')" "no /dev/log left on the host"
lines=$(cat "$RECV" 2>/dev/null)
printf '%s\n' "$lines"
assert_eq 2 "$(grep -c 'cutover\[' <<<"$lines")" "two events received"
assert_match "$(sed -n 1p <<<"$lines")" "^<84>.* cutover\[[0-9]+\]: app=$APP event=failed reported-by=(helper|frontend) verb=deploy release=[0-9T]+Z.* user=root" \
	"the failure: authpriv.warning, app, event, release, user"
assert_match "$(sed -n 2p <<<"$lines")" "^<85>.* cutover\[[0-9]+\]: app=$APP event=rollback reported-by=helper verb=rollback release=$OLD from=$NEW user=root" \
	"the rollback: authpriv.notice"
