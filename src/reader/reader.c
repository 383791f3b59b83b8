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

static int reply(int sock, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A REPLY: a refusal (status < 0, the reason in text), or how the walk of
 * a directory went once its stream ended. */
static int reply(int sock, int status, const char *fmt, ...)
{
	struct proto_msg m;
	va_list ap;

	proto_init(&m, OP_REPLY);
	m.status = status;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m.text, sizeof(m.text), fmt, ap);
		va_end(ap);
	}
	m.len = (uint32_t)strlen(m.text);
	return proto_send(sock, &m, -1);
}

/* OP_SOURCE_FILE or OP_SOURCE_TREE with the fd to read. */
static int reply_source(int sock, enum proto_op op, int fd)
{
	struct proto_msg m;

	proto_init(&m, op);
	return proto_send(sock, &m, fd);
}

int reader_serve(int sock, int cwd_fd, const char *from)
{
	_cleanup_close_ int fd = -EBADF;
	struct proto_msg req;
	char shown[300], err[1024];
	struct stat st;
	int pipefd[2], r;

	r = proto_recv(sock, &req, NULL);
	if (r < 0)
		return r == -ECONNRESET ? 0 : r;   /* not needed after all */
	if (req.op != OP_SOURCE_OPEN)
		return reply(sock, -EPROTO, "the source reader serves only '%s', not '%s'",
			     proto_op_name(OP_SOURCE_OPEN), proto_op_name(req.op));
	str_escape(shown, sizeof(shown), req.text, strlen(req.text));
	/* Only what the caller named on the command line, whatever the front
	 * end asks for. */
	if (strcmp(req.text, from) != 0)
		return reply(sock, -EPERM, "the source reader opens only --from, not %s", shown);
	fd = openat(cwd_fd, from, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		return reply(sock, r, "cannot open %s as the invoking user: %s", shown, strerror(-r));
	}
	if (fstat(fd, &st) < 0)
		return reply(sock, -errno, "cannot stat %s: %s", shown, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		if (fcntl(fd, F_SETFL, 0) < 0)
			return -errno;
		return reply_source(sock, OP_SOURCE_FILE, fd);
	}
	if (!S_ISDIR(st.st_mode))
		return reply(sock, -EINVAL, "%s is neither a directory nor a regular file", shown);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	r = reply_source(sock, OP_SOURCE_TREE, pipefd[0]);
	close(pipefd[0]);
	if (r < 0) {
		close(pipefd[1]);
		return r;
	}
	err[0] = '\0';
	r = artifact_stream_dir(fd, pipefd[1], err, sizeof(err));
	close(pipefd[1]);
	return reply(sock, r < 0 ? r : 0, "%s", r < 0 ? (err[0] ? err : strerror(-r)) : "");
}
