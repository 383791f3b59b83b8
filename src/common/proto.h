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
#define PROTO_VERSION 2
#define PROTO_ID_SIZE 72            /* RELEASE_ID_MAX + NUL, padded */
#define PROTO_TEXT_SIZE 1024

/*
 * The verbs a helper can be started for (`cutover-helper VERB APP WHO`).
 * Each names the rows of the op table below that it may use.
 */
#define PROTO_VERBS(X) \
	X(DEPLOY, "deploy") \
	X(STAGE, "stage") \
	X(SWITCH, "switch") \
	X(ROLLBACK, "rollback") \
	X(LIST, "list") \
	X(STATUS, "status") \
	X(PRUNE, "prune") \
	X(CHECK, "check") \
	X(MOUNT, "mount") \
	X(VERIFY, "verify") \
	X(HISTORY, "history") \
	X(LOG, "log") \
	X(MIGRATE, "migrate") \
	X(FPM_START, "fpm-start")

enum proto_verb {
	PV_NONE = 0,
#define PROTO_X(u, name) PV_##u,
	PROTO_VERBS(PROTO_X)
#undef PROTO_X
	PV_MAX,
};

/*
 * The phases of a helper's run: an explicit state machine. Each op moves
 * the run on (or not); what an op may do next is what its row allows in
 * the phase it leaves behind.
 */
#define PROTO_PHASES(X) \
	X(START)     /* nothing done; read-only ops */ \
	X(LOCKED)    /* holds the app lock */ \
	X(STAGING)   /* release created, source being imported */ \
	X(LINKED)    /* shared links made; build steps run in order */ \
	X(FROZEN)    /* release frozen */ \
	X(SWITCHED)  /* published */ \
	X(DONE)      /* aborted or finished; a failed deploy may still prune */

enum proto_phase {
#define PROTO_X(u) PH_##u,
	PROTO_PHASES(PROTO_X)
#undef PROTO_X
	PH_MAX,
};

/* Row flags. */
#define OPF_ONCE 1u          /* at most once per run */

/* For the rows: the phases (a bit each) an op is allowed in, per verb. */
#define PH(p) (1u << PH_##p)
#define PERMIT(verb, phases) [PV_##verb] = (phases)

/*
 * Every request, declared once: X(NAME, "name", handler, flags,
 * PERMIT(verb, phases)...). This makes the enum, the names, and the helper's dispatch
 * rows (helpers/helper.c): a request is served only for a verb that has a
 * PERMIT entry, in one of its phases, and a ONCE op only once; anything
 * else ends the run. docs/SECURITY.md's verb x op table is checked against
 * these rows by tests/test_dispatch.c. The comment after each row says
 * what the request and its reply carry.
 */
