/* SPDX-License-Identifier: MIT */
/*
 * The front end's typed client of the privileged helper. This is the only
 * code in src/frontend that builds or reads a struct proto_msg for the
 * helper: every request is a function with typed arguments and a typed
 * result, and every failure the helper reports is a struct helper_error
 * (worded by messages_format()).
 *
 * Each call returns 0, or < 0 when it failed:
 * - the helper answered with a failure: its status (-errno), with err
 *   filled by helper_error_from_reply();
 * - the conversation broke (helper gone, or a reply it must not send):
 *   -ECONNRESET or -EPROTO, and client_lost() is true from then on. Both
 *   mean the same to a caller: the helper is no longer there to finish
 *   the run.
 *
 * Build output (OP_OUTPUT) of any request goes to the client's output
 * sink, which the caller sets (printed, captured, dropped).
 */
#ifndef CUTOVER_CLIENT_H
#define CUTOVER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"
#include "names.h"
#include "proto.h"

typedef void (*client_output_fn)(void *ctx, const char *buf, size_t len);

struct client_sink {
	client_output_fn fn;     /* NULL drops the output */
	void *ctx;
};

enum client_state {
	CLIENT_OK = 0,
	CLIENT_LOST,             /* the helper closed the socket or sent garbage */
	CLIENT_PROTOCOL_ERROR,   /* a reply op that does not answer the request */
};

struct client {
	int sock;
	struct client_sink output;
	enum client_state state;
};

void client_init(struct client *c, int sock, struct client_sink output);
/* Sets the output sink; returns the one it replaces, to put back later. */
struct client_sink client_set_output(struct client *c, struct client_sink output);
/* Has the conversation with the helper broken (helper lost, protocol)? */
bool client_lost(const struct client *c);

/* Build output collected in memory instead of printed (bounded: 4 MiB). */
struct client_capture {
	char *buf;               /* NUL-terminated, or NULL before any output */
	size_t len, cap;
	bool truncated;          /* more arrived than it holds */
};
/* A sink that appends to cap (cleared first by the caller if need be). */
struct client_sink client_capture_sink(struct client_capture *cap);
void client_capture_reset(struct client_capture *cap);
void client_capture_free(struct client_capture *cap);

/* The helper's first message: could it load the config and set up. */
int client_hello(struct client *c, struct helper_error *err);

struct client_lock_result {
	struct helper_error note;     /* mode = bind: what the repair of live found
	                                 (messages_format_note), or code ERR_NONE */
};
/* -EBUSY: someone holds the lock (err says who). */
int client_lock(struct client *c, unsigned wait_s, struct client_lock_result *ret,
		struct helper_error *err);

struct client_stage {
	char id[RELEASE_ID_MAX + 1];
	int dir_fd;                   /* the staging directory, the caller's to close */
	bool existing;                /* --id names a frozen release: the build is compared with it */
};
/* label may be NULL. -EBADMSG if the reply lacks a valid id or the fd. */
int client_stage_begin(struct client *c, const char *label, struct client_stage *ret,
		       struct helper_error *err);
/* The same with the caller's id (stage --id; NULL: a generated one). */
int client_stage_begin_id(struct client *c, const char *label, const char *id, struct client_stage *ret,
			  struct helper_error *err);
int client_link_shared(struct client *c, struct helper_error *err);
/* ret_exit: the step's exit code (128 when killed by a signal). */
int client_run_step(struct client *c, size_t index, uint64_t *ret_exit, struct helper_error *err);

struct client_freeze_result {
	uint64_t bytes, files;
	unsigned flags;               /* FREEZE_ (src/common/proto.h): an --id staged before */
};

/* migrate: makes a staged release the run's (checked as switch checks it). */
struct client_select_result {
	char id[RELEASE_ID_MAX + 1];
	uint64_t bytes, files;
	bool current;
};
int client_select(struct client *c, const char *id, struct client_select_result *ret,
		  struct helper_error *err);
int client_freeze(struct client *c, struct client_freeze_result *ret, struct helper_error *err);
/* ret_kept: the release was kept as failed rather than removed. */
int client_abort(struct client *c, bool keep, bool *ret_kept, struct helper_error *err);
/* What an abort records (arg[2] of OP_ABORT). */
enum abort_kind {
	ABORT_FAILED = 0,
	ABORT_REFUSED = 1,   /* the run refused to go on (a destructive migration) */
	ABORT_DRY_RUN = 2,   /* not a failure: nothing is recorded */
};
/* As client_abort, with why the run failed and its duration so far, for
 * the history (the helper's own reason wins when it saw the failure). */
int client_abort_why(struct client *c, bool keep, const char *why, uint64_t ms, enum abort_kind kind,
		     bool *ret_kept, struct helper_error *err);

