/* SPDX-License-Identifier: MIT */
/*
 * fdhold: keeps a writable descriptor of a file and writes through it
 * later, for test_store_attack.sh (a build step's file reached from
 * outside the sandbox, then written after the freeze and the switch).
 *
 *   fdhold open PATH READY GO TEXT   open PATH read-write; write its inode
 *                                    to READY; wait for GO to exist; write
 *                                    TEXT through the descriptor
 *   fdhold send SOCK PATH            open PATH read-write and pass the
 *                                    descriptor over the abstract unix
 *                                    socket SOCK (SCM_RIGHTS)
 *   fdhold recv SOCK READY GO TEXT   listen on SOCK, receive a descriptor,
 *                                    then as open
 *
 * Prints "wrote N bytes to inode I" after the write. Exit 0 if the write
 * went through, 1 otherwise. Waits at most 60 s for anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s", name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int wait_exists(const char *path)
{
	for (int i = 0; i < 1200; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}

static int hold_and_write(int fd, const char *ready, const char *go, const char *text)
{
	struct stat st;
	FILE *f;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return 1;
	f = fopen(ready, "w");
	if (!f)
		return 1;
	fprintf(f, "%llu\n", (unsigned long long)st.st_ino);
	fclose(f);
	if (wait_exists(go) < 0) {
		fprintf(stderr, "fdhold: %s never appeared\n", go);
		return 1;
	}
	n = pwrite(fd, text, strlen(text), 0);
	if (n < 0 || ftruncate(fd, n) < 0) {
		fprintf(stderr, "fdhold: write: %s\n", strerror(errno));
		return 1;
	}
	printf("wrote %zd bytes to inode %llu\n", n, (unsigned long long)st.st_ino);
	return 0;
}

static int do_send(const char *sock, const char *path)
{
	char c = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, sock);
	struct cmsghdr *cm;
	int fd, s;

	fd = open(path, O_RDWR);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || s < 0 || connect(s, (struct sockaddr *)&a, len) < 0) {
		fprintf(stderr, "fdhold: send: %s\n", strerror(errno));
		return 1;
	}
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(s, &m, 0) != 1) {
		fprintf(stderr, "fdhold: sendmsg: %s\n", strerror(errno));
		return 1;
	}
	printf("sent\n");
	return 0;
}

static int do_recv(const char *sock, const char *ready, const char *go, const char *text)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a, sock);
	struct cmsghdr *cm;
	int s, conn, fd;

	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 1) < 0) {
		fprintf(stderr, "fdhold: listen: %s\n", strerror(errno));
		return 1;
	}
	conn = accept(s, NULL, NULL);
	if (conn < 0 || recvmsg(conn, &m, 0) != 1) {
		fprintf(stderr, "fdhold: recv: %s\n", strerror(errno));
		return 1;
	}
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "fdhold: no descriptor received\n");
		return 1;
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return hold_and_write(fd, ready, go, text);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "open") == 0) {
		int fd = open(argv[2], O_RDWR);

		if (fd < 0) {
			fprintf(stderr, "fdhold: open %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		return hold_and_write(fd, argv[3], argv[4], argv[5]);
	}
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: fdhold open PATH READY GO TEXT | send SOCK PATH | recv SOCK READY GO TEXT\n");
	return 2;
}
