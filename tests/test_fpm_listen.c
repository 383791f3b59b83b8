/* SPDX-License-Identifier: MIT */
/* The listening sockets of `[fpm] socket` (helpers/fpm_listen.c): a unix
 * path's from sock_diag's UNIX_DIAG_VFS (helpers/sockdiag.c), which names
 * in /proc/net/unix cannot forge (review 14, F3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <cmocka.h>

#include "fpm_listen.h"
#include "sockdiag.h"

#define FORGED 70

/* ---- the parser, on messages built here -------------------------------- */

/* Appends one SOCK_DIAG_BY_FAMILY message for socket ino, listening when
 * listening, bound to a file (kernel dev_t kdev, inode vino) when kdev or
 * vino is set. Returns the new length. */
static size_t diag_msg(char *buf, size_t len, uint32_t seq, uint32_t pid, uint32_t ino, int listening,
		       uint32_t kdev, uint32_t vino)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(buf + len);
	struct unix_diag_msg *m = NLMSG_DATA(nh);
	size_t body = NLMSG_ALIGN(sizeof(*m));

	memset(nh, 0, 256);
	m->udiag_family = AF_UNIX;
	m->udiag_state = listening ? 10 : 1;
	m->udiag_ino = ino;
	if (kdev || vino) {
		struct rtattr *a = (struct rtattr *)((char *)m + body);
		struct unix_diag_vfs vfs = { .udiag_vfs_ino = vino, .udiag_vfs_dev = kdev };

		a->rta_type = UNIX_DIAG_VFS;
		a->rta_len = RTA_LENGTH(sizeof(vfs));
		memcpy(RTA_DATA(a), &vfs, sizeof(vfs));
		body += RTA_ALIGN(a->rta_len);
	}
	nh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nh->nlmsg_flags = NLM_F_MULTI;
	nh->nlmsg_seq = seq;
	nh->nlmsg_pid = pid;
	nh->nlmsg_len = NLMSG_LENGTH(body);
	return len + NLMSG_ALIGN(nh->nlmsg_len);
}

static size_t done_msg(char *buf, size_t len, uint32_t seq, uint32_t pid, int status)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(buf + len);

	memset(nh, 0, NLMSG_LENGTH(sizeof(int)));
	nh->nlmsg_type = NLMSG_DONE;
	nh->nlmsg_flags = NLM_F_MULTI;
	nh->nlmsg_seq = seq;
	nh->nlmsg_pid = pid;
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	memcpy(NLMSG_DATA(nh), &status, sizeof(status));
	return len + NLMSG_ALIGN(nh->nlmsg_len);
}

static void test_parse_bound(void **state)
{
	char buf[2048] __attribute__((aligned(8)));
	unsigned long v[2] = { 0 };
	/* The file: device 259:3 as stat gives it; the kernel says 259 << 20 | 3. */
	struct sockdiag_dump d = { .seq = 7, .portid = 4242, .dev = makedev(259, 3), .ino = 5000, .v = v, .max = 2 };
	const uint32_t kdev = 259u << 20 | 3;
	size_t n = 0;

	(void)state;
	assert_true((uint32_t)makedev(259, 3) != kdev);
	n = diag_msg(buf, n, 7, 4242, 101, 1, kdev, 5000);         /* ours */
	n = diag_msg(buf, n, 7, 4242, 102, 1, 0, 0);               /* abstract */
	n = diag_msg(buf, n, 7, 4242, 103, 1, kdev, 5001);         /* another file */
	n = diag_msg(buf, n, 7, 4242, 104, 1, (uint32_t)makedev(259, 3), 5000); /* stat's encoding */
	n = diag_msg(buf, n, 7, 4242, 105, 1, 260u << 20 | 3, 5000); /* another device */
	n = diag_msg(buf, n, 7, 4242, 106, 0, kdev, 5000);         /* not listening */
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), 0);     /* more to come */
	assert_int_equal(d.n, 1);
	assert_int_equal(v[0], 101);
	n = diag_msg(buf, 0, 7, 4242, 107, 1, kdev, 5000);
	n = done_msg(buf, n, 7, 4242, 0);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), 1);
	assert_int_equal(d.n, 2);
	assert_int_equal(v[1], 107);
	/* Inode alone (btrfs, overlayfs: stat's device is not the
	 * superblock's): the other device's socket counts too. */
	{
		unsigned long w[4] = { 0 };
		struct sockdiag_dump e = { .seq = 7, .portid = 4242, .ino = 5000, .any_dev = true, .v = w, .max = 4 };
		size_t m = diag_msg(buf, 0, 7, 4242, 201, 1, kdev, 5000);

		m = diag_msg(buf, m, 7, 4242, 202, 1, 260u << 20 | 3, 5000);
		m = diag_msg(buf, m, 7, 4242, 203, 1, kdev, 5001);
		assert_int_equal(sockdiag_parse_bound(&e, buf, m), 0);
		assert_int_equal(e.n, 2);
		assert_int_equal(w[1], 202);
	}
	/* A third is one more than max. */
	n = diag_msg(buf, 0, 7, 4242, 108, 1, kdev, 5000);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -E2BIG);
	/* Not the answer to this request: another seq, another port. */
	d.n = 0;
	n = diag_msg(buf, 0, 8, 4242, 101, 1, kdev, 5000);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -EBADMSG);
	n = diag_msg(buf, 0, 7, 4243, 101, 1, kdev, 5000);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -EBADMSG);
	n = done_msg(buf, 0, 7, 0, 0);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -EBADMSG);
	assert_int_equal(d.n, 0);
	/* Cut short; an attribute running past its message; nothing. */
	n = diag_msg(buf, 0, 7, 4242, 101, 1, kdev, 5000);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n - 4), -EBADMSG);
	((struct rtattr *)((char *)NLMSG_DATA((struct nlmsghdr *)buf) + NLMSG_ALIGN(sizeof(struct unix_diag_msg))))
		->rta_len = 200;
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -EBADMSG);
	assert_int_equal(sockdiag_parse_bound(&d, buf, 3), -EBADMSG);
	/* The kernel's errors: an error reply, a failed dump's DONE. */
	n = done_msg(buf, 0, 7, 4242, -ENOMEM);
	assert_int_equal(sockdiag_parse_bound(&d, buf, n), -ENOMEM);
	memset(buf, 0, 64);
	((struct nlmsghdr *)buf)->nlmsg_type = NLMSG_ERROR;
	((struct nlmsghdr *)buf)->nlmsg_seq = 7;
	((struct nlmsghdr *)buf)->nlmsg_pid = 4242;
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
	((struct nlmsgerr *)NLMSG_DATA((struct nlmsghdr *)buf))->error = -EPERM;
	assert_int_equal(sockdiag_parse_bound(&d, buf, NLMSG_LENGTH(sizeof(struct nlmsgerr))), -EPERM);
	assert_int_equal(d.n, 0);
}

