/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: how many connections wait in a listening unix socket's
 * accept queue (what `ss -xl` shows as Recv-Q), from the kernel's
 * NETLINK_SOCK_DIAG with UNIX_DIAG and UDIAG_SHOW_RQLEN, looked up by the
 * socket's inode. php-fpm's status page cannot say it: it fills "listen
 * queue" only for TCP listeners (docs/POOLSWAP.md, Retire).
 */
#ifndef CUTOVER_SOCKDIAG_H
#define CUTOVER_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

/* The accept queue of the listening unix socket with inode ino: 0 with
 * *ret, -ENOENT when no such socket listens, or -errno. */
int sockdiag_unix_queue(unsigned long ino, uint32_t *ret);

/* Parses a sock_diag reply (one or more netlink messages) for the socket
 * ino: 0 with its UNIX_DIAG_RQLEN rqueue in *ret, -ENOENT (an error reply
 * ENOENT, or no message for ino), another -errno from an error reply, or
 * -EBADMSG. Pure. */
int sockdiag_parse_queue(const void *buf, size_t len, unsigned long ino, uint32_t *ret);

#endif
