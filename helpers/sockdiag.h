/* SPDX-License-Identifier: MIT */
/*
 * The kernel's NETLINK_SOCK_DIAG for unix sockets (UNIX_DIAG).
 *
 * reload = swap: how many connections wait in a listening unix socket's
 * accept queue (what `ss -xl` shows as Recv-Q), from the kernel's
 * NETLINK_SOCK_DIAG with UNIX_DIAG and UDIAG_SHOW_RQLEN, looked up by the
 * socket's inode. php-fpm's status page cannot say it: it fills "listen
 * queue" only for TCP listeners (docs/POOLSWAP.md, Retire).
 */
#ifndef CUTOVER_SOCKDIAG_H
#define CUTOVER_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The accept queue of the listening unix socket with inode ino: 0 with
 * *ret, -ENOENT when no such socket listens, or -errno. */
int sockdiag_unix_queue(unsigned long ino, uint32_t *ret);

/* Parses a sock_diag reply (one or more netlink messages) for the socket
 * ino: 0 with its UNIX_DIAG_RQLEN rqueue in *ret, -ENOENT (an error reply
 * ENOENT, or no message for ino), another -errno from an error reply, or
 * -EBADMSG. Pure. */
int sockdiag_parse_queue(const void *buf, size_t len, unsigned long ino, uint32_t *ret);

/*
 * The listening unix sockets bound to the file (dev, ino), the st_dev and
 * st_ino of the socket file as stat(2) gives them: who serves connections
 * made to that file. From the kernel's socket table (UDIAG_SHOW_VFS), never
 * from /proc/net/unix, whose text prints socket names raw: any local user
 * can bind abstract names holding newlines and forge lines there (review
 * 14, F3). Stores the sockets' inodes in v; returns how many, -E2BIG when
 * more than max, or -errno.
 */
int sockdiag_unix_bound(dev_t dev, ino_t ino, unsigned long *v, size_t max);
/* The same, matching the inode number alone: for filesystems whose
 * stat(2) device is not their superblock's, which is what unix_diag
 * reports (btrfs subvolumes, overlayfs). A socket of another filesystem
 * with the same inode number may then count too; callers require the
 * socket to be held by the process they check, so it cannot help a
 * stranger (review 14b). */
int sockdiag_unix_bound_ino(ino_t ino, unsigned long *v, size_t max);

/* One dump's state, for sockdiag_parse_bound: the request's seq and the
 * requesting socket's netlink port (every reply carries both), the file
 * looked for, and where the matches go. */
struct sockdiag_dump {
	uint32_t seq, portid;
	dev_t dev;
	ino_t ino;
	bool any_dev;            /* match the inode number alone */
	unsigned long *v;
	size_t max, n;
};

/* Parses one datagram of a UNIX_DIAG dump with UDIAG_SHOW_VFS, adding to
 * d->v the listening sockets bound to d->dev/d->ino: 1 at NLMSG_DONE,
 * 0 when more datagrams follow, -E2BIG (more than d->max), -errno from an
 * error reply, or -EBADMSG (malformed, or not an answer to this request).
 * Pure. */
int sockdiag_parse_bound(struct sockdiag_dump *d, const void *buf, size_t len);

#endif
