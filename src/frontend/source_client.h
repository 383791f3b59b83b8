/* SPDX-License-Identifier: MIT */
/*
 * The front end's client of the source reader (src/reader/): one request,
 * OP_SOURCE_OPEN, answered with the opened --from. Besides client.c, the
 * only code in src/frontend that speaks the protocol.
 */
#ifndef CUTOVER_SOURCE_CLIENT_H
#define CUTOVER_SOURCE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct source_open_result {
	int fd;          /* the caller's to close */
	bool is_tree;    /* fd is a pipe with a tar stream of a directory; call
	                    source_client_finish() once it has been read */
};

/* Asks the reader to open path with the invoking user's credentials.
 * 0, or -errno with a one-line reason in err (empty when there is no
 * reader: -EBADF). */
int source_client_open(int sock, const char *path, struct source_open_result *ret,
		       char *err, size_t errlen);

/* After a tree's stream ended: how the reader's walk went. 0, or -errno
 * with the reason in err. A reader that says nothing more counts as 0:
 * the extraction has judged the stream already. */
int source_client_finish(int sock, char *err, size_t errlen);

#endif
