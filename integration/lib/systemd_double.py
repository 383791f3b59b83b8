#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""systemd_double.py: the systemd of the reload = swap integration tests.

This machine (and CI's container) has no systemd as PID 1, so the tests
replace /usr/bin/systemctl, inside the test's private mount namespace, by
a copy of build/tools/systemctl_double, which hands its argument vector to
this daemon over a unix socket (integration/lib/swap.sh sets it all up).
The daemon implements what the helper runs (tools/SWAP_SPEC.md,
"systemctl"), for `cutover-fpm@APP:S.service` units only, as
dist/cutover-fpm@.service describes them:

  Type=notify, NotifyAccess=main   READY=1 from the main pid over
                                   NOTIFY_SOCKET ends the start
  ExecStart=CUTOVER_BIN [-c CONF] fpm-exec %i   (or --exec-start ARG...)
  KillSignal=SIGQUIT, KillMode=mixed   SIGQUIT to the main pid; SIGKILL to
                                   whatever of the unit is left when the
                                   main pid is gone or TimeoutStopSec ran out
  TimeoutStartSec=30, TimeoutStopSec=90 (--stop-timeout for the tests)
  Restart=on-failure, RestartSec=100ms
  StartLimitIntervalSec=30, StartLimitBurst=5

It runs as PID 1 of its own pid namespace (`unshare --pid --fork
--kill-child`, without --mount-proc): `cutover fpm-exec` sees getppid() ==
1 exactly as under systemd, every orphan is reparented to the daemon and
reaped by it, and killing the namespace's PID 1 kills everything in it.
/proc stays the host's, so the pids it reports (MainPID) are host pids,
as the helper expects; a unit's processes are the ones in the main
process's session (the daemon starts each main process with setsid, as
systemd does; a cgroup it has not).

Differences from systemd, on purpose: a start that fails (the process
exits before READY=1, or TimeoutStartSec) leaves the unit "failed" and
is not restarted (SWAP_SPEC.md); only the unit's exit while it was
active is restarted.

Usage:
  systemd_double.py serve --dir DIR [--bin CUTOVER_BIN] [--conf CONF]
                          [--exec-start ARG ...] [--stop-timeout S]
                          [--start-timeout S]
      DIR/ctl           the control socket (systemctl_double and `ctl`)
      DIR/notify        NOTIFY_SOCKET of every unit
      DIR/UNIT.log      a unit's stdout and stderr
      DIR/calls.log     one JSON line per systemctl call: argv, env, uid,
                        exit code
      DIR/daemon.log    the daemon's own log (state changes)
      DIR/ready         written once the sockets listen
  systemd_double.py ctl DIR/ctl      COMMAND [UNIT]
      show UNIT | shutdown | units: the test library's own channel (not
      logged in calls.log)
