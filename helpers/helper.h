/* SPDX-License-Identifier: MIT */
/*
 * The privileged helper's shared state and the contract of its request
 * handlers. helpers/helper.c has main(); helpers/dispatch.c the serve loop
 * and the dispatch rows made from PROTO_REQUESTS (src/common/proto.h);
 * each handler lives next to its concern (publish.c, shared.c, steps.c,
 * fpm_ops.c, bind_ops.c).
 */
#ifndef CUTOVER_HELPER_H
#define CUTOVER_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind.h"
#include "config.h"
#include "fpm_swap.h"
#include "names.h"
#include "proto.h"
#include "release.h"

struct helper {
	struct config cfg;
	enum proto_verb verb;
	const char *verb_name;
	char who[CONFIG_USER_MAX + 1];
	int sock;
	struct layout l;
	int lock_fd;
	bool absent;                   /* ROOT not set up yet: no deploy has run */
	enum proto_phase phase;
	uint32_t used_once[(OP_REQUEST_MAX + 31) / 32];   /* OPF_ONCE ops served */
	char id[RELEASE_ID_MAX + 1];   /* the release this run staged (migrate: selected) */
	/* stage --id of a frozen release: the build is made next to it, only
	 * to compare (helpers/publish.c); it never replaces, removes or
	 * records anything of the existing release. */
	bool rebuild;
	/* The run's release existed before the run (a rebuild found the same
	 * content, or migrate selected it): never removed by this run. */
	bool reused;
	int tree_fd;                   /* its staging directory */
	bool build_in_trash;           /* the build's tree, frozen, waits in trash/ID.build */
	size_t next_step;
	struct release_info info;
	enum { MIGRATE_NONE, MIGRATE_PRETENDED, MIGRATE_RAN, MIGRATE_VERIFIED } migrate_stage;
	size_t next_hook[HOOK_KIND_MAX];   /* per enum hook_kind: the next to run */
	char published[RELEASE_ID_MAX + 1];   /* what this run made current */
	bool failed;                  /* this run failed, as the helper saw (abort,
	                                 a refused switch, an automatic rollback)
	                                 or was told (report): on_failure may run */
	char own_published[RELEASE_ID_MAX + 1];  /* ...by a switch that was not a
	                                            rollback: the only release its
	                                            health reports may mark */
	bool fpm_entered;              /* mode = bind: the last publish entered php-fpm's namespace */
	struct bind_actions repair;    /* mode = bind: what the last repair did */
	/* history of a failed run (helpers/publish.c) */
	bool record_abort;             /* an explicit ABORT: keep a failed record */
	char fail_reason[HISTORY_REASON_MAX + 1];   /* what the helper saw fail */
	char abort_reason[HISTORY_REASON_MAX + 1];  /* what the front end said */
	uint64_t abort_ms;
	bool abort_refused;            /* the front end refused to go on */
	unsigned reports;              /* REPORTs served */
	struct fpm_swap swap;          /* reload = swap (helpers/fpm_swap.c) */
};

/*
 * The handlers' return convention (helpers/dispatch.c):
 *   0             the reply is in rep (its status may be < 0: a refusal
 *                 or failure the front end reports); the dispatcher sends it
 *   HANDLER_SENT  the handler sent its final message itself (a reply with
 *                 an fd attached); the dispatcher sends nothing
 *   -EPROTO       the request is out of order: the run ends
 *   -EPIPE, -ECONNRESET  the front end is gone: the run ends quietly
 *   other < 0     an internal failure; the dispatcher words the reply
 */
#define HANDLER_SENT 1

/* Does the dispatch row of op permit it for this run's verb in phase? */
bool helper_permits(const struct helper *h, enum proto_op op, enum proto_phase phase);

/* A REPLY with status (0 or -errno) and, if fmt, text: for successes
 * that carry a note. */
void reply_init(struct proto_msg *m, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A failed REPLY: status, the error code and the failing subject (a
 * path, a holder, the words of a deeper module; NULL for none). The front
 * end words the sentence (src/frontend/messages.c); callers add id or
 * arg[] where the code's comment in src/common/proto.h says so. */
void reply_fail(struct proto_msg *m, int status, enum proto_error code, const char *subject);

/* Sends m (its len set from text unless it is OUTPUT), with fd attached
 * when fd >= 0. 0 or -errno. */
int helper_send(struct helper *h, struct proto_msg *m, int fd);

/* Has the front end closed its end (it was interrupted)? For a handler
 * that has just waited long: nothing is started for a caller that is
 * gone. Never blocks. */
bool helper_peer_gone(const struct helper *h);

/* Serves requests until the front end hangs up (0) or breaks the
 * protocol (< 0). */
int helper_serve(struct helper *h);

/* Whatever ended the conversation: a half-built release goes (or is kept
 * as failed). 1 if kept, 0 if removed or nothing to do, or -errno. */
int abort_staging(struct helper *h, bool keep_failed);

/* Appends an event that published nothing (publish.c). 0 or -errno. */
int history_event(struct helper *h, const char *event, const char *release,
		  const char *why, bool reported, uint64_t ms);

/* After the run: removes the build's tree that the freeze left in trash/. */
void freeze_drop_build(struct helper *h);

/* steps.c */
int run_sandboxed(struct helper *h, const char *id, int tree_fd, bool shared_rw,
		  const char *title, const char *command,
		  char *const *args, const char *const *extra_env, struct proto_msg *rep);

/* fpm_ops.c: the contents of a memfd as OUTPUT messages (0 or -EPIPE);
 * a failed php-fpm -tt (status r) of config: php-fpm's line in an ENTRY,
 * the reply FPM_TEST in rep; -EIO, or -EPIPE. */
int helper_forward_memfd(struct helper *h, int fd);
int fpm_test_failed(struct helper *h, int memfd, const char *config, int r, struct proto_msg *rep);

/* publish.c: what a release must be to be published (frozen, sealed): 0,
 * 1 when refused (the reply is in rep), or -errno. */
int release_check_frozen(struct helper *h, const char *id, struct release_info *ri, struct proto_msg *rep);

/* bind_ops.c */
int bind_repair(struct helper *h, struct proto_msg *note, char *err, size_t errlen);
int bind_publish(struct helper *h, const char *id, const char *cur, uint64_t *ret_visible_ns,
		 uint64_t *ret_total_ns, char *partial, size_t partial_len, struct proto_msg *rep);

/* The handlers, one per row of PROTO_REQUESTS. */
#define PROTO_X(u, name, handler, ...) \
	int handler(struct helper *h, const struct proto_msg *req, struct proto_msg *rep);
PROTO_REQUESTS(PROTO_X)
#undef PROTO_X

#endif
