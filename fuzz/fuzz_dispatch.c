/* SPDX-License-Identifier: MIT */
/*
 * The helper's dispatcher (helpers/dispatch.c): records of every shape fed
 * to helper_serve() of a fresh helper, whose handlers are stubs here (the
 * real ones need privileges and a real app root). The stubs move the run's
 * phase as the real handlers do and answer with each return the handler
 * convention allows (helpers/helper.h), as the input says.
 *
 * Invariants: a handler runs only for an op its row permits for the verb
 * in the current phase; a once-only op runs at most once; after a refused
 * or malformed record nothing more is read; a refusal is answered by one
 * REPLY with -EPERM, which is the last message of the run.
 *
 * Input: byte 0 picks the verb; then records of 8 bytes: op, a shape
 * (0-5 well-formed, 6 short, 7 long, 8 bad magic), what the stub returns,
 * and 5 bytes for arg[0] and the first byte of id.
 */
#include "fuzz.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

#define FZ_MAX_RECORDS 32

static unsigned fz_calls[OP_REQUEST_MAX];
static bool fz_ended_by_handler;

static const unsigned fz_once[OP_REQUEST_MAX] = {
#define PROTO_X(u, name, handler, flags, ...) [OP_##u] = (flags) & OPF_ONCE,
	PROTO_REQUESTS(PROTO_X)
#undef PROTO_X
};

static int fz_stub(struct helper *h, unsigned op, const struct proto_msg *req, struct proto_msg *rep)
{
	static const enum proto_phase next[OP_REQUEST_MAX] = {
		[OP_LOCK] = PH_LOCKED, [OP_STAGE_BEGIN] = PH_STAGING, [OP_LINK_SHARED] = PH_LINKED,
		[OP_FREEZE] = PH_FROZEN, [OP_SWITCH] = PH_SWITCHED, [OP_ROLLBACK] = PH_SWITCHED,
		[OP_ABORT] = PH_DONE, [OP_MOUNT] = PH_DONE,
	};

	FUZZ_CHECK(helper_permits(h, (enum proto_op)op, h->phase));
	fz_calls[op]++;
	if (fz_once[op])
		FUZZ_CHECK(fz_calls[op] == 1);
	if (next[op])
		h->phase = next[op];
	switch (req->arg[0] % 5) {
	case 1:
		reply_init(rep, 0, NULL);
		return helper_send(h, rep, -1) < 0 ? -EPIPE : HANDLER_SENT;
	case 2:
		fz_ended_by_handler = true;
		return -EPROTO;
	case 3:
		return -EIO;
	case 4:
		fz_ended_by_handler = true;
		return -EPIPE;
	default:
		/* Never -EPERM: that is the dispatcher's refusal. */
		reply_init(rep, req->arg[0] % 2 ? -EINVAL : 0, "%s", req->text);
		return 0;
	}
}

#define PROTO_X(u, name, handler, ...) \
	int handler(struct helper *h, const struct proto_msg *req, struct proto_msg *rep) \
	{ return fz_stub(h, OP_##u, req, rep); }
PROTO_REQUESTS(PROTO_X)
#undef PROTO_X

/* Builds record i of the input into buf; its length, or 0 when the input
 * is used up. */
static size_t fz_record(const uint8_t *d, size_t n, char *buf, size_t cap)
{
	struct proto_msg m;
	size_t len = sizeof(m);

	if (n < 8)
		return 0;
	proto_init(&m, OP_REPLY);
	m.op = d[0] % 8 == 0 ? d[0] : (uint16_t)(d[0] % (OP_REQUEST_MAX + 2));
	m.arg[0] = d[2] | (uint64_t)d[3] << 8;
	if (d[4] & 1)
		m.id[0] = (char)d[5];   /* an invalid id, or a one-character one */
	m.text[0] = (char)d[6];
	m.len = d[6] ? 1 : 0;
	switch (d[1] % 9) {
	case 6:
		len = d[7] % sizeof(m);
		break;
	case 7:
		len = sizeof(m) + 1 + d[7] % 16;
		break;
	case 8:
		m.magic ^= 1u << (d[7] % 32);
		break;
	default:
		break;
	}
	if (len > cap)
		len = cap;
	memset(buf, 0, cap);
	memcpy(buf, &m, len < sizeof(m) ? len : sizeof(m));
	return len ? len : 1;   /* a zero-length record would read as EOF */
}

int fuzz_dispatch(const uint8_t *data, size_t size)
{
	struct helper h = { .lock_fd = -EBADF, .tree_fd = -EBADF, .absent = true };
	char buf[sizeof(struct proto_msg) + 32];
	size_t sent = 0, got = 0;
	struct proto_msg last;
	bool have_last = false;
	int sv[2], r;

	if (size < 1 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	memset(fz_calls, 0, sizeof(fz_calls));
	fz_ended_by_handler = false;
	h.verb = (enum proto_verb)(1 + data[0] % (PV_MAX - 1));
	h.verb_name = proto_verb_name(h.verb);
	h.sock = sv[0];
	for (size_t off = 1; sent < FZ_MAX_RECORDS; off += 8) {
		size_t len = fz_record(data + off, off < size ? size - off : 0, buf, sizeof(buf));

		if (!len || send(sv[1], buf, len, 0) != (ssize_t)len)
			break;
		sent++;
	}
	shutdown(sv[1], SHUT_WR);
	r = helper_serve(&h);

	/* A refusal (-EPERM, only the dispatcher sends it) is the last
	 * message of the run, and the run ended with an error. */
	for (;;) {
		ssize_t n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		FUZZ_CHECK(!have_last || !(last.op == OP_REPLY && last.status == -EPERM));
		FUZZ_CHECK(proto_decode(buf, (size_t)n, &last) == 0);
		have_last = true;
		got++;
	}
	if (have_last && last.op == OP_REPLY && last.status == -EPERM)
		FUZZ_CHECK(r < 0);
	/* A clean end (0) only after every record was read, unless a
	 * handler said the front end is gone. */
	if (r == 0 && !fz_ended_by_handler)
		FUZZ_CHECK(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) <= 0);
	(void)got;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

FUZZ_ENTRY(fuzz_dispatch)