#define PROTO_REQUESTS(X) \
	/* arg[0] wait seconds -> REPLY; -EBUSY with holder in text; mode = \
	   bind: error a NOTE_ of the repair of live, arg[] as MOUNT's */ \
	X(LOCK, "lock", op_lock, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(START)), PERMIT(STAGE, PH(START)), PERMIT(SWITCH, PH(START)), \
	  PERMIT(ROLLBACK, PH(START)), PERMIT(PRUNE, PH(START)), PERMIT(MOUNT, PH(START)), \
	  PERMIT(MIGRATE, PH(START)), PERMIT(FPM_START, PH(START))) \
	/* text label, or id: the caller's (--id, release_id_given_valid) -> \
	   REPLY id, arg[0] 1 if id is a frozen release already (the build is \
	   compared with it at freeze and never replaces it), fd: staging dir \
	   (O_DIRECTORY) */ \
	X(STAGE_BEGIN, "stage-begin", op_stage_begin, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(LOCKED)), PERMIT(STAGE, PH(LOCKED))) \
	/* -> REPLY */ \
	X(LINK_SHARED, "link-shared", op_link_shared, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(STAGING)), PERMIT(STAGE, PH(STAGING))) \
	/* arg[0] step index -> OUTPUT*, REPLY arg[0] wait status */ \
	X(RUN_STEP, "run-step", op_run_step, 0, \
	  PERMIT(DEPLOY, PH(LINKED)), PERMIT(STAGE, PH(LINKED))) \
	/* -> REPLY arg[0] bytes, arg[1] files, arg[3] FREEZE_ flags; status \
	   -EEXIST, error EXISTS: the id was staged before with other content \
	   (nothing changed) */ \
	X(FREEZE, "freeze", op_freeze, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(LINKED)), PERMIT(STAGE, PH(LINKED))) \
	/* arg[0] 1 = keep as failed, arg[1] ms of the run so far, arg[2] 1 = \
	   refused (a destructive migration) rather than failed, 2 = a dry \
	   run's end (nothing recorded, as when the front end vanishes), text: why \
	   (the front end's words, recorded \
	   as reported unless the helper saw the failure itself) -> REPLY error \
	   NOTE_KEPT or NOTE_REMOVED (the tree; the failed record and its log \
	   stay) */ \
	X(ABORT, "abort", op_abort, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(STAGING) | PH(LINKED) | PH(FROZEN)), \
	  PERMIT(STAGE, PH(STAGING) | PH(LINKED))) \
	/* id target, text source, arg[0] deploy ms so far -> REPLY id2 from, \
	   arg[1] ns until visible, arg[2] ns until durable (mode = bind: the \
	   mount swap itself, and the whole publish with its checks), arg[3] 1 \
	   if php-fpm's mount namespace was entered, error NOTE_HISTORY if the \
	   history was not written; status -EXDEV: mode = \
	   bind, the release is recorded and partly live (text says where) */ \
	X(SWITCH, "switch", op_switch, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(FROZEN)), PERMIT(SWITCH, PH(LOCKED))) \
	/* id target or "" for previous (never a release marked unhealthy); \
	   arg[0] ms (unused), arg[1] 1 = automatic, after the deploy's health check failed: text \
	   why, the release this run published is marked unhealthy -> REPLY \
	   as SWITCH */ \
	X(ROLLBACK, "rollback", op_rollback, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(SWITCHED)), PERMIT(ROLLBACK, PH(LOCKED))) \
	/* arg[0] keep (the prune verb only; a deploy keeps [publish] keep) -> \
	   ENTRY* (id, arg[0] bytes), REPLY arg[0] freed */ \
	X(PRUNE, "prune", op_prune, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(SWITCHED) | PH(DONE)), PERMIT(PRUNE, PH(LOCKED))) \
	/* -> ENTRY* (see below), END */ \
	/* (switch, rollback: the front end resolves a prefix or label) */ \
	X(LIST, "list", op_list, OPF_ONCE, PERMIT(LIST, PH(START)), \
	  PERMIT(SWITCH, PH(START)), PERMIT(ROLLBACK, PH(START)), PERMIT(MIGRATE, PH(START))) \
	/* -> ENTRY (mode = bind: id release mounted at live, text "OPTIONS\tROOT" \
	   of the top mount, arg[0] mounts stacked there, arg[1] 1 if ROOT is a \
	   shared mount), REPLY id current, id2 previous, text lock holder, \
	   arg[0] mode, arg[1] 1 if ROOT is not set up, arg[2] objects in the \
	   store, arg[3] their bytes */ \
	X(STATUS, "status", op_status, OPF_ONCE, PERMIT(STATUS, PH(START))) \
	/* -> REPLY, fd: history file read-only, or none */ \
	X(HISTORY, "history", op_history, OPF_ONCE, PERMIT(STATUS, PH(START)), \
	  PERMIT(HISTORY, PH(START))) \
	/* arg[0] enum history_report, arg[1] ms, text why -> REPLY; appends an event \
	   marked as reported by the front end (UNHEALTHY: marks the release \
	   this run published); at most HISTORY_REPORTS_MAX per run */ \
	X(REPORT, "report", op_report, 0, \
	  PERMIT(DEPLOY, PH(START) | PH(LOCKED) | PH(STAGING) | PH(LINKED) | PH(FROZEN) | \
		 PH(SWITCHED) | PH(DONE)), \
	  PERMIT(SWITCH, PH(START) | PH(LOCKED) | PH(SWITCHED) | PH(DONE)), \
	  PERMIT(ROLLBACK, PH(START) | PH(LOCKED) | PH(SWITCHED) | PH(DONE))) \
	/* id release -> REPLY arg[0] bytes, fd: its build log read-only; \
	   status -ENOENT when it has none */ \
	X(LOG_READ, "log-read", op_log_read, OPF_ONCE, PERMIT(LOG, PH(START))) \
	/* -> ENTRY* (error a CHECK_ code, its subject in text), REPLY */ \
	X(CHECK, "check", op_check, OPF_ONCE, PERMIT(CHECK, PH(START))) \
	/* -> OUTPUT* (php-fpm -tt), REPLY arg[0] master pid; status -EIO, \
	   error FPM_TEST when the configuration test failed */ \
	X(FPM_INSPECT, "fpm-inspect", op_fpm_inspect, 0, \
	  PERMIT(DEPLOY, PH(START) | PH(LOCKED) | PH(FROZEN)), \
	  PERMIT(SWITCH, PH(START) | PH(LOCKED) | PH(FROZEN)), \
	  PERMIT(ROLLBACK, PH(START) | PH(LOCKED) | PH(FROZEN)), \
	  PERMIT(CHECK, PH(START) | PH(LOCKED) | PH(FROZEN))) \
	/* arg[0] 1 = expect new children -> REPLY arg[0] ns until old \
	   children gone, arg[1] ns until first new child, arg[2] old | new << 32 */ \
	X(FPM_RELOAD, "fpm-reload", op_fpm_reload, 0, \
	  PERMIT(DEPLOY, PH(SWITCHED)), PERMIT(SWITCH, PH(SWITCHED)), \
	  PERMIT(ROLLBACK, PH(SWITCHED))) \
	/* arg[0] enum fpm_request_kind, id: release for PRECHECK -> REPLY, fd: \
	   socket with the request sent, write side shut down; read the \
	   FastCGI response from it */ \
	X(FPM_REQUEST, "fpm-request", op_fpm_request, 0, \
	  PERMIT(DEPLOY, PH(START) | PH(LOCKED) | PH(FROZEN) | PH(SWITCHED)), \
	  PERMIT(SWITCH, PH(START) | PH(LOCKED) | PH(FROZEN) | PH(SWITCHED)), \
	  PERMIT(ROLLBACK, PH(START) | PH(LOCKED) | PH(FROZEN) | PH(SWITCHED)), \
	  PERMIT(CHECK, PH(START) | PH(LOCKED) | PH(FROZEN) | PH(SWITCHED)), \
	  PERMIT(FPM_START, PH(LOCKED))) \
	/* reload = swap (docs/POOLSWAP.md). -> ENTRY per slot: text the slot \
	   ("a" or "b"), id the release it runs ("" none), arg[0] its master's \
	   pid (0 none), arg[1] enum fpm_slot_state, arg[2] Pss kB of master \
	   and workers, arg[3] seconds since it stopped being live (warm); \
	   REPLY text the live slot ("" none), id its release */ \
	X(FPM_SLOTS, "fpm-slots", op_fpm_slots, 0, \
	  PERMIT(STATUS, PH(START)), PERMIT(CHECK, PH(START)), PERMIT(DEPLOY, PH(FROZEN)), \
	  PERMIT(SWITCH, PH(LOCKED)), PERMIT(ROLLBACK, PH(LOCKED)), PERMIT(FPM_START, PH(LOCKED))) \
	/* id: DEPLOY this run's frozen release; SWITCH the target (checked \
	   as switch checks it); ROLLBACK the target, or "" for the one \
	   rollback picks; FPM_START "" for the current release -> OUTPUT* \
	   (php-fpm -tt when it failed), REPLY text slot, id release, arg[0] \
	   master pid, arg[1] ms until it answered, arg[2] 1 if that slot \
	   already ran the release (nothing started), arg[3] kB both pools \
	   were expected to need; errors FPM_MEMORY (arg[0] kB needed, arg[1] \
	   kB available), FPM_TEST, FPM_SLOT (text why) */ \
	X(FPM_SLOT_START, "fpm-slot-start", op_fpm_slot_start, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(FROZEN)), PERMIT(SWITCH, PH(LOCKED)), PERMIT(ROLLBACK, PH(LOCKED)), \
	  PERMIT(FPM_START, PH(LOCKED))) \
	/* text slot, arg[0] 1 = stop it now, 0 = keep it warm for [fpm] \
	   keep_warm (stopped now when that is 0) -> REPLY arg[0] us until its \
	   accept queue was empty, arg[1] 1 if it was stopped, arg[2] \
	   connections still queued when it gave up waiting; error FPM_SLOT: \
	   the live slot is never retired */ \
	X(FPM_SLOT_RETIRE, "fpm-slot-retire", op_fpm_slot_retire, 0, \
	  PERMIT(DEPLOY, PH(FROZEN) | PH(SWITCHED) | PH(DONE)), \
	  PERMIT(SWITCH, PH(LOCKED) | PH(SWITCHED) | PH(DONE)), \
	  PERMIT(ROLLBACK, PH(LOCKED) | PH(SWITCHED) | PH(DONE)), \
	  PERMIT(FPM_START, PH(LOCKED) | PH(SWITCHED))) \
	/* fpm-start: the live socket names the slot this run started for the \
	   current release -> REPLY text slot, arg[0] ns of the rename */ \
	X(FPM_LIVE, "fpm-live", op_fpm_live, OPF_ONCE, PERMIT(FPM_START, PH(LOCKED))) \
	/* text "URL#REF" -> OUTPUT*, REPLY arg[0] git's exit code */ \
	X(FETCH_GIT, "fetch-git", op_fetch_git, OPF_ONCE, \
	  PERMIT(DEPLOY, PH(STAGING)), PERMIT(STAGE, PH(STAGING))) \
	/* arg[0] 0 pretend, 1 run -> OUTPUT*, REPLY arg[0] exit code */ \
	X(MIGRATE, "migrate", op_migrate, 0, PERMIT(DEPLOY, PH(FROZEN)), \
	  PERMIT(MIGRATE, PH(FROZEN))) \
	/* id: a staged release -> REPLY id, arg[0] bytes, arg[1] files, arg[3] \
	   1 if it is current; the run's release from now on (migrate: its \
	   migrations run in it), checked as switch checks its target; status \
	   -ENOENT error NOT_FROZEN, -EUCLEAN error TAMPERED (id) */ \
	X(SELECT, "select", op_select, OPF_ONCE, PERMIT(MIGRATE, PH(LOCKED))) \
	/* arg[0] enum hook_kind (src/common/config.h); arg[1] index; text: \
	   on_failure's reason -> OUTPUT*, REPLY arg[0] exit code; error \
	   NO_CURRENT when nothing is live to run on_failure in */ \
	X(HOOK, "hook", op_hook, 0, \
	  PERMIT(DEPLOY, PH(FROZEN) | PH(SWITCHED) | PH(DONE)), PERMIT(SWITCH, PH(SWITCHED)), \
	  PERMIT(ROLLBACK, PH(SWITCHED))) \
	/* mode = bind: -> REPLY id release live, error a NOTE_ of what was \
	   repaired (text: the current release); \
	   arg[0] stacked mounts removed, arg[1] 1 if a release was mounted, \
	   arg[2] 1 if inside php-fpm's mount namespace */ \
	X(MOUNT, "mount", op_mount, OPF_ONCE, PERMIT(MOUNT, PH(LOCKED))) \
	/* id release or "" for the current one -> ENTRY* (one per difference: \
	   text path, arg[0] enum verify_kind, arg[1] expected, arg[2] found), \
	   REPLY id release, arg[0] differences, arg[1] files hashed, arg[2] \
	   entries in the manifest */ \
	X(VERIFY, "verify", op_verify, OPF_ONCE, PERMIT(VERIFY, PH(START)))

