#!/usr/bin/python3
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
#
# cutover.fleet.cutover: one cutover verb on one host, through
# `sudo -n cutover --json VERB APP ...` (the CI user's sudo rule), its one
# JSON document parsed into Ansible's result.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cutover
short_description: Run one cutover verb (stage, switch, rollback, migrate, prune, status, list) with --json
description:
  - Runs C(sudo -n cutover --json VERB APP ...) on the host as the connecting
    user, so that the CI user needs nothing but the sudo rule for cutover
    (docs/FLEET.md). Do not use C(become) with this module; the sudo rule
    allows cutover, not Python.
  - Parses the one JSON document cutover prints (contract version 1), returns
    it as C(cutover), takes C(changed) from its C(changed) and fails with its
    C(error.message) and C(error.code).
  - Output of a cutover from before the contract (no envelope) is understood
    too, C(changed) then derived from the exit code and the verb.
  - A switch or rollback to the release that is already current is not an
    error here; it reports C(changed=false).
version_added: "1.0.0"
options:
  app:
    description: The app, as named in /etc/cutover/APP.conf.
    type: str
    required: true
  verb:
    description: The cutover verb.
    type: str
    required: true
    choices: [stage, switch, rollback, migrate, prune, status, list]
  from:
    description: (stage) The artifact or source on the host (C(--from)).
    type: str
  id:
    description:
      - (stage) The release id to give the new release (C(--id)); the same on
        every host, so that switch and a later rollback can name it. Staging an
        id that exists with the same content is not a change.
      - (switch, rollback, migrate) The release to switch to, roll back to or
        migrate.
    type: str
  label:
    description: (stage) A label for the release (C(--label)).
    type: str
  pretend:
    description: (migrate) Only list the migrations that would run.
    type: bool
    default: false
  allow_destructive:
    description: (migrate) Run migrations that drop, rename or retype tables or columns.
    type: bool
    default: false
  keep:
    description: (prune) Releases to keep (C(--keep)); default the app's config.
    type: int
  wait:
    description: Wait up to this many seconds for another cutover run's lock (C(--wait)).
    type: int
  at:
    description:
      - (switch, rollback) Wall-clock time (seconds since the epoch) to run at;
        the module sleeps until then. Given the same value on every host, the
        hosts switch together however late Ansible reached each of them.
        A time in the past runs at once; more than 600 s ahead is refused.
        If the controller's connection is gone by then, nothing runs.
    type: float
  extra:
    description: More arguments after the verb's own (the sudo rule must allow them).
    type: list
    elements: str
    default: []
  sudo:
    description: Run cutover through C(sudo -n) (as the CI user); false when connected as root.
    type: bool
    default: true
  binary:
    description: The cutover command as the sudo rule names it.
    type: str
    default: cutover
notes:
  - "Check mode: status and list run; stage reports a change unless a release
    with that id exists; switch and rollback report a change unless the
    target is already current; migrate runs with --pretend and reports a change
    if a migration would run; prune is not simulated (no change reported)."
author: cutover contributors
"""

EXAMPLES = r"""
- name: Stage build 42 on every host
  cutover.fleet.cutover:
    app: shop
    verb: stage
    from: /srv/ci/shop-42.tar.gz
    id: b42

- name: Switch to it
  cutover.fleet.cutover:
    app: shop
    verb: switch
    id: b42
"""

RETURN = r"""
cutover:
  description: The document cutover printed (a synthesized one, with C(synthesized=true), when it printed none).
  returned: always
  type: dict
release:
  description: The release staged, switched to, rolled back to or migrated.
  returned: when known
  type: str
current_before:
  description: The live release before the run.
  returned: always
  type: str
current_after:
  description: The live release after the run.
  returned: always
  type: str
code:
  description: cutover's error code (usage, not_permitted, locked, not_found, exists, unhealthy, ...).
  returned: failure
  type: str
rc:
  description: cutover's exit code (sudo's when sudo refused).
  returned: always
  type: int
"""

import json
import re
import select
import sys
import time

from ansible.module_utils.basic import AnsibleModule

CHANGING = ("stage", "switch", "rollback", "migrate", "prune")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ALREADY_CURRENT = "is already current"


class Cutover:
    """Runs cutover as the module's user, through sudo unless told not to."""

    def __init__(self, module):
        self.module = module
        self.app = module.params["app"]
        self.prefix = (["sudo", "-n"] if module.params["sudo"] else []) + [module.params["binary"]]

    def call(self, verb, args):
        """One run of `cutover --json VERB APP ARGS...`: the command, its
        exit code, the normalized document, stderr."""
        cmd = self.prefix + ["--json", verb, self.app] + args
        rc, out, err = self.module.run_command(cmd)
        doc = normalize(verb, self.app, rc, parse_document(out), err)
        return cmd, rc, doc, err