/* ---- the real thing ------------------------------------------------------ */

static int listen_at(const char *path, socklen_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(len <= sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, len);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static unsigned long sock_ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

/* How many lines of /proc/net/unix end in " path": what its parser saw. */
static int proc_lines_naming(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[512];
	size_t pl = strlen(path);
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		if (l > pl && line[l - pl - 1] == ' ' && memcmp(line + l - pl, path, pl) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static void test_unix_live(void **state)
{
	char dir[] = "/tmp/cutover-test-listen.XXXXXX", path[128], link[128], unixp[140];
	unsigned long v[FPM_LISTEN_MAX], real;
	int l, l2, forged[FORGED];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fpm.sock", dir);
	snprintf(link, sizeof(link), "%s/link.sock", dir);
	snprintf(unixp, sizeof(unixp), "unix:%s", path);
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 0);
	l = listen_at(path, (socklen_t)strlen(path));
	real = sock_ino(l);
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 1);
	assert_int_equal(v[0], real);
	assert_int_equal(fpm_listen_held(getpid(), v, 1), 1);
	assert_int_equal(fpm_listen_inodes(path, v, 0), -E2BIG);

	/* Abstract names holding lines that read as listeners at path: the
	 * old parser found 70 (> FPM_LISTEN_MAX, -E2BIG) and a forged inode. */
	for (int i = 0; i < FORGED; i++) {
		char name[108];
		int len = snprintf(name, sizeof(name), "%ccutover-forge-%d-%d\n0 0 0 10000 0 0 %d %s", '\0', (int)getpid(),
				   i, 4242 + i, path);

		assert_true(len > 0 && len < (int)sizeof(name));
		forged[i] = listen_at(name, (socklen_t)len);
	}
	assert_true(proc_lines_naming(path) >= FORGED);
	memset(v, 0, sizeof(v));
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 1);
	assert_int_equal(v[0], real);
	assert_int_equal(fpm_listen_inodes(unixp, v, FPM_LISTEN_MAX), 1);
	assert_int_equal(v[0], real);

	/* The last component is not followed. */
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(fpm_listen_inodes(link, v, FPM_LISTEN_MAX), 0);
	/* A socket whose file was removed serves nobody; the one bound there
	 * again does. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 0);
	l2 = listen_at(path, (socklen_t)strlen(path));
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 1);
	assert_int_equal(v[0], sock_ino(l2));
	assert_true(v[0] != real);
	/* A file that is not a socket. */
	close(l2);
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(fpm_listen_inodes(path, v, FPM_LISTEN_MAX), 0);

	for (int i = 0; i < FORGED; i++)
		close(forged[i]);
	close(l);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_bound),
		cmocka_unit_test(test_unix_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
