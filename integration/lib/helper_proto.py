#!/usr/bin/env python3
"""The helper's protocol (src/common/proto.h), spoken directly: what a
compromised front end could send. For the integration tests. The op
numbers are read from proto.h's PROTO_REQUESTS, in order, so a new row
does not silently shift them.
Usage as module: h = Helper(verb, app, who, config); m, others = h.call(op, ...)"""
import os, socket, struct, subprocess, sys, array

MAGIC = 0x30545543
VERSION = 2
FMT = '<IHHiIII4Q72s72s1024s'
SIZE = struct.calcsize(FMT)
import re
_here = os.path.dirname(os.path.abspath(__file__))
_proto_h = os.path.join(_here, '..', '..', 'src', 'common', 'proto.h')
def _ops():
    text = open(_proto_h).read()
    body = text[text.index('#define PROTO_REQUESTS(X)'):text.index('#define PROTO_READER_REQUESTS')]
    return ['none'] + re.findall(r'X\([A-Z_]+, "([a-z-]+)"', body)
OPS = _ops()
OP = {n: i for i, n in enumerate(OPS)}
OP['source-open'] = 81
REPLIES = {100:'reply',101:'output',102:'entry',103:'end',104:'source-file',105:'source-tree'}
HELPER = os.environ.get('HELPER', os.path.join(_here, '..', '..', 'build', 'cutover-helper'))

def pack(op, status=0, args=(0,0,0,0), id=b'', id2=b'', text=b'', len_=None, error=0, reserved=0, magic=MAGIC, version=VERSION):
    if isinstance(op, str): op = OP[op]
    if isinstance(text, str): text = text.encode()
    if isinstance(id, str): id = id.encode()
    if isinstance(id2, str): id2 = id2.encode()
    a = list(args) + [0]*(4-len(args))
    return struct.pack(FMT, magic, version, op, status, len(text) if len_ is None else len_, error, reserved, *a, id, id2, text)

def unpack(b):
    magic, ver, op, status, ln, err, res, a0, a1, a2, a3, id_, id2, text = struct.unpack(FMT, b)
    return dict(op=REPLIES.get(op, op), status=status, error=err, args=(a0,a1,a2,a3),
                id=id_.split(b'\0')[0].decode(errors='replace'), id2=id2.split(b'\0')[0].decode(errors='replace'),
                text=text[:ln] if op == 101 else text.split(b'\0')[0])

class Helper:
    def __init__(self, verb, app, who, config, helper=HELPER, env=None):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s = a
        fd = b.fileno()
        argv = [helper, verb, app, who] + ([config] if config else [])
        self.p = subprocess.Popen(['/bin/sh', '-c', 'exec 3<&%d %d<&-; exec "$0" "$@"' % (fd, fd)] + argv,
                                  pass_fds=(fd,), close_fds=True, env=env)
        b.close()
        self.hello = self.recv()
    def send(self, op, **kw):
        self.s.send(pack(op, **kw))
    def sendraw(self, b):
        self.s.send(b)
    def recv(self, timeout=120):
        self.s.settimeout(timeout)
        try:
            msg, anc, flags, _ = self.s.recvmsg(SIZE + 1, socket.CMSG_SPACE(4 * 4))
        except socket.timeout:
            return None
        fds = []
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds += list(array.array('i', data[:len(data) - len(data) % 4]))
        if not msg:
            return {'op': 'EOF'}
        d = unpack(msg)
        d['fds'] = fds
        return d
    def call(self, op, **kw):
        """send, then collect messages until a reply/end/EOF; returns (final, others)"""
        self.send(op, **kw)
        others = []
        while True:
            m = self.recv()
            if m is None or m['op'] in ('reply', 'end', 'EOF'):
                return m, others
            others.append(m)
    def close(self):
        self.s.close()
        try:
            return self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill(); return self.p.wait()