struct client_switch_result {
	char to[RELEASE_ID_MAX + 1];      /* now current */
	char from[RELEASE_ID_MAX + 1];    /* was current, or "" */
	uint64_t visible_ns;              /* until the new release was visible */
	uint64_t durable_ns;              /* until it was durable (bind: verified) */
	bool fpm_entered;                 /* mode = bind: also in php-fpm's mount namespace */
	bool partial;                     /* -EXDEV: recorded and partly live (err says where) */
};
/* id: the release to publish; source: what history records as its origin;
 * ms: the run's duration so far. -EXDEV: see partial (ret is filled). */
int client_switch(struct client *c, const char *id, const char *source, uint64_t ms,
		  struct client_switch_result *ret, struct helper_error *err);
/* id NULL or "": the previous release. Otherwise as client_switch. */
int client_rollback(struct client *c, const char *id, const char *source, uint64_t ms,
		    struct client_switch_result *ret, struct helper_error *err);
/* The automatic rollback of a deploy whose health check failed (why): the
 * helper marks the release this run published as unhealthy. */
int client_rollback_auto(struct client *c, const char *why, struct client_switch_result *ret,
			 struct helper_error *err);
/* Tells the helper's history what went wrong where it could not see. */
int client_report(struct client *c, enum history_report kind, const char *why, uint64_t ms,
		  struct helper_error *err);
/* The build log of release id: a read-only fd and its size; -ENOENT when
 * it has none. */
int client_log(struct client *c, const char *id, int *ret_fd, uint64_t *ret_size,
	       struct helper_error *err);

typedef void (*client_pruned_fn)(void *ctx, const char *id, uint64_t bytes);
struct client_prune_result {
	uint64_t freed;               /* bytes */
	uint64_t removed;             /* releases */
};
/* keep 0: the app's configured keep. on_pruned is called per removed release. */
int client_prune(struct client *c, unsigned keep, client_pruned_fn on_pruned, void *ctx,
		 struct client_prune_result *ret, struct helper_error *err);

struct client_release {
	char id[RELEASE_ID_MAX + 1];
	uint64_t created_ns;          /* since the epoch */
	uint64_t bytes, files;
	enum release_state state;     /* or another value the helper knows and we do not */
	bool current, previous;
	bool unhealthy;               /* frozen, failed its health check */
	char reason[256];             /* why failed or unhealthy, escaped; or "" */
	bool has_usage;               /* own and shared are known (frozen releases) */
	uint64_t own;                 /* bytes of objects only this release links */
	uint64_t shared;              /* bytes of objects it shares */
};
typedef void (*client_release_fn)(void *ctx, const struct client_release *r);
int client_list(struct client *c, client_release_fn on_release, void *ctx, struct helper_error *err);

/* mode = bind: what is mounted at live. */
struct client_live {
	bool known;                   /* the helper said (else: no mount table read) */
	unsigned stacked;             /* mounts stacked at live (at most 99) */
	bool root_shared;             /* ROOT is a shared mount */
	char release[RELEASE_ID_MAX + 1];   /* the top mount's release, or "" */
	char options[128];            /* of the top mount */
	char root[PROTO_TEXT_SIZE];   /* the top mount's root */
};

struct client_status {
	char current[RELEASE_ID_MAX + 1];
	char previous[RELEASE_ID_MAX + 1];
	char lock_holder[PROTO_TEXT_SIZE];  /* "" when free */
	unsigned mode;                /* enum publish_mode */
	bool set_up;                  /* ROOT exists (false: nothing deployed yet) */
	bool current_broken;          /* ROOT/current is not a cutover symlink */
	uint64_t store_objects;       /* objects in the store (every release's files) */
	uint64_t store_bytes;         /* and their bytes, each counted once */
	struct client_live live;
};
int client_status(struct client *c, struct client_status *ret, struct helper_error *err);
/* ret_fd: the history file, read-only, or -EBADF when there is none. */
int client_history(struct client *c, int *ret_fd, struct helper_error *err);

/* problem: a CHECK_ code and its subject, for messages_format_note. */
typedef void (*client_problem_fn)(void *ctx, const struct helper_error *problem);
/* -EINVAL when problems were found (each passed to on_problem). */
int client_check(struct client *c, client_problem_fn on_problem, void *ctx, struct helper_error *err);

struct client_verify_diff {
	const char *path;             /* relative to the release; raw bytes */
	enum verify_kind kind;
	uint64_t expected, found;     /* see enum verify_kind */
};
typedef void (*client_verify_fn)(void *ctx, const struct client_verify_diff *d);
struct client_verify_result {
	char release[RELEASE_ID_MAX + 1];
	uint64_t differences, files, entries;
};
/* id NULL or "": the current release. on_diff is called per difference. */
int client_verify(struct client *c, const char *id, client_verify_fn on_diff, void *ctx,
		  struct client_verify_result *ret, struct helper_error *err);

struct client_fpm_inspect_result {
	long master_pid;
	char config[PROTO_TEXT_SIZE];  /* the master's configuration file */
};
/* php-fpm -tt's output goes to the output sink. -EIO: the configuration
 * test failed; other failures: the master cannot be trusted. */
