/* SPDX-License-Identifier: MIT */
#include "sockdiag.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "util.h"

/* TCP_LISTEN in the kernel's socket states, as unix_diag uses them. */
#define SOCKDIAG_LISTEN 10

/* The RQLEN attribute of one unix_diag_msg: 0, or -EBADMSG. */
static int parse_msg_queue(const struct nlmsghdr *nh, uint32_t *ret)
{
	const struct unix_diag_msg *m = NLMSG_DATA(nh);
	size_t off = NLMSG_ALIGN(sizeof(*m));
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN;
	const char *base = (const char *)m;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	while (off + sizeof(struct rtattr) <= len) {
		const struct rtattr *a = (const struct rtattr *)(base + off);

		if (a->rta_len < sizeof(*a) || off + a->rta_len > len)
			return -EBADMSG;
		if (a->rta_type == UNIX_DIAG_RQLEN) {
			struct unix_diag_rqlen q;

			if (RTA_PAYLOAD(a) < sizeof(q))
				return -EBADMSG;
			memcpy(&q, RTA_DATA(a), sizeof(q));
			*ret = q.udiag_rqueue;
			return 0;
		}
		off += RTA_ALIGN(a->rta_len);
	}
	return -EBADMSG;
}

int sockdiag_parse_queue(const void *buf, size_t len, unsigned long ino, uint32_t *ret)
{
	const char *p = buf;

	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)p;

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len)
			return -EBADMSG;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : -EBADMSG;
		}
		if (nh->nlmsg_type == NLMSG_DONE)
			return -ENOENT;
		if (nh->nlmsg_type == SOCK_DIAG_BY_FAMILY && nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct unix_diag_msg))) {
			const struct unix_diag_msg *m = NLMSG_DATA(nh);

			if (m->udiag_family == AF_UNIX && m->udiag_ino == ino)
				return parse_msg_queue(nh, ret);
		}
		if (NLMSG_ALIGN(nh->nlmsg_len) >= len)
			break;
		len -= NLMSG_ALIGN(nh->nlmsg_len);
		p += NLMSG_ALIGN(nh->nlmsg_len);
	}
	return -ENOENT;
}

int sockdiag_unix_queue(unsigned long ino, uint32_t *ret)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = 1u << SOCKDIAG_LISTEN, .udiag_ino = (__u32)ino,
			 .udiag_show = UDIAG_SHOW_RQLEN, .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	_cleanup_close_ int fd = -EBADF;
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n;

	if (ino > UINT32_MAX)
		return -ERANGE;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return sockdiag_parse_queue(buf, (size_t)n, ino, ret);
}