/*
 * The source reader's requests (front end -> reader): no verb permits them
 * in the helper, so the helper ends a run that sends one.
 */
#define PROTO_READER_REQUESTS(X) \
	/* text: --from as given -> SOURCE_FILE or SOURCE_TREE, or REPLY \
	   with status < 0 and the reason in text */ \
	X(SOURCE_OPEN, "source-open")

/* Replies, from the helper or the reader. */
#define PROTO_REPLIES(X) \
	/* status 0 or -errno; on failure error (enum proto_error) and the \
	   failing subject in text */ \
	X(REPLY, "reply") \
	/* text[0..len): build output chunk */ \
	X(OUTPUT, "output") \
	/* one item of a listing */ \
	X(ENTRY, "entry") \
	/* end of a listing */ \
	X(END, "end") \
	/* reader: fd is --from, a regular file */ \
	X(SOURCE_FILE, "source-file") \
	/* reader: fd is a pipe carrying --from, a directory, as a tar stream; \
	   a REPLY follows when the stream ends */ \
	X(SOURCE_TREE, "source-tree")

enum proto_op {
	OP_NONE = 0,
#define PROTO_X(u, ...) OP_##u,
	PROTO_REQUESTS(PROTO_X)
	OP_REQUEST_MAX,
	OP_READER_MIN = 80,
	PROTO_READER_REQUESTS(PROTO_X)
	OP_READER_MAX,
	OP_REPLY_MIN = 99,
	PROTO_REPLIES(PROTO_X)
#undef PROTO_X
	OP_REPLY_MAX,
};

