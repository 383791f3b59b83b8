/* SPDX-License-Identifier: MIT */
/*
 * The message format between the unprivileged front end and the privileged
 * helper. One message is one fixed-size struct sent as one SOCK_SEQPACKET
 * record; anything of another size, magic or version is rejected before a
 * field is read. Strings are fixed arrays that the decoder NUL-terminates
 * itself, and every id field is validated as a release id.
 *
 * Requests (front end -> helper) and replies (helper -> front end) share the
 * struct; which fields mean what is documented per op below and in
 * docs/SECURITY.md.
 */
#ifndef CUTOVER_PROTO_H
#define CUTOVER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define PROTO_MAGIC   0x30545543u   /* "CUT0" little-endian */
#define PROTO_VERSION 1
#define PROTO_ID_SIZE 72            /* RELEASE_ID_MAX + NUL, padded */
#define PROTO_TEXT_SIZE 1024

enum proto_op {
	/* Requests. */
	OP_LOCK = 1,        /* arg[0] wait seconds -> REPLY; -EBUSY with holder in text */
	OP_STAGE_BEGIN,     /* text label -> REPLY id, fd: staging dir (O_DIRECTORY) */
	OP_LINK_SHARED,     /* -> REPLY */
	OP_RUN_STEP,        /* arg[0] step index -> OUTPUT*, REPLY arg[0] wait status */
	OP_FREEZE,          /* -> REPLY arg[0] bytes, arg[1] files */
	OP_ABORT,           /* arg[0] 1 = keep as failed -> REPLY */
	OP_SWITCH,          /* id target, text source, arg[0] deploy ms so far -> REPLY id2 from,
	                       arg[1] ns until visible, arg[2] ns until durable (mode = bind:
	                       the mount swap itself, and the whole publish with its checks),
	                       arg[3] 1 if php-fpm's mount namespace was entered; status
	                       -EXDEV: mode = bind, the release is recorded and partly
	                       live (text says where) */
	OP_ROLLBACK,        /* id target or "" for previous -> REPLY as OP_SWITCH */
	OP_PRUNE,           /* arg[0] keep -> ENTRY* (id, arg[0] bytes), REPLY arg[0] freed */
	OP_LIST,            /* -> ENTRY* (see below), END */
	OP_STATUS,          /* -> ENTRY (mode = bind: id release mounted at live, text
	                       "OPTIONS\tROOT" of the top mount, arg[0] mounts stacked
	                       there, arg[1] 1 if ROOT is a shared mount),
	                       REPLY id current, id2 previous, text lock holder, arg[0] mode */
	OP_HISTORY,         /* -> REPLY, fd: history file read-only, or none */
	OP_CHECK,           /* -> ENTRY* (text problem), REPLY */
	OP_FPM_INSPECT,     /* -> OUTPUT* (php-fpm -tt), REPLY arg[0] master pid; status
	                       -EINVAL when the configuration test failed */
	OP_FPM_RELOAD,      /* arg[0] 1 = expect new children -> REPLY arg[0] ns until
	                       old children gone, arg[1] ns until first new child,
	                       arg[2] old | new << 32 */
	OP_FPM_REQUEST,     /* arg[0] enum fpm_request_kind, id: release for PRECHECK
	                       -> REPLY, fd: socket with the request sent, write side
	                       shut down; read the FastCGI response from it */
	OP_FETCH_GIT,       /* text "URL#REF" -> OUTPUT*, REPLY arg[0] git's exit code */
	OP_MIGRATE,         /* arg[0] 0 pretend, 1 run -> OUTPUT*, REPLY arg[0] exit code */
	OP_HOOK,            /* arg[0] 0 before_switch, 1 after_switch; arg[1] index
	                       -> OUTPUT*, REPLY arg[0] exit code */
	OP_MOUNT,           /* mode = bind: -> REPLY id release live, text what was
	                       repaired; arg[0] stacked mounts removed, arg[1] 1 if
	                       a release was mounted, arg[2] 1 if inside php-fpm's
	                       mount namespace */
	OP_REQUEST_MAX,

	/* Replies. */
	OP_REPLY = 100,     /* status 0 or -errno; text: reason on failure */
	OP_OUTPUT,          /* text[0..len): build output chunk */
	OP_ENTRY,           /* one item of a listing */
	OP_END,             /* end of a listing */
	OP_REPLY_MAX,
};

/* OP_ENTRY of OP_LIST: id; arg[0] created (ns since epoch); arg[1] bytes;
 * arg[2] files; arg[3] = state | flags. */
enum release_state {
	RELEASE_BUILDING = 1,
	RELEASE_FROZEN = 2,
	RELEASE_FAILED = 3,
};
#define RELEASE_FLAG_CURRENT  (1u << 8)
#define RELEASE_FLAG_PREVIOUS (1u << 9)

enum fpm_request_kind {
	FPM_REQ_STATUS = 1,     /* the pool's status page, ?full */
	FPM_REQ_PRECHECK,       /* [health] url's path, run by the staged release */
	FPM_REQ_OPCACHE_RESET,  /* opcache_reset() in the pool */
	FPM_REQ_PROBE,          /* a script that does not exist: any answer proves the
	                           pool accepts and runs requests */
};

struct proto_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t status;
	uint32_t len;                 /* bytes used in text (OUTPUT), else strlen */
	uint64_t arg[4];
	char id[PROTO_ID_SIZE];
	char id2[PROTO_ID_SIZE];
	char text[PROTO_TEXT_SIZE];
};

_Static_assert(sizeof(struct proto_msg) == 16 + 32 + 2 * PROTO_ID_SIZE + PROTO_TEXT_SIZE,
	       "proto_msg must have no padding");

/* Fills in magic/version/op and zeroes the rest. */
void proto_init(struct proto_msg *m, enum proto_op op);

/*
 * Validates a received record of n bytes and copies it into out.
 * -EBADMSG: wrong size, magic or version, or a length out of range;
 * -EPROTO: unknown op; -EINVAL: an id field that is not a valid release id.
 * Strings are NUL-terminated in out whatever arrived.
 */
int proto_decode(const void *buf, size_t n, struct proto_msg *out);

/* Sends one message, with an fd attached when fd >= 0. 0 or -errno. */
int proto_send(int sock, const struct proto_msg *m, int fd);

/*
 * Receives one message. If ret_fd is non-NULL an attached fd is returned
 * there (else -EBADF), and any fd that arrives uninvited is closed.
 * Returns 0, -ECONNRESET on EOF, or a proto_decode error.
 */
int proto_recv(int sock, struct proto_msg *m, int *ret_fd);

const char *proto_op_name(unsigned op);

#endif
