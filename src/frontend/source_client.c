/* SPDX-License-Identifier: MIT */
#include "source_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "util.h"

int source_client_open(int sock, const char *path, struct source_open_result *ret,
		       char *err, size_t errlen)
{
	_cleanup_close_ int fd = -EBADF;
	struct proto_msg req, rep;
	int r;

	if (sock < 0)
		return -EBADF;
	proto_init(&req, OP_SOURCE_OPEN);
	if (str_copy(req.text, sizeof(req.text), path) < 0) {
		snprintf(err, errlen, "--from path is too long");
		return -ENAMETOOLONG;
	}
	req.len = (uint32_t)strlen(req.text);
	r = proto_send(sock, &req, -1);
	if (r == 0)
		r = proto_recv(sock, &rep, &fd);
	if (r == 0 && rep.op != OP_REPLY && rep.op != OP_SOURCE_FILE && rep.op != OP_SOURCE_TREE)
		r = -EPROTO;
	if (r < 0) {
		snprintf(err, errlen, "the source reader failed: %s", strerror(-r));
		return r;
	}
	if (rep.op == OP_REPLY) {
		/* Only a refusal comes as a plain reply. */
		snprintf(err, errlen, "%s", rep.status < 0 ? rep.text : "the source reader sent no file");
		return rep.status < 0 ? rep.status : -EBADF;
	}
	if (fd < 0) {
		snprintf(err, errlen, "the source reader sent no file");
		return -EBADF;
	}
	ret->is_tree = rep.op == OP_SOURCE_TREE;
	ret->fd = TAKE_FD(fd);
	return 0;
}

int source_client_finish(int sock, char *err, size_t errlen)
{
	struct proto_msg rep;

	if (proto_recv(sock, &rep, NULL) == 0 && rep.op == OP_REPLY && rep.status < 0) {
		snprintf(err, errlen, "%s", rep.text);
		return rep.status;
	}
	return 0;
}