int client_fpm_inspect(struct client *c, struct client_fpm_inspect_result *ret, struct helper_error *err);

struct client_fpm_reload_result {
	uint64_t old_gone_ns;         /* until the old children were gone */
	uint64_t new_child_ns;        /* until the first new child */
	uint32_t old_children, new_children;
};
/* ret is filled on failure too (as far as the reload got). */
int client_fpm_reload(struct client *c, bool expect_new, struct client_fpm_reload_result *ret,
		      struct helper_error *err);
/* id: the release for FPM_REQ_PRECHECK, else NULL. ret_fd: a socket to read
 * the FastCGI response from. */
int client_fpm_request(struct client *c, enum fpm_request_kind kind, const char *id, int *ret_fd,
		       struct helper_error *err);

/* The same with an index (FPM_REQ_SLOT_WARM: into [fpm] warm_urls). */
int client_fpm_request_at(struct client *c, enum fpm_request_kind kind, const char *id, size_t index,
			  int *ret_fd, struct helper_error *err);

/* reload = swap (docs/POOLSWAP.md): one slot as FPM_SLOTS reports it. */
struct client_fpm_slot {
	char slot;                        /* 'a' or 'b' */
	char release[RELEASE_ID_MAX + 1]; /* the release it runs, or "" */
	long master_pid;                  /* 0: none */
	enum fpm_slot_state state;        /* FPM_SLOT_FAILED for a state we do not know */
	uint64_t pss_kb;                  /* master and workers */
	uint64_t warm_seconds;            /* since it stopped being live */
};
typedef void (*client_fpm_slot_fn)(void *ctx, const struct client_fpm_slot *s);
struct client_fpm_slots_result {
	char live_slot;                   /* 'a', 'b', or 0 when none is live */
	char live_release[RELEASE_ID_MAX + 1];
};
/* on_slot is called per slot. -EBADMSG: the helper named no valid slot. */
int client_fpm_slots(struct client *c, client_fpm_slot_fn on_slot, void *ctx,
		     struct client_fpm_slots_result *ret, struct helper_error *err);

struct client_fpm_slot_start_result {
	char slot;                        /* where the release runs now */
	char release[RELEASE_ID_MAX + 1];
	long master_pid;
	uint64_t ready_ms;                /* until it answered */
	bool already_warm;                /* that slot ran the release already: nothing started */
	uint64_t need_kb;                 /* both pools were expected to need */
};
/* id: the release (NULL or "": rollback's pick, fpm-start's current one).
 * php-fpm -tt's output goes to the output sink; on ERR_FPM_TEST err->detail
 * holds php-fpm's line. */
int client_fpm_slot_start(struct client *c, const char *id, struct client_fpm_slot_start_result *ret,
			  struct helper_error *err);

struct client_fpm_slot_retire_result {
	uint64_t queue_us;                /* until its accept queue was empty */
	bool stopped;                     /* stopped now (else kept warm) */
	uint64_t still_queued;            /* connections left when it gave up waiting */
};
/* stop_now: stop it rather than keep it warm for [fpm] keep_warm. */
int client_fpm_slot_retire(struct client *c, char slot, bool stop_now,
			   struct client_fpm_slot_retire_result *ret, struct helper_error *err);

struct client_fpm_live_result {
	char slot;                        /* the live socket names it now */
	uint64_t rename_ns;
};
/* fpm-start: points the live socket at the slot this run started. */
int client_fpm_live(struct client *c, struct client_fpm_live_result *ret, struct helper_error *err);

/* url_ref: "URL#REF" (-ENAMETOOLONG if it does not fit a request). */
int client_fetch_git(struct client *c, const char *url_ref, uint64_t *ret_exit, struct helper_error *err);

enum client_migrate_mode {
	CLIENT_MIGRATE_PRETEND = 0,
	CLIENT_MIGRATE_RUN = 1,
	CLIENT_MIGRATE_VERIFY = 2,    /* [migrate] pretend again, after the run */
};
int client_migrate(struct client *c, enum client_migrate_mode mode, uint64_t *ret_exit,
		   struct helper_error *err);
int client_hook(struct client *c, bool after_switch, size_t index, uint64_t *ret_exit,
		struct helper_error *err);
/* Any [hooks] list (enum hook_kind); reason (on_failure) goes in text. */
int client_hook_kind(struct client *c, unsigned kind, size_t index, const char *reason,
		     uint64_t *ret_exit, struct helper_error *err);

struct client_mount_result {
	char release[RELEASE_ID_MAX + 1];   /* live now, or "" */
	struct helper_error note;     /* what was repaired (messages_format_note) */
	uint64_t unstacked;           /* stacked mounts removed */
	bool mounted;                 /* a release was mounted */
	bool fpm_namespace;           /* also inside php-fpm's mount namespace */
};
int client_mount(struct client *c, struct client_mount_result *ret, struct helper_error *err);

#endif