def parse_document(out):
    """The JSON document on stdout, or None. The contract says exactly one;
    a cutover before it may print other lines first."""
    text = out.strip()
    if not text:
        return None
    for candidate in (text, text.splitlines()[-1]):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def stderr_message(err, rc):
    """cutover's last error line (without 'cutover: '), sudo's refusal, or
    the last line of stderr."""
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("cutover: "):
            return line[len("cutover: "):]
    for line in reversed(lines):
        if line.startswith("sudo:"):
            return line
    if lines:
        return lines[-1]
    return "exit code %d and no JSON document on stdout" % rc


def legacy_code(rc, err, message):
    if message.startswith("sudo:") or "sudo:" in err:
        return "not_permitted"
    if rc == 2:
        return "usage"
    if rc == 3:
        return "unhealthy_rolled_back"
    if "pass --allow-destructive" in message:
        return "migration_refused"
    if "health check failed" in message:
        return "unhealthy"
    if "lock" in message and "held" in message:
        return "locked"
    return "internal"


def normalize(verb, app, rc, doc, err):
    """The document as contract version 1 has it. A document with the
    envelope is returned as is; anything else (no document: sudo refused, or
    cutover older than the contract; a bare list or an object without the
    envelope) is completed from the exit code and stderr, and marked
    synthesized."""
    if isinstance(doc, dict) and doc.get("cutover") is not None:
        return doc
    out = {}
    if isinstance(doc, list):
        out[{"list": "releases", "history": "events"}.get(verb, "items")] = doc
    elif isinstance(doc, dict):
        out.update(doc)
    out.update({"cutover": None, "synthesized": True, "verb": verb, "app": app, "ok": rc == 0, "exit": rc})
    if rc == 0:
        out["error"] = None
    else:
        message = stderr_message(err, rc)
        out["error"] = {"code": legacy_code(rc, err, message), "message": message}
    if verb in ("switch", "rollback") and rc == 0:
        out.setdefault("release", out.get("to"))
        out.setdefault("previous", out.get("from"))
        out.setdefault("current_before", out.get("from"))
        out.setdefault("current_after", out.get("to"))
    if verb == "status":
        out.setdefault("current_before", out.get("current"))
        out.setdefault("current_after", out.get("current"))
    out.setdefault("current_before", None)
    out.setdefault("current_after", None)
    if rc != 0 or verb not in CHANGING:
        changed = False
    elif isinstance(doc, dict) and isinstance(doc.get("changed"), bool):
        changed = doc["changed"]
    elif verb == "prune":
        changed = bool(out.get("removed"))
    elif verb == "migrate":
        changed = bool(out.get("migrations")) and not out.get("pretend", False)
    else:
        changed = True
    out["changed"] = changed
    return out


def release_matches(release, wanted):
    """A release of `list` is the one named: its id, its label, or (a
    cutover before stage --id) an id ending in -LABEL."""
    rid = release.get("id") or ""
    return rid == wanted or release.get("label") == wanted or rid.endswith("-" + wanted)


def find_release(runner, wanted):
    """The frozen release named WANTED on the host (None if none), and the
    list document."""
    cmd, rc, doc, err = runner.call("list", [])
    if rc != 0:
        fail(runner.module, "list", cmd, rc, doc, err)
    for release in doc.get("releases") or []:
        if release_matches(release, wanted) and release.get("state", "frozen") == "frozen":
            return release, doc
    return None, doc


def verb_args(params, verb):
    args = []
    if verb == "stage":
        args += ["--from", params["from"]]
        if params["id"]:
            args += ["--id", params["id"]]
        if params["label"]:
            args += ["--label", params["label"]]
    elif verb in ("switch", "rollback") and params["id"]:
        args.append(params["id"])
    elif verb == "migrate":
        args.append(params["id"])
        if params["pretend"]:
            args.append("--pretend")
        if params["allow_destructive"]:
            args.append("--allow-destructive")
    elif verb == "prune" and params["keep"] is not None:
        args += ["--keep", str(params["keep"])]
    if params["wait"] is not None:
        args += ["--wait", str(params["wait"])]
    return args + list(params["extra"])


def result_of(doc, cmd, rc, err, changed):
    return dict(
        changed=bool(changed),
        cutover=doc,
        release=doc.get("release"),
        current_before=doc.get("current_before"),
        current_after=doc.get("current_after"),
        rc=rc,
        cmd=cmd,
        stderr=err,
    )


def fail(module, verb, cmd, rc, doc, err):
    error = doc.get("error") or {}
    message = error.get("message") or stderr_message(err, rc)
    result = result_of(doc, cmd, rc, err, doc.get("changed", False))
    module.fail_json(msg="cutover %s %s: %s" % (verb, module.params["app"], message),
                     code=error.get("code", "internal"), **result)


def stage_without_id(module, runner, params):
    """A cutover from before `stage --id`: the id becomes the label (switch
    and rollback accept a unique label), and a release already labelled so
    is taken as staged (its content cannot be compared)."""
    found, listing = find_release(runner, params["id"])
    if found:
        doc = dict(listing, verb="stage", release=found["id"], changed=False)
        doc.pop("releases", None)
        module.exit_json(**result_of(doc, [], 0, "", False))
    args = ["--from", params["from"], "--label", params["id"]] + list(params["extra"])
    if params["wait"] is not None:
        args += ["--wait", str(params["wait"])]
    return runner.call("stage", args)