/*
 * Why a request failed: a REPLY with status < 0 carries one of these and
 * the failing subject (a path, a release id, a name) in text; the front
 * end words the sentence (src/frontend/messages.c). The NOTE_ and CHECK_
 * codes are not failures: they say what a successful REPLY or an ENTRY
 * reports. The helper builds no English as root, except in the subjects
 * of the pass-through codes (MESSAGE, SETUP, LAYOUT, MOUNT_POINTS, FREEZE,
 * PUBLISH, REPAIR, FPM_MASTER, FPM_SLOT, BIND_LOCK, PARTIAL, CHECK_BIND), which are
 * the deeper modules' own words.
 */
#define PROTO_ERRORS(X) \
	X(NONE)          /* status is 0, or only the errno is known */ \
	X(MESSAGE)       /* text is the whole message, already worded */ \
	/* the dispatcher; arg[0] the op, arg[1] the verb */ \
	X(NOT_ALLOWED)   /* op not permitted for the verb in this phase */ \
	X(OUT_OF_ORDER)  /* the op's own order rules refused it */ \
	X(OP_FAILED)     /* an internal failure of op (status) */ \
	X(SETUP)         /* the helper could not start; text: why */ \
	/* lock, stage, freeze, abort */ \
	X(WAIT_RANGE)    /* --wait over 86400 */ \
	X(LAYOUT)        /* text: what of ROOT could not be set up */ \
	X(LOCKED)        /* text: the holder */ \
	X(BIND_LOCK)     /* mode = bind, at lock; text: what failed */ \
	X(LABEL_INVALID) \
	X(LABEL_LONG) \
	X(RECOVER)       /* leftovers of an earlier run (status) */ \
	X(LINK_SHARED)   /* text: what failed, or "" (status) */ \
	X(MOUNT_POINTS)  /* mode = bind, freeze; text: what is wrong */ \
	X(FREEZE)        /* text: what failed */ \
	X(TOO_BIG)       /* arg[0] bytes, arg[1] entries */ \
	X(ABORT)         /* id: the release (status) */ \
	/* build sandbox */ \
	X(SANDBOX)       /* cannot start it (status) */ \
	X(STEP_TIMEOUT) \
	X(STEP_DISK) \
	X(STEP_DISK_FULL) /* the step filled the filesystem of the releases */ \
	X(GIT_SOURCE)    /* text: the problem */ \
	/* switch, rollback, prune */ \
	X(NOT_FROZEN)    /* id */ \
	X(TAMPERED)      /* id: releases/ID not root-owned read-only */ \
	X(CURRENT_BAD)   /* ROOT/current is not a symlink to releases/<id> */ \
	X(ALREADY)       /* id is current already */ \
	X(PUBLISH)       /* mode = bind, nothing published; text: why */ \
	X(PARTIAL)       /* mode = bind, id recorded and partly live; text: why */ \
	X(NO_CURRENT) \
	X(NO_PREVIOUS)   /* id: the current release */ \
	X(KEEP_RANGE) \
	X(PRUNE_CURRENT) /* ROOT/current unusable: nothing pruned */ \
	X(MOUNTED)       /* cannot tell what is mounted (status) */ \
	X(REMOVE)        /* id (status) */ \
	X(REPAIR)        /* mode = bind, cutover mount; text: what failed */ \
	/* PHP-FPM */ \
	X(FPM_PID_FILE)  /* [fpm] pid_file not set */ \
	X(FPM_MASTER)    /* text: why the master is not trusted */ \
	X(FPM_GONE)      /* text: its config; no master after the reload */ \
	X(FPM_RELOAD)    /* reload incomplete; arg[] as the reply of FPM_RELOAD */ \
	X(FPM_SOCKET)    /* [fpm] socket not set */ \
	X(FPM_ADDRESS)   /* [fpm] socket not a usable address */ \
	X(FPM_STATUS_PATH) \
	X(FCGI_BUILD)    /* (status) */ \
	X(FCGI_CONNECT)  /* (status) */ \
	X(FCGI_SEND)     /* (status) */ \
	X(FPM_SLOT)      /* reload = swap: text why the slot could not be \
	                    started, used or retired */ \
	X(FPM_MEMORY)    /* arg[0] kB a second pool needs, arg[1] kB available \
	                    (arg[2] 1: [fpm] max_memory was the bound) */ \
	X(FPM_TEST)      /* php-fpm -t failed: text the master's config, \
	                    arg[0] errno of the test or 0 (config invalid), \
	                    arg[1] 1 from FPM_RELOAD (reload refused); an \
	                    ENTRY before the REPLY carries php-fpm's line */ \
	/* Notes: status 0, in a successful REPLY or an ENTRY; what the run \
	   found or did, worded by the front end like the errors. The repair \
	   of live (REPLY of LOCK and MOUNT), id in text: */ \
	X(NOTE_CURRENT_BAD)      /* ROOT/current unusable; live left as it is */ \
	X(NOTE_NOTHING_DEPLOYED) \
	X(NOTE_NOT_FROZEN)       /* the current release is not frozen */ \
	X(NOTE_SERVES)           /* live serves it, nothing to repair */ \
	X(NOTE_REPAIRED)         /* arg[0] stacked mounts removed, arg[1] 1 if \
	                            mounted, arg[2] 1 if in php-fpm's namespace */ \
	/* ABORT */ \
	X(NOTE_KEPT)             /* kept as failed */ \
	X(NOTE_REMOVED) \
	/* SWITCH, ROLLBACK */ \
	X(NOTE_HISTORY)          /* published, but not recorded in the history */ \
	/* the problems of CHECK, one ENTRY each */ \
	X(CHECK_CURRENT_BAD)     /* ROOT/current unusable */ \
	X(CHECK_BIND)            /* text: why ROOT or live cannot be used */ \
	X(CHECK_MOUNT_TABLE)     /* cannot read it */ \
	X(CHECK_LIVE_STALE)      /* id: current; text: what live shows */ \
	X(CHECK_ROOT_NOT_SHARED) \
	X(CHECK_NO_SHELL)        /* /bin/sh is missing */ \
	/* verify */ \
	X(NO_MANIFEST)   /* id has no entries file (frozen before the store) */ \
	/* stage --id */ \
	X(ID_INVALID)    /* the given id is not one a caller may choose */ \
	X(EXISTS)        /* id: staged before with other content */

