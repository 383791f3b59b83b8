#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Issue 12: the cutover.fleet collection without hosts.
#   - its module (plugins/modules/cutover.py), run as Ansible runs it (a
#     JSON file of arguments) over a stand-in cutover that prints given
#     documents: the command line it builds; changed from the document's
#     "changed"; failures with error.message and error.code; a document
#     of a cutover from before the contract (a bare list, none at all);
#     sudo's refusal; a switch to the current release is no change; check
#     mode runs only status, list and migrate --pretend; bad ids refused
#     before anything runs; "at" waits;
#   - ansible-doc reads its documentation;
#   - the playbooks pass ansible-playbook --syntax-check, by path and by
#     name (cutover.fleet.deploy, as docs/ci uses them);
#   - docs/ci/*.yml are YAML and run those playbooks.
. "$(dirname "$0")/lib.sh"

command -v ansible-playbook >/dev/null || fatal "ansible-playbook is missing (.ci/deps.sh installs ansible-core)"
COLL=$REPO_ROOT/ansible/collections
# The Python that runs Ansible (and has its module_utils).
PY=$(sed -n '1s/^#! *//p' "$(command -v ansible-playbook)" | awk '{ print $1 }')
[[ $PY == */env ]] && PY=python3
MODULE=$COLL/ansible_collections/cutover/fleet/plugins/modules/cutover.py
PLAYBOOKS=$COLL/ansible_collections/cutover/fleet/playbooks
scratch_new S
FAKE=$S/fake
mkdir -m 0755 "$FAKE" "$S/ansible"

# The stand-in: logs its arguments, then prints FAKE/VERB.out on stdout
# and FAKE/VERB.err on stderr and exits with FAKE/VERB.rc (default 0).
# FAKE/stage-id.* stand for a cutover that does not know stage --id.
cat >"$FAKE/cutover" <<'EOF'
#!/bin/bash
d=$(dirname "$0")
printf '%s\n' "$*" >>"$d/argv"
verb=$2
# A cutover without stage --id: FAKE/stage-id.* answer a stage with --id.
[[ " $* " == *" --id "* && -f $d/$verb-id.rc ]] && verb=$verb-id
[[ -f $d/$verb.out ]] && cat "$d/$verb.out"
[[ -f $d/$verb.err ]] && cat "$d/$verb.err" >&2
exit "$(cat "$d/$verb.rc" 2>/dev/null || echo 0)"
EOF
chmod 0755 "$FAKE/cutover"

# fake VERB RC OUT [ERR]: what the stand-in answers to VERB.
fake()
{
	printf '%s' "$3" >"$FAKE/$1.out"
	printf '%s\n' "$2" >"$FAKE/$1.rc"
	printf '%s' "${4:-}" >"$FAKE/$1.err"
}

# envelope VERB CHANGED ERROR EXTRA: a contract version 1 document.
envelope()
{
	jq -cn --arg verb "$1" --argjson changed "$2" --argjson error "$3" --argjson extra "${4:-{\}}" \
		'{cutover: 1, verb: $verb, app: "shop", ok: ($error == null), exit: (if $error == null then 0 else 1 end),
		  changed: $changed, error: $error, current_before: "b41", current_after: "b41"} + $extra'
}

# mod [--check] JSON: the module with arguments JSON (app shop, the
# stand-in, no sudo added); sets R (its result), MRC, ARGV (the stand-in's
# command lines, one a line).
mod()
{
	local check=false

	[[ $1 == --check ]] && { check=true; shift; }
	rm -f "$FAKE/argv"
	jq -n --argjson a "$1" --arg bin "$FAKE/cutover" --argjson check "$check" \
		'{ANSIBLE_MODULE_ARGS: ({app: "shop", sudo: false, binary: $bin, _ansible_check_mode: $check} + $a)}' >"$S/args.json"
	R=$("$PY" "$MODULE" "$S/args.json" 2>"$S/mod.err")
	MRC=$?
	ARGV=$(cat "$FAKE/argv" 2>/dev/null)
	jq -e . >/dev/null 2>&1 <<<"$R" || fail "the module printed no JSON (exit $MRC)" "$R" "$(cat "$S/mod.err")"
}

# r FILTER: jq FILTER on the module's result.
r()
{
	jq -c -r "$1" <<<"$R"
}