def check_mode(module, runner, params, verb):
    """What the verb would do, changing nothing."""
    cmd, rc, doc, err = [], 0, {"cutover": None, "synthesized": True, "check_mode": True}, ""
    changed = False
    if verb in ("status", "list"):
        cmd, rc, doc, err = runner.call(verb, verb_args(params, verb))
        if rc != 0:
            fail(module, verb, cmd, rc, doc, err)
    elif verb == "stage":
        changed = True
        if params["id"]:
            found, _ = find_release(runner, params["id"])
            changed = found is None
            doc["release"] = found["id"] if found else params["id"]
    elif verb in ("switch", "rollback"):
        cmd, rc, status, err = runner.call("status", [])
        if rc != 0:
            fail(module, "status", cmd, rc, status, err)
        current = status.get("current")
        doc["current_before"] = doc["current_after"] = current
        if params["id"]:
            found, _ = find_release(runner, params["id"])
            target = found["id"] if found else params["id"]
            if not found:
                module.warn("release %s is not on the host (yet); a real run would fail unless it is staged first" % params["id"])
        else:
            target = status.get("previous")
        doc["release"] = target
        changed = target is not None and target != current
    elif verb == "migrate":
        cmd, rc, doc, err = runner.call("migrate", verb_args(dict(params, pretend=True), verb))
        if rc != 0:
            fail(module, verb, cmd, rc, doc, err)
        changed = bool(doc.get("migrations"))
    else:
        doc["msg"] = "prune is not simulated in check mode"
    module.exit_json(**result_of(doc, cmd, rc, err, changed))


def controller_gone():
    """Whether nobody reads our result any more: the write end of a pipe
    whose reader has gone polls POLLERR (the ssh session that ran us was
    cut while we waited)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def wait_until(module, at):
    """Sleeps until the wall-clock time AT. A host cut off from the
    controller meanwhile does not switch: the playbook counts it as
    unreachable and rolls the others back, so it must stay where it was."""
    now = time.time()
    if at - now > 600:
        module.fail_json(msg="at=%.3f is more than 600 s from now (%.3f)" % (at, now), code="usage")
    if at > now:
        time.sleep(at - now)
    if controller_gone():
        sys.exit(1)
    return max(0.0, at - now)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            verb=dict(type="str", required=True, choices=["stage", "switch", "rollback", "migrate", "prune", "status", "list"]),
            id=dict(type="str"),
            label=dict(type="str"),
            pretend=dict(type="bool", default=False),
            allow_destructive=dict(type="bool", default=False),
            keep=dict(type="int"),
            wait=dict(type="int"),
            at=dict(type="float"),
            extra=dict(type="list", elements="str", default=[]),
            sudo=dict(type="bool", default=True),
            binary=dict(type="str", default="cutover"),
            **{"from": dict(type="str")}
        ),
        required_if=[("verb", "stage", ["from"]), ("verb", "switch", ["id"]), ("verb", "migrate", ["id"])],
        supports_check_mode=True,
    )
    params = module.params
    verb = params["verb"]
    # Values become single arguments of a sudo rule that refuses any
    # starting with '-' (and cutover refuses them as options anyway).
    for key in ("app", "id", "label", "from"):
        value = params[key]
        if value is not None and (not value or value.startswith("-") or any(c.isspace() for c in value)):
            module.fail_json(msg="%s %r: empty, starting with '-' or with white space" % (key, value), code="usage")
    if params["id"] is not None and not ID_RE.match(params["id"]):
        module.fail_json(msg="id %r: letters, digits, '.', '_' and '-' only, starting with a letter or digit" % params["id"], code="usage")
    if params["at"] is not None and verb not in ("switch", "rollback"):
        module.fail_json(msg="at is for switch and rollback only", code="usage")

    runner = Cutover(module)
    if module.check_mode:
        check_mode(module, runner, params, verb)

    waited = wait_until(module, params["at"]) if params["at"] is not None else None
    started = time.time()
    cmd, rc, doc, err = runner.call(verb, verb_args(params, verb))
    if verb == "stage" and params["id"] and rc == 2 and "'--id'" in err:
        cmd, rc, doc, err = stage_without_id(module, runner, params)
    if rc != 0 and verb in ("switch", "rollback") and ALREADY_CURRENT in ((doc.get("error") or {}).get("message") or ""):
        # Idempotent: the target is live already, nothing to do.
        doc = dict(doc, ok=True, error=None, changed=False)
        doc["current_before"] = doc["current_after"] = doc.get("current_before") or doc.get("current_after")
        # rc 0: Ansible takes a result's non-zero rc for a failure.
        result = result_of(doc, cmd, 0, err, False)
        result["msg"] = "already current"
        module.exit_json(**result)
    if rc != 0:
        fail(module, verb, cmd, rc, doc, err)
    result = result_of(doc, cmd, rc, err, doc.get("changed", False))
    if waited is not None:
        result["waited"] = round(waited, 3)
        result["started"] = round(started, 6)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