enum proto_error {
#define PROTO_X(u) ERR_##u,
	PROTO_ERRORS(PROTO_X)
#undef PROTO_X
	ERR_MAX,
};

/* OP_ENTRY of OP_LIST: id; arg[0] created (ns since epoch); arg[1] bytes;
 * arg[2] files; arg[3] = state | flags. */
enum release_state {
	RELEASE_BUILDING = 1,
	RELEASE_FROZEN = 2,
	RELEASE_FAILED = 3,
};
/* OP_ENTRY of OP_LIST, text: "OWN SHARED", the bytes of files whose object
 * only this release links (st_nlink 2: the store and it) and of the rest. */
#define RELEASE_FLAG_CURRENT  (1u << 8)
#define RELEASE_FLAG_PREVIOUS (1u << 9)
/* A frozen release that failed its health check after the switch: rollback
 * without an id never picks it. OP_ENTRY of OP_LIST, text after a tab: the
 * reason of a failed or unhealthy release (the helper's own record). */
#define RELEASE_FLAG_UNHEALTHY (1u << 10)

/* REPLY of OP_FREEZE, arg[3]: the id given to stage-begin existed. */
#define FREEZE_REUSED  (1u << 0)   /* frozen before with the same content: kept, the build dropped */
#define FREEZE_CURRENT (1u << 1)   /* ... and it is the current release */
#define FREEZE_UNHEALTHY (1u << 2) /* ... and it is marked unhealthy */