step "stage: the command line, changed from the document"
fake stage 0 "$(envelope stage true null '{"release": "b42"}')"
mod '{"verb": "stage", "from": "/srv/ci/shop.tar.gz", "id": "b42", "label": "main"}'
assert_eq 0 "$MRC" "the module succeeds"
assert_eq "--json stage shop --from /srv/ci/shop.tar.gz --id b42 --label main" "$ARGV" "the command line"
assert_eq "true b42 b41 null" "$(r '"\(.changed) \(.release) \(.current_before) \(.failed)"')" "changed, release, current_before"
fake stage 0 "$(envelope stage false null '{"release": "b42"}')"
mod '{"verb": "stage", "from": "/srv/ci/shop.tar.gz", "id": "b42"}'
assert_eq "0 false" "$MRC $(r .changed)" "the same content again: not changed"

step "failures: error.message and error.code"
fake stage 1 "$(envelope stage false '{"code": "exists", "message": "release b42 exists with other content"}')" \
	"cutover: release b42 exists with other content"$'\n'
mod '{"verb": "stage", "from": "/srv/ci/shop.tar.gz", "id": "b42"}'
assert_eq 1 "$MRC" "the module fails"
assert_eq "true exists false" "$(r '"\(.failed) \(.code) \(.changed)"')" "failed, the code"
assert_eq "cutover stage shop: release b42 exists with other content" "$(r .msg)" "the message"
fake switch 1 "$(envelope switch true '{"code": "unhealthy", "message": "release b42 is live, but its health check failed: GET / returned 500"}' \
	'{"current_after": "b42"}')"
mod '{"verb": "switch", "id": "b42"}'
assert_eq "1 true unhealthy true b42" "$MRC $(r '"\(.failed) \(.code) \(.changed) \(.current_after)"')" \
	"an unhealthy switch: failed, and changed (the release is live)"

step "a switch or rollback to the current release is no change"
fake switch 1 "$(envelope switch false '{"code": "switch_failed", "message": "release b41 is already current; the live site is unchanged"}')"
mod '{"verb": "switch", "id": "b41"}'
assert_eq "0 false null already current" "$MRC $(r '"\(.changed) \(.failed) \(.msg)"')" "switch to the current release"
fake rollback 1 "" "cutover: release b41 is already current; the live site is unchanged"$'\n'
mod '{"verb": "rollback", "id": "b41"}'
assert_eq "0 false" "$MRC $(r .changed)" "the same from a cutover before the contract"
assert_eq "--json rollback shop b41" "$ARGV" "rollback's command line"

step "a cutover from before the contract"
fake list 0 '[{"id":"b42","state":"frozen","current":true},{"id":"b41","state":"frozen","current":false}]'
mod '{"verb": "list"}'
assert_eq "0 false 2 true" "$MRC $(r '"\(.changed) \(.cutover.releases | length) \(.cutover.synthesized)"')" "a bare list becomes releases"
fake switch 0 '{"app":"shop","verb":"switch","from":"b41","to":"b42","seconds":0.001}'
mod '{"verb": "switch", "id": "b42"}'
assert_eq "0 true b41 b42" "$MRC $(r '"\(.changed) \(.current_before) \(.current_after)"')" "a switch's from and to"
fake prune 0 '{"app":"shop","removed":[],"freed":0}'
mod '{"verb": "prune", "keep": 2}'
assert_eq "0 false --json prune shop --keep 2" "$MRC $(r .changed) $ARGV" "prune that removed nothing"
fake stage-id 2 "" "cutover: unknown option '--id' for this verb; run 'cutover help stage'"$'\n'
fake list 0 '[{"id":"20261207T001500Z-b42","state":"frozen","current":false}]'
mod '{"verb": "stage", "from": "/srv/ci/shop.tar.gz", "id": "b42"}'
assert_eq "0 false 20261207T001500Z-b42" "$MRC $(r '"\(.changed) \(.release)"')" "no stage --id: a release labelled so is taken"
fake list 0 '[]'
fake stage 0 '{"app":"shop","release":"20261207T001600Z-b43","bytes":1,"files":1,"seconds":0.1}'
mod '{"verb": "stage", "from": "/srv/ci/shop.tar.gz", "id": "b43"}'
assert_eq "0 true" "$MRC $(r .changed)" "no stage --id: staged with the id as label"
assert_eq "--json stage shop --from /srv/ci/shop.tar.gz --label b43" "$(tail -n 1 <<<"$ARGV")" "the fallback's command line"
rm "$FAKE"/stage-id.*

step "sudo refuses"
fake status 1 "" "sudo: a password is required"$'\n'
mod '{"verb": "status"}'
assert_eq "1 not_permitted sudo: a password is required" "$MRC $(r '"\(.code) \(.cutover.error.message)"')" "not_permitted"

