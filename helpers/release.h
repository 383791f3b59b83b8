/* SPDX-License-Identifier: MIT */
/*
 * The on-disk layout of an app, owned by the helper:
 *
 *   ROOT/                      root:root 0755
 *   ROOT/releases/ID/          frozen releases, root:web 0550 (0751 for releases/)
 *   ROOT/shared/               shared dirs and files, linked into releases
 *   ROOT/current -> releases/ID
 *   ROOT/.cutover/             root-only 0700
 *       lock                   flock(2) held by the running helper; holder info
 *       history.jsonl          one JSON object per attempt (src/common/history.h);
 *                              root:operators 0640 when [app] operators is set
 *       state/ID               state of each release (key=value lines); a
 *                              failed build keeps its state (and log) without
 *                              a tree, the newest RELEASE_FAILED_KEEP of them
 *       manifest/ID.sha256     sha256sum(1) manifest of a frozen release
 *       logs/ID.log            build log
 *       staging/ID/            a release being built (unreachable by path
 *                              for anyone but root)
 *       failed/ID/             kept failed builds (--keep-failed)
 *       trash/                 releases being deleted
 *       objects/XX/<sha256>-<mode>  the object store (helpers/store.h); every
 *                              file of a frozen release is a hard link to one
 *       entries/ID.manifest    every entry of a frozen release with its type,
 *                              mode, owner and hash or target (cutover verify)
 *
 * Every function takes the pinned fds in struct layout and validated ids.
 */
#ifndef CUTOVER_RELEASE_H
#define CUTOVER_RELEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "history.h"
#include "names.h"
#include "proto.h"

struct layout {
	int root_fd;
	int releases_fd;
	int shared_fd;
	int meta_fd;        /* .cutover */
	int state_fd;       /* .cutover/state */
	int manifest_fd;    /* .cutover/manifest */
	int logs_fd;        /* .cutover/logs */
	int staging_fd;     /* .cutover/staging */
	int failed_fd;      /* .cutover/failed */
	int trash_fd;       /* .cutover/trash */
	int objects_fd;     /* .cutover/objects (helpers/store.h) */
	int entries_fd;     /* .cutover/entries: ID.manifest, type, mode, owner per entry */
};

struct release_info {
	char id[RELEASE_ID_MAX + 1];
	enum release_state state;
	uint64_t created_ns;
	unsigned long long bytes;
	unsigned long long files;
	bool unhealthy;                /* frozen, but failed its health check */
	char reason[HISTORY_REASON_MAX + 1];   /* why failed or unhealthy */
	bool previous_known;           /* previous was recorded at its last switch */
	char previous[RELEASE_ID_MAX + 1];     /* then current before it ("": none) */
};

/* Opens the layout under cfg->root after checking that root and its
 * ancestors are root-owned and not writable by others. With create, missing
 * directories are created and owners and modes forced; without, nothing is
 * changed and a missing directory is -ENOENT (no deploy has run yet). */
int layout_open(struct layout *l, const struct config *cfg, bool create, char *err, size_t errlen);
void layout_close(struct layout *l);

int state_write(const struct layout *l, const struct release_info *ri);
int state_read(const struct layout *l, const char *id, struct release_info *ret);
/* Removes staging/name; a tree that resists (a process of the deploy user
 * still creating entries through a descriptor it kept) is moved into the
 * trash under a name of its own, so nothing stays under a release's name. */
int staging_discard(const struct layout *l, const char *name);
/* Records in id's state that prev ("" for none) was current before it. */
int state_set_previous(const struct layout *l, const char *id, const char *prev);

/* Reads ROOT/current. ret_id is "" when there is no current release.
 * -EUCLEAN when current is not a symlink to releases/<valid id>. */
int current_read(const struct layout *l, char *ret_id, size_t n);

/* The release that was current before `id` became current through a deploy
 * or switch (rollbacks do not count): from id's state, where every such
 * switch records it, or else (releases older than that) from the history;
 * "" if none. */
int previous_of(const struct layout *l, const char *id, char *ret, size_t n);

/* The rename alone, without the fsync: reload = swap renames the live
 * link right after it, and syncs both afterwards. 0 or -errno. */
int current_rename(const struct layout *l, const char *id);

/* Atomically points ROOT/current at releases/id (temporary symlink,
 * rename(2), fsync of ROOT). ret_visible_ns is the time until the rename
 * made the new release visible, ret_durable_ns until the fsync returned. */
int current_publish(const struct layout *l, const char *id, uint64_t *ret_visible_ns,
		    uint64_t *ret_durable_ns);

/* helpers/release_history.c */

/* Where events go besides the file: the app's name for syslog, and the
 * group that may read the history ((gid_t)-1: root only). Set once by the
 * helper's main; unset, events go to the file only, mode 0600. */
void history_configure(const char *app, gid_t operators_gid);

/* Appends a switch line (event = verb). 0 or -errno. */
int history_append(const struct layout *l, const char *verb, const char *from,
		   const char *to, const char *who, const char *source,
		   uint64_t duration_ms);

/* Appends any event (its time is set here), fixes the file's owner and
 * mode, and sends the event to syslog. 0 or -errno (syslog never fails it). */
int history_record(const struct layout *l, struct history_entry *e);

/* What `rollback` without an id goes back to from cur: the previous
 * release, skipping releases marked unhealthy or no longer frozen. "" if
 * none. */
int rollback_target(const struct layout *l, const char *cur, char *ret, size_t n);

/* A failed build's record: its log cut to its last RELEASE_LOG_MAX bytes,
 * and failed records beyond the newest RELEASE_FAILED_KEEP removed (state
 * and log; kept trees too). */
#define RELEASE_LOG_MAX (1024 * 1024)
#define RELEASE_FAILED_KEEP 10
int release_failed_bound(const struct layout *l, const char *id);

/* All releases with a state file, newest first. Caller frees *ret. */
int release_list(const struct layout *l, struct release_info **ret, size_t *ret_n);

/* Removes every trace of a release: releases/ID (through trash/), the
 * staging and failed trees, state, manifest and log. */
int release_remove(const struct layout *l, const char *id);

/* Removes a release's tree, manifests and staging but keeps its record:
 * ri (its state) is written as failed first, the log stays. */
int release_drop_tree(const struct layout *l, const char *id, struct release_info *ri);

/* Removes half-built leftovers of crashed runs. Caller holds the lock. */
int release_recover(const struct layout *l, const char *keep_id);

/*
 * Builds the release id for creation time t (seconds since the epoch, UTC),
 * attempt n (1 for the first, 2.. for collisions in the same second) and an
 * optional label: 20261126T041056Z, 20261126T041056Z-2,
 * 20261126T041056Z-v1.4.2. Returns 0 or -EINVAL/-ENAMETOOLONG.
 */
int release_id_format(char *dst, size_t n, int64_t t, unsigned attempt,
		      const char *label);

#endif
