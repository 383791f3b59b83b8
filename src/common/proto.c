/* SPDX-License-Identifier: MIT */
#include "proto.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void proto_init(struct proto_msg *m, enum proto_op op)
{
	memset(m, 0, sizeof(*m));
	m->magic = PROTO_MAGIC;
	m->version = PROTO_VERSION;
	m->op = (uint16_t)op;
}

static int id_field_ok(char *id)
{
	id[PROTO_ID_SIZE - 1] = '\0';
	if (id[0] == '\0')
		return 0;
	return release_id_valid(id) ? 0 : -EINVAL;
}

int proto_decode(const void *buf, size_t n, struct proto_msg *out)
{
	struct proto_msg m;
	int r;

	if (n != sizeof(m))
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (m.magic != PROTO_MAGIC || m.version != PROTO_VERSION)
		return -EBADMSG;
	if (!((m.op > OP_NONE && m.op < OP_REQUEST_MAX) ||
	      (m.op > OP_READER_MIN && m.op < OP_READER_MAX) ||
	      (m.op > OP_REPLY_MIN && m.op < OP_REPLY_MAX)))
		return -EPROTO;
	if (m.error >= ERR_MAX || m.reserved != 0)
		return -EBADMSG;
	if (m.len > PROTO_TEXT_SIZE - 1)
		return -EBADMSG;
	m.text[PROTO_TEXT_SIZE - 1] = '\0';
	if (m.op != OP_OUTPUT)
		m.text[m.len] = '\0';
	r = id_field_ok(m.id);
	if (r < 0)
		return r;
	r = id_field_ok(m.id2);
	if (r < 0)
		return r;
	*out = m;
	return 0;
}

int proto_send(int sock, const struct proto_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t w;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w != sizeof(*m))
		return -EIO;
	return 0;
}

int proto_recv(int sock, struct proto_msg *m, int *ret_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	/* One byte more than a message, so an oversized record is seen as
	 * oversized rather than silently truncated to the right size. */
	char buf[sizeof(*m) + 1];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int got_fd = -EBADF;
	ssize_t n;
	int r;

	if (ret_fd)
		*ret_fd = -EBADF;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got_fd < 0 && ret_fd)
				got_fd = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		if (got_fd >= 0)
			close(got_fd);
		return -ECONNRESET;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		r = -EBADMSG;
	else
		r = proto_decode(buf, (size_t)n, m);
	if (r < 0) {
		if (got_fd >= 0)
			close(got_fd);
		return r;
	}
	if (ret_fd)
		*ret_fd = got_fd;
	return 0;
}

const char *proto_op_name(unsigned op)
{
	static const char *const names[OP_REPLY_MAX] = {
#define PROTO_X(u, name, ...) [OP_##u] = name,
		PROTO_REQUESTS(PROTO_X)
		PROTO_READER_REQUESTS(PROTO_X)
		PROTO_REPLIES(PROTO_X)
#undef PROTO_X
	};

	if (op < OP_REPLY_MAX && names[op])
		return names[op];
	return "unknown";
}

const char *proto_verb_name(enum proto_verb v)
{
	static const char *const names[PV_MAX] = {
#define PROTO_X(u, name) [PV_##u] = name,
		PROTO_VERBS(PROTO_X)
#undef PROTO_X
	};

	return v > PV_NONE && v < PV_MAX ? names[v] : "unknown";
}

enum proto_verb proto_verb_from_name(const char *name)
{
	for (int v = PV_NONE + 1; v < PV_MAX; v++)
		if (strcmp(proto_verb_name((enum proto_verb)v), name) == 0)
			return (enum proto_verb)v;
	return PV_NONE;
}