step "check mode"
fake status 0 "$(envelope status false null '{"current": "b41", "previous": "b40"}')"
fake list 0 "$(envelope list false null '{"releases": [{"id": "b42", "state": "frozen"}, {"id": "b41", "state": "frozen"}]}')"
mod --check '{"verb": "switch", "id": "b42"}'
assert_eq "0 true b42" "$MRC $(r '"\(.changed) \(.release)"')" "switch to another release: would change"
assert_not_contains "$ARGV" "switch" "nothing was switched"
mod --check '{"verb": "switch", "id": "b41"}'
assert_eq "0 false" "$MRC $(r .changed)" "switch to the current release: would not change"
mod --check '{"verb": "rollback"}'
assert_eq "0 true b40" "$MRC $(r '"\(.changed) \(.release)"')" "rollback to the previous release: would change"
mod --check '{"verb": "stage", "from": "/x.tar.gz", "id": "b42"}'
assert_eq "0 false" "$MRC $(r .changed)" "stage of an id that exists: would not change"
mod --check '{"verb": "stage", "from": "/x.tar.gz", "id": "b43"}'
assert_eq "0 true" "$MRC $(r .changed)" "stage of a new id: would change"
assert_eq "--json list shop" "$ARGV" "only list ran"
fake migrate 0 "$(envelope migrate false null '{"release": "b42", "pretend": true, "migrations": ["AddColumn"], "destructive": []}')"
mod --check '{"verb": "migrate", "id": "b42", "allow_destructive": true}'
assert_eq "0 true" "$MRC $(r .changed)" "migrations that would run: would change"
assert_eq "--json migrate shop b42 --pretend --allow-destructive" "$ARGV" "migrate ran with --pretend"
mod --check '{"verb": "prune"}'
assert_eq "0 false" "$MRC $(r .changed)" "prune is not simulated"
assert_eq "" "$ARGV" "nothing ran"

step "bad arguments are refused before anything runs"
for a in '{"verb": "switch", "id": "-x"}' '{"verb": "switch", "id": "a b"}' '{"verb": "switch", "id": "a/b"}' \
	'{"verb": "stage", "from": "--help", "id": "b1"}' '{"verb": "status", "at": 1}'; do
	mod "$a"
	assert_eq "1 usage" "$MRC $(r .code)" "refused: $a"
	assert_eq "" "$ARGV" "nothing ran for $a"
done

step "at: the switch waits for the moment given"
fake switch 0 "$(envelope switch true null '{"release": "b42"}')"
at=$(awk -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", t + 0.6 }')
mod "{\"verb\": \"switch\", \"id\": \"b42\", \"at\": $at}"
assert_eq 0 "$MRC" "the switch succeeds"
assert_eq true "$(jq -r --arg at "$at" '(.started >= ($at | tonumber)) and (.waited > 0.3)' <<<"$R")" "it started at the moment given"

step "ansible-doc"
run env ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_HOME="$S/ansible" ansible-doc cutover.fleet.cutover
assert_eq 0 "$RC" "ansible-doc reads the module's documentation" || it_last_output
assert_contains "$OUT" "choices: [stage, switch, rollback, migrate, prune, status, list]" "the verbs"

step "the playbooks' syntax"
for p in deploy rollback prune; do
	run env ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_HOME="$S/ansible" ansible-playbook --syntax-check -i localhost, "$PLAYBOOKS/$p.yml"
	assert_eq 0 "$RC" "$p.yml passes --syntax-check" || it_last_output
	run env ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_HOME="$S/ansible" ansible-playbook --syntax-check -i localhost, "cutover.fleet.$p"
	assert_eq 0 "$RC" "cutover.fleet.$p passes --syntax-check" || it_last_output
done

step "the CI examples"
# Each is YAML, and among its strings (the jobs' commands) one runs
# ansible-playbook with cutover.fleet.deploy and one with .rollback.
for f in github-actions gitlab-ci; do
	run "$PY" -c '
import sys, yaml
def strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node
doc = yaml.safe_load(open(sys.argv[1]))
assert isinstance(doc, dict) and doc, "not a mapping"
for p in ("deploy", "rollback"):
    print(p, sum(1 for s in strings(doc) if "ansible-playbook " in s and "cutover.fleet." + p + " " in s))
' "$REPO_ROOT/docs/ci/$f.yml"
	assert_eq 0 "$RC" "docs/ci/$f.yml is YAML" || it_last_output
	assert_eq "deploy 1 rollback 1" "$(printf '%s\n' "$OUT" | paste -sd' ' -)" "docs/ci/$f.yml runs cutover.fleet.deploy and .rollback"
done
