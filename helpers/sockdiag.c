/* SPDX-License-Identifier: MIT */
#include "sockdiag.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "util.h"

/* TCP_LISTEN in the kernel's socket states, as unix_diag uses them. */
#define SOCKDIAG_LISTEN 10

/* The attribute `type` of one unix_diag_msg: its payload in *ret and
 * its length, -ENOENT when the message has none, or -EBADMSG. */
static int msg_attr(const struct nlmsghdr *nh, unsigned short type, const void **ret)
{
	const char *base = NLMSG_DATA(nh);
	size_t off = NLMSG_ALIGN(sizeof(struct unix_diag_msg));
	size_t len = nh->nlmsg_len - NLMSG_HDRLEN;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		return -EBADMSG;
	while (off + sizeof(struct rtattr) <= len) {
		const struct rtattr *a = (const struct rtattr *)(base + off);

		if (a->rta_len < sizeof(*a) || off + a->rta_len > len)
			return -EBADMSG;
		if (a->rta_type == type) {
			*ret = RTA_DATA(a);
			return (int)RTA_PAYLOAD(a);
		}
		off += RTA_ALIGN(a->rta_len);
	}
	return -ENOENT;
}

/* The RQLEN attribute of one unix_diag_msg: 0, or -EBADMSG. */
static int parse_msg_queue(const struct nlmsghdr *nh, uint32_t *ret)
{
	struct unix_diag_rqlen q;
	const void *p;
	int r = msg_attr(nh, UNIX_DIAG_RQLEN, &p);

	if (r < (int)sizeof(q))
		return -EBADMSG;
	memcpy(&q, p, sizeof(q));
	*ret = q.udiag_rqueue;
	return 0;
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

/* The kernel's own dev_t, as unix_diag reports a socket file's device
 * (MKDEV: 12 bits of major, 20 of minor), not stat's encoding. */
#define KERNEL_DEV_MAJOR(d) ((d) >> 20)
#define KERNEL_DEV_MINOR(d) ((d) & 0xfffffU)

/* A listening socket of the dump: is it bound to d's file? 1, 0, or
 * -EBADMSG. */
static int msg_bound_here(const struct sockdiag_dump *d, const struct nlmsghdr *nh)
{
	const struct unix_diag_msg *m = NLMSG_DATA(nh);
	struct unix_diag_vfs vfs;
	const void *p;
	int r;

	if (m->udiag_family != AF_UNIX)
		return -EBADMSG;
	if (m->udiag_state != SOCKDIAG_LISTEN)
		return 0;
	r = msg_attr(nh, UNIX_DIAG_VFS, &p);
	if (r == -ENOENT)
		return 0; /* abstract or unnamed: no file */
	if (r < (int)sizeof(vfs))
		return -EBADMSG;
	memcpy(&vfs, p, sizeof(vfs));
	/* udiag_vfs_ino is the file's inode number cut to 32 bits. */
	return vfs.udiag_vfs_ino == (uint32_t)d->ino &&
	       (d->any_dev || (KERNEL_DEV_MAJOR(vfs.udiag_vfs_dev) == major(d->dev) &&
			       KERNEL_DEV_MINOR(vfs.udiag_vfs_dev) == minor(d->dev)));
}

/* One message of the dump: 1 at its end, 0, or -errno. */
static int parse_bound_one(struct sockdiag_dump *d, const struct nlmsghdr *nh)
{
	int r;

	/* Only the kernel's answer to this request: the port and seq it
	 * echoes (nobody else may send to our port without CAP_NET_ADMIN,
	 * and the caller checks the sender too). */
	if (nh->nlmsg_seq != d->seq || nh->nlmsg_pid != d->portid)
		return -EBADMSG;
	if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
		return -EAGAIN;
	switch (nh->nlmsg_type) {
	case NLMSG_ERROR: {
		const struct nlmsgerr *e = NLMSG_DATA(nh);

		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EBADMSG;
		return e->error < 0 ? e->error : -EBADMSG;
	}
	case NLMSG_DONE: {
		int status = 0;

		if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(status)))
			memcpy(&status, NLMSG_DATA(nh), sizeof(status));
		return status < 0 ? status : 1;
	}
	case SOCK_DIAG_BY_FAMILY:
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
			return -EBADMSG;
		r = msg_bound_here(d, nh);
		if (r <= 0)
			return r;
		if (d->n >= d->max)
			return -E2BIG;
		d->v[d->n++] = ((const struct unix_diag_msg *)NLMSG_DATA(nh))->udiag_ino;
		return 0;
	default:
		return -EBADMSG;
	}
}

int sockdiag_parse_bound(struct sockdiag_dump *d, const void *buf, size_t len)
{
	const char *p = buf;

	if (len < sizeof(struct nlmsghdr))
		return -EBADMSG;
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)p;
		int r;

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len)
			return -EBADMSG;
		r = parse_bound_one(d, nh);
		if (r != 0)
			return r;
		if (NLMSG_ALIGN(nh->nlmsg_len) >= len)
			break;
		len -= NLMSG_ALIGN(nh->nlmsg_len);
		p += NLMSG_ALIGN(nh->nlmsg_len);
	}
	return 0;
}

/* A dump's datagrams are at most this large (the kernel sizes them to
 * the largest read so far, up to 32 KiB); a longer one would be cut. */
#define SOCKDIAG_DUMP_BUF 32768
/* Far more datagrams than any socket table fills: a bound on the loop. */
#define SOCKDIAG_DUMP_PARTS_MAX 65536

/* Reads the dump requested on fd to its end: sockdiag_parse_bound's
 * results, or -errno. */
static int dump_read_bound(int fd, struct sockdiag_dump *d)
{
	_cleanup_free_ char *buf = malloc(SOCKDIAG_DUMP_BUF);

	if (!buf)
		return -ENOMEM;
	for (unsigned part = 0; part < SOCKDIAG_DUMP_PARTS_MAX; part++) {
		struct sockaddr_nl from = { 0 };
		struct iovec iov = { .iov_base = buf, .iov_len = SOCKDIAG_DUMP_BUF };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;
		int r;

		do
			n = recvmsg(fd, &mh, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (mh.msg_namelen != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			return -EBADMSG;
		r = sockdiag_parse_bound(d, buf, (size_t)n);
		if (r != 0)
			return r;
	}
	return -EOVERFLOW;
}

static int unix_bound(dev_t dev, ino_t ino, bool any_dev, unsigned long *v, size_t max)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} msg = {
		.nh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++seq },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = 1u << SOCKDIAG_LISTEN, .udiag_show = UDIAG_SHOW_VFS },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }, self = { 0 };
	socklen_t self_len = sizeof(self);
	struct sockdiag_dump d = { .seq = msg.nh.nlmsg_seq, .dev = dev, .ino = ino, .any_dev = any_dev, .v = v,
				   .max = max };
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	/* The port sendto bound the socket to: the replies' nlmsg_pid. */
	if (getsockname(fd, (struct sockaddr *)&self, &self_len) < 0)
		return -errno;
	d.portid = self.nl_pid;
	r = dump_read_bound(fd, &d);
	if (r < 0)
		return r;
	return d.n > INT_MAX ? -E2BIG : (int)d.n;
}

int sockdiag_unix_bound(dev_t dev, ino_t ino, unsigned long *v, size_t max)
{
	return unix_bound(dev, ino, false, v, max);
}

int sockdiag_unix_bound_ino(ino_t ino, unsigned long *v, size_t max)
{
	return unix_bound(0, ino, true, v, max);
}