"""

import argparse
import errno
import json
import os
import re
import select
import signal
import socket
import struct
import sys
import time

UNIT_RE = re.compile(r"^cutover-fpm@([A-Za-z0-9][A-Za-z0-9._-]*):([ab])\.service$")
COMMON = ["--quiet", "--no-ask-password", "--no-pager"]
SHOW_ARGS = ["--no-ask-password", "--no-pager", "show",
             "--property=ActiveState,SubState,MainPID,NRestarts"]
RESTART_SEC = 0.1
START_LIMIT_INTERVAL = 30.0
START_LIMIT_BURST = 5
UNIT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def now():
    return time.monotonic()


class Unit:
    def __init__(self, name):
        self.name = name
        self.instance = name[len("cutover-fpm@"):-len(".service")]
        self.state = "inactive"     # ActiveState
        self.sub = "dead"           # SubState
        self.result = "success"
        self.main = 0               # ns pid of the main process
        self.main_host = 0          # its host pid
        self.sid = 0                # host session id of its processes
        self.nrestarts = 0
        self.starts = []            # monotonic times of recent starts
        self.start_waiters = []     # client connections waiting for READY
        self.stop_waiters = []      # ... for the stop to finish
        self.deadline = None        # start or stop timeout
        self.restart_at = None
        self.stopping = False       # a stop was asked for (not a crash)
        self.killed = False         # SIGKILL sent after the stop timeout
        self.exit_code = None       # the main pid's, until the unit drained
        self.queued_starts = []     # start calls waiting for a stop to end


class Double:
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.dir)
        self.units = {}
        self.log = open(os.path.join(self.dir, "daemon.log"), "a", buffering=1)
        self.calls = open(os.path.join(self.dir, "calls.log"), "a", buffering=1)
        self.my_ns = os.readlink("/proc/self/ns/pid")
        self.shutting_down = False
        self.shutdown_waiters = []

    def say(self, text):
        self.log.write("%.3f %s\n" % (time.time(), text))

    # ---- processes -------------------------------------------------

    def procs(self):
        """(host pid, ns pid, host session id) of every process in our
        pid namespace but ourselves."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/ns/pid" % entry) != self.my_ns:
                    continue
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
                with open("/proc/%s/status" % entry) as f:
                    nspid = [l for l in f if l.startswith("NSpid:")][0].split()[1:]
            except (OSError, IndexError):
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            ns = int(nspid[-1])
            if ns == 1 or fields[0] == "Z":
                continue
            out.append((int(entry), ns, int(fields[3])))
        return out

    def unit_procs(self, u):
        """ns pids of the unit's processes: its main pid's session."""
        if not u.sid:
            return []
        return [ns for host, ns, sid in self.procs() if sid == u.sid]

    def kill_all(self, u, sig):
        for ns in self.unit_procs(u):
            try:
                os.kill(ns, sig)
            except OSError:
                pass

    def exec_argv(self, u):
        if self.args.exec_start:
            return [a.replace("%i", u.instance) for a in self.args.exec_start]
        argv = [self.args.bin]
        if self.args.conf:
            argv += ["-c", self.args.conf]
        return argv + ["fpm-exec", u.instance]

    def spawn(self, u):
        """Forks the unit's ExecStart as systemd would: its own session,
        cwd /, umask 0022, stdin /dev/null, stdout and stderr to the
        unit's log, no other descriptor, a clean environment."""
        argv = self.exec_argv(u)
        r, w = os.pipe2(os.O_CLOEXEC)
        log = os.open(os.path.join(self.dir, u.name + ".log"),
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        invocation = os.urandom(16).hex()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.setsid()
                os.umask(0o022)
                os.chdir("/")
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                for s in range(1, signal.NSIG):
                    try:
                        signal.signal(s, signal.SIG_DFL)
                    except (OSError, ValueError):
                        pass
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                os.write(w, os.readlink("/proc/self").encode() + b"\n")
                os.closerange(3, w)
                os.closerange(w + 1, 65536)
                env = {
                    "PATH": UNIT_PATH,
                    "INVOCATION_ID": invocation,
                    "NOTIFY_SOCKET": os.path.join(self.dir, "notify"),
                    "SYSTEMD_EXEC_PID": str(os.getpid()),
                }
                os.execve(argv[0], argv, env)
            except OSError as e:
                os.write(w, b"E %d\n" % e.errno)
            os._exit(203)
        os.close(w)
        os.close(log)
        data = b""
        while True:
            chunk = os.read(r, 256)
            if not chunk:
                break
            data += chunk
        os.close(r)
        lines = data.decode().split()
        u.main = pid
        u.main_host = int(lines[0]) if lines else 0
        u.sid = u.main_host
        self.say("%s: started %s as pid %d (host %d)" % (u.name, argv, pid, u.main_host))
        if len(lines) > 1:
            self.say("%s: exec failed: %s" % (u.name, " ".join(lines[1:])))

    # ---- state changes ---------------------------------------------

    def set_state(self, u, state, sub):
        if (u.state, u.sub) != (state, sub):
            self.say("%s: %s/%s -> %s/%s" % (u.name, u.state, u.sub, state, sub))
        u.state, u.sub = state, sub

    def start(self, u, auto):
        """Returns None when started (READY pending), or an error text."""
        t = now()
        u.starts = [s for s in u.starts if t - s < START_LIMIT_INTERVAL]
        if len(u.starts) >= START_LIMIT_BURST:
            u.result = "start-limit-hit"
            self.set_state(u, "failed", "failed")
            return "start-limit-hit"
        u.starts.append(t)
        if auto:
            u.nrestarts += 1
        u.stopping = False
        u.killed = False
        u.restart_at = None
        self.set_state(u, "activating", "start")
        self.spawn(u)
        u.deadline = t + self.args.start_timeout
        return None

    def ready(self, u):
        if u.state != "activating" or u.sub != "start":
            return
        self.set_state(u, "active", "running")
        u.deadline = None
        u.result = "success"
        self.answer_all(u.start_waiters, 0)

    def stop(self, u):
        if u.restart_at is not None:
            u.restart_at = None
            self.set_state(u, "inactive", "dead")
            return
        if u.exit_code is not None:
            # The main process is gone, the rest is being killed.
            u.stopping = True
            if u.state == "activating":
                self.answer_all(u.start_waiters, 1, "", self.failed_text(u, "start was cancelled"))
            self.set_state(u, "deactivating", "stop-sigkill")
            return
        if not u.main:
            if u.state in ("activating", "active", "deactivating"):
                self.set_state(u, "inactive", "dead")
            return
        if u.stopping:
            return
        u.stopping = True
        if u.state == "activating":
            self.answer_all(u.start_waiters, 1, "", self.failed_text(u, "start was cancelled"))
        self.set_state(u, "deactivating", "stop-sigterm")
        u.deadline = now() + self.args.stop_timeout
        try:
            os.kill(u.main, signal.SIGQUIT)
        except OSError:
            pass

    def main_exited(self, u, status):
        code = os.waitstatus_to_exitcode(status)
        self.say("%s: main pid %d exited: %s" % (u.name, u.main, code))
        # KillMode=mixed: whatever of the unit is left goes with SIGKILL;
        # the unit's next state waits until it is gone (drained), as
        # systemd waits for the cgroup to be empty.
        self.kill_all(u, signal.SIGKILL)
        u.main = 0
        u.main_host = 0
        u.deadline = None
        u.exit_code = code
        if u.state == "active":
            # A crash: what is left of the unit is being killed.
            self.set_state(u, "deactivating", "stop-sigterm")

    def drained(self, u):
        """The main process is gone, and with it the rest of the unit."""
        self.unit_down(u)
        if u.queued_starts and u.state in ("inactive", "failed") and u.result != "start-limit-hit":
            # systemd runs a start job queued behind the stop now.
            waiters, u.queued_starts = u.queued_starts, []
            u.restart_at = None
            if self.start(u, auto=False):
                self.answer_all(waiters, 1, "", "Job for %s failed.\nStart request repeated too quickly.\n" % u.name)
            else:
                u.start_waiters += waiters
        elif u.queued_starts:
            self.answer_all(u.queued_starts, 1, "", self.failed_text(u, "the unit failed"))

    def unit_down(self, u):
        code = u.exit_code
        u.exit_code = None
        u.sid = 0
        if u.stopping:
            u.stopping = False
            u.result = "success"
            self.set_state(u, "inactive", "dead")
            self.answer_all(u.stop_waiters, 0)
            return
        if u.state == "activating":
            u.result = "exit-code" if code >= 0 else "signal"
            self.set_state(u, "failed", "failed")
            self.answer_all(u.start_waiters, 1, "",
                            self.failed_text(u, "the control process exited with %s" % code))
            return
        clean = code == 0 or code in (-signal.SIGHUP, -signal.SIGINT, -signal.SIGTERM, -signal.SIGPIPE)
        if clean:
            u.result = "success"
            self.set_state(u, "inactive", "dead")
            return
        u.result = "exit-code" if code > 0 else "signal"
        self.set_state(u, "activating", "auto-restart")
        u.restart_at = now() + RESTART_SEC

    def timeouts(self):
        t = now()
        for u in self.units.values():
            if u.exit_code is not None:
                rest = self.unit_procs(u)
                if rest:
                    for ns in rest:
                        try:
                            os.kill(ns, signal.SIGKILL)
                        except OSError:
                            pass
                    continue
                self.drained(u)
            if u.restart_at is not None and t >= u.restart_at:
                u.restart_at = None
                if self.start(u, auto=True):
                    self.say("%s: start limit hit, not restarted" % u.name)
            if u.deadline is not None and t >= u.deadline:
                u.deadline = None
                if u.state == "activating" and u.main:
                    self.say("%s: start timed out" % u.name)
                    self.answer_all(u.start_waiters, 1, "", self.failed_text(u, "a timeout was exceeded"))
                    u.stopping = True
                    self.kill_all(u, signal.SIGKILL)
                    u.result = "timeout"
                    # main_exited makes it inactive; it failed instead.
                    self.set_state(u, "deactivating", "stop-sigkill")
                    u.stop_waiters.append(u)
                elif u.state == "deactivating" and u.main:
                    self.say("%s: stop timed out, SIGKILL" % u.name)
                    u.killed = True
                    self.set_state(u, "deactivating", "stop-sigkill")
                    self.kill_all(u, signal.SIGKILL)

    def next_timeout(self):
        times = []
        for u in self.units.values():
            times += [x for x in (u.deadline, u.restart_at) if x is not None]
            if u.exit_code is not None:
                times.append(now() + 0.01)
        if not times:
            return 1.0
        return max(0.0, min(min(times) - now(), 1.0))

    def failed_text(self, u, why):
        return ("Job for %s failed because %s.\n"
                "See \"systemctl status %s\" and \"journalctl -xeu %s\" for details.\n"
                % (u.name, why, u.name, u.name))

    # ---- clients -----------------------------------------------------

    def answer(self, conn, rc, out="", err=""):
        if isinstance(conn, Unit):
            # Not a client: the unit whose start timed out, now killed.
            conn.result = "timeout"
            self.set_state(conn, "failed", "failed")
            return
        if conn is None:
            return
        sock, call = conn
        if call is not None:
            call["rc"] = rc
            self.calls.write(json.dumps(call) + "\n")
        try:
            sock.sendall(b"%d\0%s\0%s" % (rc, out.encode(), err.encode()))
        except OSError:
            pass
        sock.close()

    def answer_all(self, waiters, rc, out="", err=""):
        while waiters:
            self.answer(waiters.pop(0), rc, out, err)

    def unit(self, name):
        if name not in self.units:
            self.units[name] = Unit(name)
        return self.units[name]

    def show(self, u):
        # systemctl prints the service's properties before the unit's,
        # not in the order asked for: callers must not rely on the order.
        return ("MainPID=%d\nNRestarts=%d\nActiveState=%s\nSubState=%s\n"
                % (u.main_host, u.nrestarts, u.state, u.sub))

    def systemctl(self, conn, argv):
        """One systemctl call: exactly the argument vectors the helper
        runs; anything else is refused with exit code 2."""
        unit = argv[-1] if argv else ""
        m = UNIT_RE.match(unit)
        verb = None
        if m and argv[:-1] == COMMON + ["start"]:
            verb = "start"
        elif m and argv[:-1] == COMMON + ["stop"]:
            verb = "stop"
        elif m and argv[:-1] == COMMON + ["--no-block", "stop"]:
            verb = "stop-nowait"
        elif m and argv[:-1] == SHOW_ARGS:
            verb = "show"
        elif m and argv[:-1] == COMMON + ["reset-failed"]:
            verb = "reset-failed"
        if verb is None:
            return self.answer(conn, 2, "",
                               "systemctl (test double): unexpected arguments: %s\n" % json.dumps(argv))
        u = self.unit(unit)
        self.say("%s: systemctl %s" % (u.name, verb))
        if verb == "show":
            return self.answer(conn, 0, self.show(u))
        if verb == "reset-failed":
            if u.state == "failed":
                self.set_state(u, "inactive", "dead")
            u.nrestarts = 0
            u.starts = []
            u.result = "success"
            return self.answer(conn, 0)
        if verb in ("stop", "stop-nowait"):
            self.stop(u)
            if u.state == "deactivating" and verb == "stop":
                u.stop_waiters.append(conn)
                return None
            return self.answer(conn, 0)
        # start
        if self.shutting_down:
            return self.answer(conn, 1, "", "systemd_double: shutting down\n")
        if u.state == "active" or (u.state == "activating" and u.sub == "start"):
            if u.state == "active":
                return self.answer(conn, 0)
            u.start_waiters.append(conn)
            return None
        if u.state == "deactivating":
            # Queued behind the stop, as systemd queues the start job.
            u.queued_starts.append(conn)
            return None
        if u.restart_at is not None:
            # systemd turns an auto-restart into this start at once.
            u.restart_at = None
        if u.state == "failed" and u.result == "start-limit-hit":
            return self.answer(conn, 1, "", "Job for %s failed.\nStart request repeated too quickly.\n" % u.name)
        err = self.start(u, auto=False)
        if err:
            return self.answer(conn, 1, "", "Job for %s failed.\nStart request repeated too quickly.\n" % u.name)
        u.start_waiters.append(conn)
        return None

    def ctl(self, conn, argv):
        """The test library's own commands."""
        if argv == ["shutdown"]:
            self.shutting_down = True
            self.shutdown_waiters.append(conn)
            for u in self.units.values():
                u.restart_at = None
                self.answer_all(u.queued_starts, 1, "", "systemd_double: shutting down\n")
                self.stop(u)
            return None
        if len(argv) == 2 and argv[0] == "show":
            return self.answer(conn, 0, self.show(self.unit(argv[1])))
        if argv == ["units"]:
            return self.answer(conn, 0, "".join(
                "%s %s %s %d %d\n" % (u.name, u.state, u.sub, u.main_host, u.nrestarts)
                for u in self.units.values()))
        return self.answer(conn, 2, "", "systemd_double ctl: unknown command %s\n" % json.dumps(argv))

    def request(self, sock):
        data = b""
        sock.settimeout(5)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            cred = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        except OSError:
            sock.close()
            return
        pid, uid, gid = struct.unpack("3i", cred)
        parts = data.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        parts = [p.decode("utf-8", "replace") for p in parts]
        if len(parts) >= 2 and parts[0] == "systemctl" and parts[1].isdigit():
            n = int(parts[1])
            argv, env = parts[2:2 + n], parts[2 + n:]
            call = {"argv": argv, "env": env, "uid": uid, "pid": pid}
            return self.systemctl((sock, call), argv)
        if len(parts) >= 1 and parts[0] == "ctl":
            return self.ctl((sock, None), parts[1:])
        self.answer((sock, None), 2, "", "systemd_double: malformed request\n")

    # ---- the loop ----------------------------------------------------

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for u in self.units.values():
                if u.main == pid:
                    self.main_exited(u, status)
                    break

    def notify(self, nsock):
        while True:
            try:
                msg, anc, _, _ = nsock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
            except BlockingIOError:
                return
            pid = None
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", data[:struct.calcsize("3i")])[0]
            lines = msg.decode("utf-8", "replace").split("\n")
            for u in self.units.values():
                # NotifyAccess=main
                if pid and u.main == pid and "READY=1" in lines:
                    self.say("%s: READY=1 from pid %d" % (u.name, pid))
                    self.ready(u)

    def serve(self):
        ctl_path = os.path.join(self.dir, "ctl")
        notify_path = os.path.join(self.dir, "notify")
        for p in (ctl_path, notify_path):
            if len(p.encode()) >= 108:
                sys.exit("systemd_double: socket path too long: %s" % p)
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(ctl_path)
        os.chmod(ctl_path, 0o600)
        lsock.listen(64)
        nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        nsock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        nsock.bind(notify_path)
        os.chmod(notify_path, 0o600)
        nsock.setblocking(False)
        rpipe, wpipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wpipe)
        signal.signal(signal.SIGCHLD, lambda s, f: None)
        signal.signal(signal.SIGTERM, lambda s, f: self.ctl(None, ["shutdown"]))
        signal.signal(signal.SIGINT, lambda s, f: self.ctl(None, ["shutdown"]))
        with open(os.path.join(self.dir, "ready"), "w") as f:
            f.write("%d\n" % os.getpid())
        self.say("listening on %s (pid %d in its namespace)" % (ctl_path, os.getpid()))
        while True:
            try:
                ready, _, _ = select.select([lsock, nsock, rpipe], [], [], self.next_timeout())
            except InterruptedError:
                ready = []
            if rpipe in ready:
                try:
                    while os.read(rpipe, 256):
                        pass
                except BlockingIOError:
                    pass
            self.reap()
            if nsock in ready:
                self.notify(nsock)
            if lsock in ready:
                conn, _ = lsock.accept()
                self.request(conn)
            self.timeouts()
            self.reap()
            if self.shutting_down and not any(u.main or u.exit_code is not None
                                              for u in self.units.values()):
                left = self.procs()
                for host, ns, sid in left:
                    try:
                        os.kill(ns, signal.SIGKILL)
                    except OSError:
                        pass
                if left:
                    continue
                self.say("shut down")
                self.answer_all(self.shutdown_waiters, 0)
                return 0


def ctl_main(path, argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        sys.stderr.write("systemd_double ctl: cannot connect to %s: %s\n" % (path, e.strerror))
        return 1
    s.sendall(b"".join(a.encode() + b"\0" for a in ["ctl"] + argv))
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    rc, out, err = (data.split(b"\0", 2) + [b"", b""])[:3]
    sys.stdout.write(out.decode())
    sys.stderr.write(err.decode())
    return int(rc or 1)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "ctl":
        return ctl_main(sys.argv[2], sys.argv[3:])
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve"])
    p.add_argument("--dir", required=True)
    p.add_argument("--bin")
    p.add_argument("--conf")
    p.add_argument("--exec-start", nargs="+")
    p.add_argument("--start-timeout", type=float, default=30.0)
    p.add_argument("--stop-timeout", type=float, default=90.0)
    args = p.parse_args()
    if not args.exec_start and not args.bin:
        p.error("--bin or --exec-start is required")
    if os.getpid() != 1:
        sys.exit("systemd_double: must run as PID 1 of its own pid namespace (unshare --pid --fork)")
    return Double(args).serve()


if __name__ == "__main__":
    sys.exit(main())
