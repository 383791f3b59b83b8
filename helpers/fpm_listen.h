/* SPDX-License-Identifier: MIT */
/*
 * Ties a PHP-FPM master to the pool cutover talks to: the listening
 * socket of `[fpm] socket` (a unix socket's from the kernel's sock_diag,
 * a TCP one's from /proc/net/tcp{,6}) must be one of the master's open
 * files.
 */
#ifndef CUTOVER_FPM_LISTEN_H
#define CUTOVER_FPM_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#define FPM_LISTEN_MAX 64

/*
 * The inodes of the listening sockets that serve `socket` (a unix path,
 * "unix:PATH", or HOST:PORT as fcgi_address_parse takes it; a TCP socket
 * bound to the wildcard address of its port counts; for a unix path, the
 * sockets bound to the file at that path now, its last component not
 * followed) in the helper's network namespace. Returns how many (0: nobody
 * listens there), -E2BIG when more than max, or -errno.
 */
int fpm_listen_inodes(const char *socket, unsigned long *v, size_t max);

/* Does process pid hold one of the sockets v[0..n)? 1, 0, or -errno.
 * Reading another root process's fds needs CAP_SYS_PTRACE effective. */
int fpm_listen_held(pid_t pid, const unsigned long *v, size_t n);

#endif
