/* SPDX-License-Identifier: MIT */
/*
 * The source reader: a short-lived process with the invoking user's
 * credentials (SUDO_UID/SUDO_GID and that user's groups) that opens --from
 * for the front end. Whatever the caller could not read themselves, cutover
 * cannot be made to copy into a web-readable release.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "reader.h"

#include "artifact.h"
#include "proto.h"
#include "util.h"

static int reply(int sock, int status, unsigned kind, int fd, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int reply(int sock, int status, unsigned kind, int fd, const char *fmt, ...)
{
	struct proto_msg m;
	va_list ap;

	proto_init(&m, OP_REPLY);
	m.status = status;
	m.arg[0] = kind;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m.text, sizeof(m.text), fmt, ap);
		va_end(ap);
	}
	m.len = (uint32_t)strlen(m.text);
	return proto_send(sock, &m, fd);
}

int reader_serve(int sock, int cwd_fd)
{
	_cleanup_close_ int fd = -EBADF;
	struct proto_msg req;
	char shown[300], err[1024];
	struct stat st;
	int pipefd[2], r;

	r = proto_recv(sock, &req, NULL);
	if (r < 0)
		return r == -ECONNRESET ? 0 : r;   /* not needed after all */
	str_escape(shown, sizeof(shown), req.text, strlen(req.text));
	fd = openat(cwd_fd, req.text, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		return reply(sock, r, 0, -1, "cannot open %s as the invoking user: %s", shown, strerror(-r));
	}
	if (fstat(fd, &st) < 0)
		return reply(sock, -errno, 0, -1, "cannot stat %s: %s", shown, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if (fcntl(fd, F_SETFL, 0) < 0)
			return -errno;
		return reply(sock, 0, 2, fd, NULL);
	}
	if (!S_ISDIR(st.st_mode))
		return reply(sock, -EINVAL, 0, -1, "%s is neither a directory nor a regular file", shown);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	r = reply(sock, 0, 1, pipefd[0], NULL);
	close(pipefd[0]);
	if (r < 0) {
		close(pipefd[1]);
		return r;
	}
	err[0] = '\0';
	r = artifact_stream_dir(fd, pipefd[1], err, sizeof(err));
	close(pipefd[1]);
	return reply(sock, r < 0 ? r : 0, 1, -1, "%s", r < 0 ? (err[0] ? err : strerror(-r)) : "");
}