/* OP_REPORT, arg[0]: what the front end saw go wrong. */
enum history_report {
	REPORT_FAILED = 1,      /* the run failed after the point it could abort */
	REPORT_REFUSED,         /* the run refused to go on (e.g. a destructive migration) */
	REPORT_UNHEALTHY,       /* the release this run published failed its health check */
	REPORT_MAX,
};
#define HISTORY_REPORTS_MAX 4

/* OP_ENTRY of OP_VERIFY: what differs from the manifest. arg[1] and arg[2]
 * (expected, found): MODE the mode bits; OWNER uid << 32 | gid; TYPE 'd',
 * 'f', 'l' or '?'; else 0. */
enum verify_kind {
	VERIFY_CONTENT = 1,   /* a file's SHA-256 is not the manifest's */
	VERIFY_MODE,
	VERIFY_OWNER,
	VERIFY_TYPE,
	VERIFY_EXTRA,         /* in the release, not in the manifest */
	VERIFY_MISSING,       /* in the manifest, not in the release */
	VERIFY_NOT_LINKED,    /* not a hard link to the object its hash names */
	VERIFY_TARGET,        /* a symlink's target is not the manifest's */
	VERIFY_KIND_MAX,
};

enum fpm_request_kind {
	FPM_REQ_STATUS = 1,     /* the pool's status page, ?full */
	FPM_REQ_PRECHECK,       /* [health] url's path, run by the staged release */
	FPM_REQ_OPCACHE_RESET,  /* opcache_reset() in the pool */
	FPM_REQ_PROBE,          /* a script that does not exist: any answer proves the
	                           pool accepts and runs requests */
	FPM_REQ_SLOT_PRECHECK,  /* reload = swap: [health] url's path, sent to the slot
	                           this run started, run by its release */
	FPM_REQ_SLOT_WARM,      /* reload = swap: [fpm] warm_urls[arg[1]] to that slot */
};

