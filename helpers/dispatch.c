/* SPDX-License-Identifier: MIT */
/*
 * The helper's dispatcher: one row per request of PROTO_REQUESTS
 * (src/common/proto.h), default deny. A request that its row does not
 * permit for this verb, in this phase, or a second time, ends the run.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

void reply_init(struct proto_msg *m, int status, const char *fmt, ...)
{
	va_list ap;

	proto_init(m, OP_REPLY);
	m->status = status;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m->text, sizeof(m->text), fmt, ap);
		va_end(ap);
		m->len = (uint32_t)strlen(m->text);
	}
}

void reply_fail(struct proto_msg *m, int status, enum proto_error code, const char *subject)
{
	proto_init(m, OP_REPLY);
	m->status = status;
	m->error = code;
	if (subject)
		str_copy(m->text, sizeof(m->text), subject) < 0 ?
			(void)snprintf(m->text, sizeof(m->text), "%s", subject) : (void)0;
	m->len = (uint32_t)strlen(m->text);
}

int helper_send(struct helper *h, struct proto_msg *m, int fd)
{
	if (m->op != OP_OUTPUT)
		m->len = (uint32_t)strnlen(m->text, sizeof(m->text) - 1);
	return proto_send(h->sock, m, fd);
}

bool helper_peer_gone(const struct helper *h)
{
	struct pollfd pfd = { .fd = h->sock, .events = POLLRDHUP };

	/* The front end sends nothing while it waits for a reply, so only a
	 * hang-up can be pending. */
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* ---- dispatch ------------------------------------------------------ */

typedef int (*handler_fn)(struct helper *, const struct proto_msg *, struct proto_msg *);

/* The dispatch rows, one per request of PROTO_REQUESTS (src/common/proto.h):
 * default deny. */
static const struct op_row {
	handler_fn fn;
	unsigned flags;
	uint16_t phases[PV_MAX];   /* per verb: a bit per enum proto_phase */
} ops[OP_REQUEST_MAX] = {
#define PROTO_X(u, name, handler, flags_, ...) \
	[OP_##u] = { .fn = handler, .flags = flags_, .phases = { __VA_ARGS__ } },
	PROTO_REQUESTS(PROTO_X)
#undef PROTO_X
};

bool helper_permits(const struct helper *h, enum proto_op op, enum proto_phase phase)
{
	return op > OP_NONE && op < OP_REQUEST_MAX && (ops[op].phases[h->verb] & (1u << phase));
}

/* Is req.op allowed now? Marks a once-only op as used. */
static bool op_permitted(struct helper *h, unsigned op)
{
	uint32_t bit;

	if (op == OP_NONE || op >= OP_REQUEST_MAX || !ops[op].fn)
		return false;
	if (!(ops[op].phases[h->verb] & (1u << h->phase)))
		return false;
	if (ops[op].flags & OPF_ONCE) {
		bit = 1u << (op % 32);
		if (h->used_once[op / 32] & bit)
			return false;
		h->used_once[op / 32] |= bit;
	}
	return true;
}

int helper_serve(struct helper *h)
{
	for (;;) {
		struct proto_msg req, rep;
		int r;

		r = proto_recv(h->sock, &req, NULL);
		if (r == -ECONNRESET)
			return 0;
		if (r < 0)
			return r;
		if (!op_permitted(h, req.op)) {
			reply_fail(&rep, -EPERM, ERR_NOT_ALLOWED, NULL);
			rep.arg[0] = req.op;
			rep.arg[1] = h->verb;
			(void)helper_send(h, &rep, -1);
			return -EPERM;
		}
		r = ops[req.op].fn(h, &req, &rep);
		if (r == -EPROTO) {
			reply_fail(&rep, -EPERM, ERR_OUT_OF_ORDER, NULL);
			rep.arg[0] = req.op;
			(void)helper_send(h, &rep, -1);
			return -EPERM;
		}
		if (r == -ECONNRESET || r == -EPIPE)
			return 0;
		if (r < 0) {
			reply_fail(&rep, r, ERR_OP_FAILED, NULL);
			rep.arg[0] = req.op;
		}
		if (r != HANDLER_SENT && helper_send(h, &rep, -1) < 0)
			return 0;
	}
}
