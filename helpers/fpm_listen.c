/* SPDX-License-Identifier: MIT */
#include "fpm_listen.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fcgi_request.h"
#include "sockdiag.h"
#include "util.h"

/* TCP_LISTEN in /proc/net/tcp's st column. */
#define TCP_STATE_LISTEN 0x0A

static int add_inode(unsigned long *v, size_t max, size_t *n, unsigned long ino)
{
	if (*n >= max)
		return -E2BIG;
	v[(*n)++] = ino;
	return 0;
}

/*
 * The listening sockets whose file is the one at path now: where a
 * connection to path goes. The last component is not followed: bind(2)
 * never makes a symlink, so one there is not a socket's file, and whoever
 * may write the directory could point it at another app's socket. A
 * socket whose file was removed serves nobody and does not count.
 * Never /proc/net/unix: its names are printed raw, newlines and all, and
 * any local user can forge lines with them (review 14, F3).
 */
#define FS_BTRFS_MAGIC 0x9123683e      /* linux/magic.h BTRFS_SUPER_MAGIC */
#define FS_OVERLAYFS_MAGIC 0x794c7630  /* OVERLAYFS_SUPER_MAGIC */

static int unix_inodes(const char *path, unsigned long *v, size_t max)
{
	struct statfs fs;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	/* btrfs (a subvolume's own device) and overlayfs report in stat a
	 * device that is not the superblock's, which unix_diag reports. */
	if (statfs(path, &fs) == 0 && (fs.f_type == FS_BTRFS_MAGIC || fs.f_type == FS_OVERLAYFS_MAGIC))
		return sockdiag_unix_bound_ino(st.st_ino, v, max);
	return sockdiag_unix_bound(st.st_dev, st.st_ino, v, max);
}

/* The kernel prints each 32-bit word of the address as the native-endian
 * value of its network-order bytes: copying the word back gives them. */
static bool hex_addr(const char *s, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len / 4; i++) {
		char word[9];
		unsigned int w;

		memcpy(word, s + i * 8, 8);
		word[8] = '\0';
		if (strspn(word, "0123456789ABCDEFabcdef") != 8 || sscanf(word, "%x", &w) != 1)
			return false;
		memcpy(out + i * 4, &w, 4);
	}
	return true;
}

/* Does a socket bound to `bound` (len 4 or 16) accept connections for
 * `want` (len 4 or 16)? The same address, the wildcard, or an IPv4
 * address seen by a dual-stack IPv6 socket. */
static bool addr_serves(const unsigned char *bound, size_t blen, const unsigned char *want, size_t wlen)
{
	static const unsigned char zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(bound, zero, blen) == 0)
		return true;
	if (blen == wlen)
		return memcmp(bound, want, blen) == 0;
	if (blen == 16 && wlen == 4)
		return memcmp(bound, mapped, 12) == 0 && memcmp(bound + 12, want, 4) == 0;
	return false;
}

static int tcp_inodes_in(const char *table, size_t alen, const unsigned char *want, size_t wlen, unsigned port,
			 unsigned long *v, size_t max, size_t *n)
{
	_cleanup_fclose_ FILE *f = fopen(table, "re");
	char line[512];

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char local[40];
		unsigned char addr[16];
		unsigned lport, st;
		unsigned long ino;

		/* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*s %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu", local, &lport, &st, &ino) != 4)
			continue;
		if (st != TCP_STATE_LISTEN || lport != port || strlen(local) != alen * 2 || !hex_addr(local, addr, alen))
			continue;
		if (addr_serves(addr, alen, want, wlen)) {
			int r = add_inode(v, max, n, ino);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

int fpm_listen_inodes(const char *socket, unsigned long *v, size_t max)
{
	struct fcgi_address a;
	unsigned char want[16];
	size_t wlen, n = 0;
	int r;

	r = fcgi_address_parse(socket, &a);
	if (r < 0)
		return r;
	if (a.kind == FCGI_ADDRESS_UNIX)
		return unix_inodes(a.path, v, max);
	if (inet_pton(AF_INET, a.host, want) == 1)
		wlen = 4;
	else if (inet_pton(AF_INET6, a.host, want) == 1)
		wlen = 16;
	else
		return -EINVAL;
	r = tcp_inodes_in("/proc/net/tcp", 4, want, wlen, a.port, v, max, &n);
	if (r == 0)
		r = tcp_inodes_in("/proc/net/tcp6", 16, want, wlen, a.port, v, max, &n);
	return r < 0 ? r : (int)n;
}

int fpm_listen_held(pid_t pid, const unsigned long *v, size_t n)
{
	char path[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char target[64];
		unsigned long ino;
		ssize_t len;
		char end;

		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu%c", &ino, &end) != 2 || end != ']')
			continue;
		for (size_t i = 0; i < n; i++)
			if (v[i] == ino)
				return 1;
	}
	return 0;
}