/* reload = swap: a slot's state in FPM_SLOTS. */
enum fpm_slot_state {
	FPM_SLOT_STOPPED = 0,   /* no master */
	FPM_SLOT_LIVE,          /* the live socket names it */
	FPM_SLOT_WARM,          /* running, not live */
	FPM_SLOT_FAILED,        /* its unit failed, or a master cutover cannot trust */
	FPM_SLOT_STOPPING,      /* its unit is stopping: the master finishes what it
	                           accepted; never reused, never made live */
};

struct proto_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t status;
	uint32_t len;                 /* bytes used in text (OUTPUT), else strlen */
	uint32_t error;               /* enum proto_error of a failed REPLY */
	uint32_t reserved;            /* 0 */
	uint64_t arg[4];
	char id[PROTO_ID_SIZE];
	char id2[PROTO_ID_SIZE];
	char text[PROTO_TEXT_SIZE];
};

_Static_assert(sizeof(struct proto_msg) == 24 + 32 + 2 * PROTO_ID_SIZE + PROTO_TEXT_SIZE,
	       "proto_msg must have no padding");

/* Fills in magic/version/op and zeroes the rest. */
void proto_init(struct proto_msg *m, enum proto_op op);

/*
 * Validates a received record of n bytes and copies it into out.
 * -EBADMSG: wrong size, magic or version, a length or error code out of
 * range, or reserved bits set;
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
const char *proto_verb_name(enum proto_verb v);
/* PV_NONE for a name that is not a verb. */
enum proto_verb proto_verb_from_name(const char *name);

#endif
