/* SPDX-License-Identifier: MIT */
/*
 * The helper's release lifecycle: the app lock, staging a release, freezing
 * or abandoning it, publishing it (switch, rollback), pruning old ones, and
 * the read-only views (list, status, history, check).
 */
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "bind.h"
#include "freeze.h"
#include "fsops.h"
#include "release.h"
#include "store.h"
#include "verify.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* ---- history -------------------------------------------------------- */

/* Records an attempt that published nothing (a failure, a refusal, a
 * release found unhealthy): event, the release concerned (may be ""), why,
 * and whether the front end reported it rather than the helper seeing it. */
int history_event(struct helper *h, const char *event, const char *release,
		  const char *why, bool reported, uint64_t ms)
{
	struct history_entry e = { .reported = reported, .duration_ms = ms };

	str_copy(e.verb, sizeof(e.verb), h->verb_name);
	str_copy(e.event, sizeof(e.event), event);
	str_copy(e.who, sizeof(e.who), h->who);
	str_copy(e.release, sizeof(e.release), release);
	str_copy(e.reason, sizeof(e.reason), why ? why : "");
	return history_record(&h->l, &e);
}

/* Marks a frozen release as having failed its health check, with why, or
 * (why NULL) clears that mark; a release without the mark is left as is. */
static int release_set_unhealthy(struct helper *h, const char *id, const char *why)
{
	struct release_info ri;
	int r = state_read(&h->l, id, &ri);

	if (r < 0 || (!why && !ri.unhealthy))
		return r;
	if (why && ri.state != RELEASE_FROZEN)
		return -ESTALE;
	ri.unhealthy = why != NULL;
	str_copy(ri.reason, sizeof(ri.reason), why ? why : "");
	return state_write(&h->l, &ri);
}

/* ---- lock ---------------------------------------------------------- */

static void lock_holder(struct helper *h, int fd, char *buf, size_t n)
{
	ssize_t got = pread(fd, buf, n - 1, 0);

	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0])
		snprintf(buf, n, "another cutover run");
}

static struct flock whole_file(short type)
{
	return (struct flock){ .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
}

/* Takes the app lock on fd, waiting until deadline. 0, -EBUSY (the
 * holder in holder), or -errno. */
static int lock_take(struct helper *h, int fd, uint64_t deadline, char *holder, size_t n)
{
	/* An open-file-description lock goes away with the last fd of its
	 * holder, so a crashed run can never leave the app locked; unlike
	 * flock, it can be tested without being taken (F_OFD_GETLK). */
	for (;;) {
		struct flock fl = whole_file(F_WRLCK);

		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -errno;
		if (now_ns() >= deadline) {
			lock_holder(h, fd, holder, n);
			return -EBUSY;
		}
		usleep(50 * 1000);
	}
}

/* Writes who holds the lock now, for status and for runs that wait. */
static int lock_record_holder(struct helper *h, int fd)
{
	char holder[256], when[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(holder, sizeof(holder), "pid %d (%s by %s, since %s)\n",
		 (int)getppid(), h->verb_name, h->who, when);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, holder, strlen(holder), 0) < 0)
		return -errno;
	return 0;
}

/* mode = bind, once locked: every locked run starts from live as the
 * record says; a crash of an earlier one is repaired before anything else. */
static void lock_bind_prepare(struct helper *h, struct proto_msg *rep)
{
	char err[600];
	int r;

	reply_init(rep, 0, NULL);
	r = bind_root_prepare(&h->l, &h->cfg, err, sizeof(err));
	if (r == 0)
		r = bind_probe(&h->l, &h->cfg, err, sizeof(err));
	/* The table cannot say this: every locking verb takes the same lock,
	 * but cutover mount repairs in its own op, which reports what it did. */
	if (r == 0 && h->verb != PV_MOUNT)
		r = bind_repair(h, rep, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_BIND_LOCK, err);
		return;
	}
	h->phase = PH_LOCKED;
}

int op_lock(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	uint64_t deadline = now_ns() + req->arg[0] * 1000000000ull;
	_cleanup_close_ int fd = -EBADF;
	char holder[256], err[600];
	int r;

	if (req->arg[0] > 86400) {
		reply_fail(rep, -EINVAL, ERR_WAIT_RANGE, NULL);
		return 0;
	}
	/* The first change of any run: only now is ROOT created or repaired. */
	layout_close(&h->l);
	r = layout_open(&h->l, &h->cfg, true, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_LAYOUT, err);
		return 0;
	}
	h->absent = false;
	fd = openat(h->l.meta_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = lock_take(h, fd, deadline, holder, sizeof(holder));
	if (r == -EBUSY) {
		char why[300];

		snprintf(why, sizeof(why), "the app is locked by %s", holder);
		(void)history_event(h, "refused", "", why, false, 0);
		reply_fail(rep, -EBUSY, ERR_LOCKED, holder);
		return 0;
	}
	if (r == 0)
		r = lock_record_holder(h, fd);
	if (r < 0)
		return r;
	h->lock_fd = TAKE_FD(fd);
	if (h->cfg.mode == PUBLISH_BIND) {
		lock_bind_prepare(h, rep);
		return 0;
	}
	h->phase = PH_LOCKED;
	reply_init(rep, 0, NULL);
	return 0;
}

/* ---- staging ------------------------------------------------------- */

/* A generated id, YYYYMMDDTHHMMSSZ[-N][-label]: the placeholder in
 * releases/ reserves it (mkdir is atomic). 0, 1 with the failure in rep,
 * or -errno. */
static int stage_id_generated(struct helper *h, const char *label, struct proto_msg *rep)
{
	time_t t = time(NULL);
	int r;

	for (unsigned attempt = 1;; attempt++) {
		struct release_info old;

		if (attempt > 1000)
			return -EEXIST;
		r = release_id_format(h->id, sizeof(h->id), t, attempt, label);
		if (r < 0) {
			reply_fail(rep, r, ERR_LABEL_LONG, NULL);
			return 1;
		}
		if (state_read(&h->l, h->id, &old) == 0)
			continue;
		if (mkdirat(h->l.releases_fd, h->id, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
}

/*
 * The caller's id (stage --id). A frozen release of that name is never
 * touched: the build is made to be compared with it (rebuild), and the
 * freeze keeps the one and drops the other. A failed build's record of
 * that name goes: a failed build never had content anyone could switch
 * to, so retrying the same id is no second content under one name.
 * 0, 1 with the failure in rep, or -errno.
 */
static int stage_id_given(struct helper *h, const char *id, struct proto_msg *rep)
{
	struct release_info old;
	int r;

	if (!release_id_given_valid(id)) {
		reply_fail(rep, -EINVAL, ERR_ID_INVALID, NULL);
		return 1;
	}
	str_copy(h->id, sizeof(h->id), id);
	r = state_read(&h->l, id, &old);
	if (r == 0 && old.state == RELEASE_FROZEN) {
		h->rebuild = true;
		h->info = old;
		return 0;
	}
	if (r == 0 && (r = release_remove(&h->l, id)) < 0)
		return r;
	if (r < 0 && r != -ENOENT && r != -EUCLEAN)
		return r;
	if (mkdirat(h->l.releases_fd, id, 0) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* releases/ID without a state: not ours to judge (release_recover
	 * leaves it for a human) */
	reply_fail(rep, -EEXIST, ERR_EXISTS, NULL);
	str_copy(rep->id, sizeof(rep->id), id);
	return 1;
}

int op_stage_begin(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	const char *label = req->text[0] ? req->text : NULL;
	char log[RELEASE_ID_MAX + 8];
	int r, fd;

	if (label && !label_valid(label)) {
		reply_fail(rep, -EINVAL, ERR_LABEL_INVALID, NULL);
		return 0;
	}
	if (label && req->id[0]) {
		reply_fail(rep, -EINVAL, ERR_ID_INVALID, NULL);
		return 0;
	}
	r = release_recover(&h->l, "");
	if (r < 0) {
		reply_fail(rep, r, ERR_RECOVER, NULL);
		return 0;
	}
	r = req->id[0] ? stage_id_given(h, req->id, rep) : stage_id_generated(h, label, rep);
	if (r != 0) {
		h->id[0] = '\0';
		h->rebuild = false;
		return r < 0 ? r : 0;
	}
	if (!h->rebuild) {
		h->info = (struct release_info){ .state = RELEASE_BUILDING, .created_ns = wall_ns() };
		str_copy(h->info.id, sizeof(h->info.id), h->id);
		r = state_write(&h->l, &h->info);
		if (r < 0)
			return r;
	}
	h->phase = PH_STAGING;
	h->tree_fd = fs_ensure_dir(h->l.staging_fd, h->id, 0755, h->cfg.uid, h->cfg.gid);
	if (h->tree_fd < 0)
		return h->tree_fd;
	snprintf(log, sizeof(log), "%s.log", h->id);
	fd = h->rebuild ? -1 : openat(h->l.logs_fd, log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	reply_init(rep, 0, NULL);
	str_copy(rep->id, sizeof(rep->id), h->id);
	rep->arg[0] = h->rebuild;
	return helper_send(h, rep, h->tree_fd) < 0 ? -EPIPE : HANDLER_SENT;
}

/* ---- freeze -------------------------------------------------------- */

/* The store must be on the filesystem of releases/ (hard links) and of
 * staging/ (the new tree moves into releases/ by rename). */
static bool freeze_same_fs(const struct layout *l)
{
	struct stat a, b, c;

	return fstat(l->objects_fd, &a) == 0 && fstat(l->releases_fd, &b) == 0 &&
	       fstat(l->staging_fd, &c) == 0 && a.st_dev == b.st_dev && b.st_dev == c.st_dev;
}

/* Opens the two manifests' temporary files (.NAME.tmp) in dirfd. */
static int freeze_open_tmp(int dirfd, const char *id, const char *ext, char *tmp, size_t n)
{
	int fd;

	snprintf(tmp, n, ".%s.%s.tmp", id, ext);
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

static int freeze_commit_tmp(int dirfd, int fd, const char *tmp, const char *id, const char *ext)
{
	char name[RELEASE_ID_MAX + 16];

	snprintf(name, sizeof(name), "%s.%s", id, ext);
	if (fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0)
		return -errno;
	return 0;
}

/* A failed freeze leaves nothing: not the new tree, not its manifests,
 * not the objects only it linked (we hold the lock). */
static void freeze_undo(struct helper *h, const char *pub, const char *sha_tmp, const char *ent_tmp)
{
	(void)unlinkat(h->l.manifest_fd, sha_tmp, 0);
	(void)unlinkat(h->l.entries_fd, ent_tmp, 0);
	(void)fs_remove_tree(h->l.staging_fd, pub);
	(void)store_gc(h->l.objects_fd, NULL, NULL);
}

/* The frozen tree replaces its empty placeholder in releases/ in one
 * rename; only then is it recorded as frozen. A crash in between leaves
 * state "building", which the next run cleans up. The build's own tree
 * goes to trash/, removed at the end of the run (off the switch's path). */
static int freeze_publish(struct helper *h, const char *pub, const struct freeze_stats *st)
{
	if (renameat(h->l.staging_fd, pub, h->l.releases_fd, h->id) < 0)
		return -errno;
	if (fsync(h->l.releases_fd) < 0)
		return -errno;
	h->info.state = RELEASE_FROZEN;
	h->info.bytes = st->bytes;
	h->info.files = st->files;
	return state_write(&h->l, &h->info);
}

/*
 * The build's tree, once the release is made anew: moved to the trash and
 * removed at once, before the syncfs that makes the release durable. Its
 * files were written moments ago and are mostly still only in the page
 * cache: removed now, they never reach the disk, where after a syncfs
 * freeing their blocks would cost more than the rest of a stage of one
 * changed file. What cannot be removed now goes at the end of the run.
 */
static void freeze_discard_build(struct helper *h)
{
	char build[RELEASE_ID_MAX + 8];

	snprintf(build, sizeof(build), "%s.build", h->id);
	(void)fs_remove_tree(h->l.trash_fd, build);
	if (renameat(h->l.staging_fd, h->id, h->l.trash_fd, build) < 0)
		return;
	h->build_in_trash = true;
	if (fs_remove_tree(h->l.trash_fd, build) == 0)
		h->build_in_trash = false;
}

void freeze_drop_build(struct helper *h)
{
	char build[RELEASE_ID_MAX + 8];

	if (!h->build_in_trash)
		return;
	h->build_in_trash = false;
	snprintf(build, sizeof(build), "%s.build", h->id);
	(void)fs_remove_tree(h->l.trash_fd, build);
}

/* 1 when files a and b of dirfd hold the same bytes, 0 when not, or -errno. */
static int freeze_files_equal(int dirfd, const char *a, const char *b)
{
	_cleanup_close_ int fa = openat(dirfd, a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int fb = openat(dirfd, b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc(2 * 65536);
	struct stat sa, sb;

	if (fa < 0 || fb < 0)
		return -errno;
	if (!buf)
		return -ENOMEM;
	if (fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0)
		return -errno;
	if (!S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode))
		return -EUCLEAN;
	if (sa.st_size != sb.st_size)
		return 0;
	for (off_t off = 0; off < sa.st_size;) {
		ssize_t x = pread(fa, buf, 65536, off), y = pread(fb, buf + 65536, 65536, off);

		if (x < 0 || y < 0)
			return -errno;
		if (x != y || x == 0)
			return x == y ? 1 : 0;
		if (memcmp(buf, buf + 65536, (size_t)x) != 0)
			return 0;
		off += x;
	}
	return 1;
}

/*
 * stage --id of an existing frozen release: the new build was frozen into
 * .ID.new only to compare its entries (type, mode, owner, hash or target
 * of every entry) with the existing release's. Either way the new tree
 * and manifests go (the store made the rebuild cheap: its files are links
 * to the objects the existing release holds). The same content is no
 * change; other content is refused. An existing release without an
 * entries file (frozen before the store) cannot be compared: refused.
 */
static int freeze_compare(struct helper *h, const char *pub, const char *sha_tmp,
			  const char *ent_tmp, struct proto_msg *rep)
{
	char name[RELEASE_ID_MAX + 16], build[RELEASE_ID_MAX + 8], cur[RELEASE_ID_MAX + 1] = "";
	int same;

	snprintf(name, sizeof(name), "%s.manifest", h->id);
	same = freeze_files_equal(h->l.entries_fd, ent_tmp, name);
	freeze_undo(h, pub, sha_tmp, ent_tmp);
	if (same < 0 && same != -ENOENT && same != -EUCLEAN)
		return same;
	if (same != 1) {
		/* A refusal, not a failure: the front end's ABORT records it. */
		reply_fail(rep, -EEXIST, ERR_EXISTS, NULL);
		str_copy(rep->id, sizeof(rep->id), h->id);
		return 0;
	}
	/* The build's tree waits in trash/ for the end of the run. */
	snprintf(build, sizeof(build), "%s.build", h->id);
	(void)fs_remove_tree(h->l.trash_fd, build);
	if (renameat(h->l.staging_fd, h->id, h->l.trash_fd, build) == 0)
		h->build_in_trash = true;
	h->reused = true;
	h->phase = PH_FROZEN;
	(void)current_read(&h->l, cur, sizeof(cur));
	reply_init(rep, 0, NULL);
	rep->arg[0] = h->info.bytes;
	rep->arg[1] = h->info.files;
	rep->arg[3] = FREEZE_REUSED | (strcmp(cur, h->id) == 0 ? FREEZE_CURRENT : 0) |
		      (h->info.unhealthy ? FREEZE_UNHEALTHY : 0);
	str_copy(rep->id, sizeof(rep->id), h->id);
	return 0;
}

/* What must hold before a freeze starts: 1 to go on, 0 when refused
 * (the reply says why), or -errno. */
static int freeze_preflight(struct helper *h, struct proto_msg *rep)
{
	char err[1100];
	int r;

	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_check_mount_points(h->tree_fd, &h->cfg, err, sizeof(err));
		if (r < 0) {
			snprintf(h->fail_reason, sizeof(h->fail_reason), "freeze refused: %.200s", err);
			reply_fail(rep, r, ERR_MOUNT_POINTS, err);
			return 0;
		}
	}
	if (h->l.objects_fd < 0 || h->l.entries_fd < 0)
		return -ENOENT;
	if (!freeze_same_fs(&h->l)) {
		snprintf(err, sizeof(err), "freeze: %s/.cutover/objects is not on the filesystem of %s/releases; "
			 "the store needs hard links between them", h->cfg.root, h->cfg.root);
		snprintf(h->fail_reason, sizeof(h->fail_reason), "%.250s", err);
		reply_fail(rep, -EXDEV, ERR_FREEZE, err);
		return 0;
	}
	return 1;
}

int op_freeze(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char sha_tmp[RELEASE_ID_MAX + 24], ent_tmp[RELEASE_ID_MAX + 24], pub[RELEASE_ID_MAX + 8];
	char shared_prefix[PATH_MAX], err[1100];
	_cleanup_close_ int sfd = -EBADF, efd = -EBADF, dfd = -EBADF;
	struct freeze_stats st = { 0 };
	int r;

	if (h->next_step != h->cfg.n_build_run)
		return -EPROTO;
	r = freeze_preflight(h, rep);
	if (r <= 0)
		return r;
	r = str_printf(shared_prefix, sizeof(shared_prefix), "%s/shared/", h->cfg.root);
	if (r < 0)
		return r;
	sfd = freeze_open_tmp(h->l.manifest_fd, h->id, "sha256", sha_tmp, sizeof(sha_tmp));
	if (sfd < 0)
		return sfd;
	efd = freeze_open_tmp(h->l.entries_fd, h->id, "manifest", ent_tmp, sizeof(ent_tmp));
	if (efd < 0)
		return efd;
	/* The release is a tree the helper makes, next to the build's. */
	snprintf(pub, sizeof(pub), ".%s.new", h->id);
	(void)fs_remove_tree(h->l.staging_fd, pub);
	if (mkdirat(h->l.staging_fd, pub, 0500) < 0)
		return -errno;
	dfd = openat(h->l.staging_fd, pub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		r = -errno;
	else {
		struct freeze_spec spec = {
			.src_fd = h->tree_fd, .dst_fd = dfd, .objects_fd = h->l.objects_fd,
			.web_gid = h->cfg.web_gid, .shared_prefix = shared_prefix,
			.sha_fd = sfd, .manifest_fd = efd,
			.max_bytes = h->cfg.max_size, .max_entries = h->cfg.max_files,
		};
		r = freeze_tree(&spec, &st, err, sizeof(err));
	}
	if (r < 0) {
		freeze_undo(h, pub, sha_tmp, ent_tmp);
		snprintf(h->fail_reason, sizeof(h->fail_reason), "freeze failed: %.200s",
			 r == -EFBIG ? "the release is larger than max_size or max_files" :
			 err[0] ? err : strerror(-r));
		if (r != -EFBIG) {
			reply_fail(rep, r, ERR_FREEZE, err[0] ? err : NULL);
			return 0;
		}
		reply_fail(rep, -EFBIG, ERR_TOO_BIG, NULL);
		rep->arg[0] = st.bytes;
		rep->arg[1] = st.files + st.dirs + st.symlinks;
		return 0;
	}
	if (h->rebuild)
		return freeze_compare(h, pub, sha_tmp, ent_tmp, rep);
	freeze_discard_build(h);
	/* The objects and the new tree are on one filesystem: one syncfs
	 * makes both durable before the release can be published. */
	if (syncfs(dfd) < 0)
		return -errno;
	r = freeze_commit_tmp(h->l.manifest_fd, sfd, sha_tmp, h->id, "sha256");
	if (r == 0)
		r = freeze_commit_tmp(h->l.entries_fd, efd, ent_tmp, h->id, "manifest");
	if (r == 0)
		r = freeze_publish(h, pub, &st);
	if (r < 0)
		return r;
	h->phase = PH_FROZEN;
	reply_init(rep, 0, NULL);
	rep->arg[0] = st.bytes;
	rep->arg[1] = st.files;
	rep->arg[2] = st.objects_new;
	str_copy(rep->id, sizeof(rep->id), h->id);
	return 0;
}

/* A failed build's record: the state says failed and why, the log stays
 * (bounded); the tree goes unless kept. Only an explicit ABORT records:
 * a front end that vanished (a signal, a crash) leaves no record. */
static int abort_record(struct helper *h)
{
	int r;

	h->info.state = RELEASE_FAILED;
	str_copy(h->info.reason, sizeof(h->info.reason),
		 h->fail_reason[0] ? h->fail_reason : h->abort_reason[0] ? h->abort_reason :
		 "abandoned by the front end");
	r = state_write(&h->l, &h->info);
	if (r < 0)
		return r;
	(void)history_event(h, h->abort_refused && !h->fail_reason[0] ? "refused" : "failed", h->id,
			    h->info.reason, !h->fail_reason[0], h->abort_ms);
	return release_failed_bound(&h->l, h->id);
}

/* The tree goes; with an explicit ABORT the record stays. A record that
 * cannot be written (the disk is full: often why the run failed) must not
 * keep the tree: then everything goes, as without a record. */
static int abort_drop(struct helper *h)
{
	int r;

	if (h->record_abort) {
		r = release_drop_tree(&h->l, h->id, &h->info);
		if (r != -ENOSPC && r != -EDQUOT)
			return r;
		h->record_abort = false;
	}
	return release_remove(&h->l, h->id);
}

/* A rebuild that did not end as the existing release (a failure, other
 * content), or a release the run reused: only this run's build goes. The
 * release of that name was there before the run and stays as it was,
 * with no failed record; the attempt is in the history. */
static int abort_rebuild(struct helper *h)
{
	bool building = h->phase == PH_STAGING || h->phase == PH_LINKED;
	int r = 0;

	if (!building && h->phase != PH_FROZEN)
		return 0;
	h->phase = PH_DONE;
	if (building)
		r = staging_discard(&h->l, h->id);
	if (h->record_abort)
		(void)history_event(h, h->abort_refused && !h->fail_reason[0] ? "refused" : "failed", h->id,
				    h->fail_reason[0] ? h->fail_reason : h->abort_reason[0] ? h->abort_reason :
				    "abandoned by the front end", !h->fail_reason[0], h->abort_ms);
	return r;
}

int abort_staging(struct helper *h, bool keep_failed)
{
	int r;

	if (h->rebuild || h->reused)
		return abort_rebuild(h);

	/* A run that publishes its own frozen release (its row of SWITCH
	 * permits FROZEN: deploy) may also abandon it after the freeze, when
	 * the pre-switch check fails: it was never published. A staged
	 * release is what stage leaves behind: its ABORT row stops at LINKED,
	 * and the end of a stage run keeps it (below). */
	if (h->phase == PH_FROZEN && helper_permits(h, OP_SWITCH, PH_FROZEN)) {
		h->phase = PH_DONE;
		r = abort_drop(h);
		/* Its objects that no other release links go with it. */
		if (r == 0 && h->l.objects_fd >= 0)
			r = store_gc(h->l.objects_fd, NULL, NULL);
		if (r == 0 && h->record_abort)
			r = abort_record(h);
		return r;
	}
	if (h->phase != PH_STAGING && h->phase != PH_LINKED)
		return 0;
	h->phase = PH_DONE;
	if (keep_failed && renameat(h->l.staging_fd, h->id, h->l.failed_fd, h->id) == 0) {
		(void)unlinkat(h->l.releases_fd, h->id, AT_REMOVEDIR);
		if (h->record_abort)
			r = abort_record(h);
		else {
			h->info.state = RELEASE_FAILED;
			r = state_write(&h->l, &h->info);
		}
		return r < 0 ? r : 1;
	}
	r = abort_drop(h);
	if (r == 0 && h->record_abort)
		r = abort_record(h);
	return r;
}

int op_abort(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	int r;

	if (req->arg[2] > 2)
		return -EPROTO;
	/* A dry run is not a failure; a front end could drop the record
	 * anyway by going away. */
	h->record_abort = req->arg[2] != 2;
	h->failed = req->arg[2] != 2;
	str_copy(h->abort_reason, sizeof(h->abort_reason), req->text);
	h->abort_ms = req->arg[1];
	h->abort_refused = req->arg[2] == 1;
	r = abort_staging(h, req->arg[0] == 1);
	if (r < 0) {
		reply_fail(rep, r, ERR_ABORT, NULL);
		str_copy(rep->id, sizeof(rep->id), h->id);
	} else {
		reply_init(rep, 0, NULL);
		rep->error = r == 1 ? ERR_NOTE_KEPT : ERR_NOTE_REMOVED;
	}
	return 0;
}

/* ---- switch, rollback, prune --------------------------------------- */

/*
 * Before a release is published: every entry still root-owned without
 * write bits, every file still a link to an object (metadata only, no
 * hashing: a switch and a rollback stay fast; `cutover verify` hashes).
 * Releases frozen before the store (no entries file) have files of their
 * own, one link each. 0, 1 when refused (the reply is in rep), or -errno.
 */
static int switch_check_sealed(struct helper *h, const char *id, int fd, struct proto_msg *rep)
{
	char name[RELEASE_ID_MAX + 16], bad[PROTO_TEXT_SIZE];
	bool store;
	int r;

	snprintf(name, sizeof(name), "%s.manifest", id);
	store = h->l.entries_fd >= 0 && faccessat(h->l.entries_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	r = verify_sealed(fd, store, bad, sizeof(bad));
	if (r != -EUCLEAN)
		return r;
	reply_fail(rep, r, ERR_TAMPERED, bad);
	str_copy(rep->id, sizeof(rep->id), id);
	return 1;
}

/* What a release must be to be published or have its migrations run:
 * frozen, root-owned without write bits, sealed. 0 (its state in ri), 1
 * when refused (the reply is in rep), or -errno. */
int release_check_frozen(struct helper *h, const char *id, struct release_info *ri, struct proto_msg *rep)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	r = state_read(&h->l, id, ri);
	if (r < 0 || ri->state != RELEASE_FROZEN) {
		reply_fail(rep, -ENOENT, ERR_NOT_FROZEN, NULL);
		str_copy(rep->id, sizeof(rep->id), id);
		return 1;
	}
	fd = fs_open_beneath(h->l.releases_fd, id, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0222)) {
		reply_fail(rep, -EUCLEAN, ERR_TAMPERED, NULL);
		str_copy(rep->id, sizeof(rep->id), id);
		return 1;
	}
	return switch_check_sealed(h, id, fd, rep);
}

static int do_switch(struct helper *h, const char *verb, const char *id,
		     const char *source, uint64_t ms, const char *auto_reason, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1], partial[900] = "";
	struct release_info ri;
	uint64_t visible_ns = 0, durable_ns = 0, t0;
	bool back;
	int r;

	r = release_check_frozen(h, id, &ri, rep);
	if (r != 0)
		return r < 0 ? r : 0;
	r = current_read(&h->l, cur, sizeof(cur));
	if (r == -EUCLEAN) {
		reply_fail(rep, r, ERR_CURRENT_BAD, NULL);
		return 0;
	}
	if (r < 0)
		return r;
	if (strcmp(cur, id) == 0) {
		reply_fail(rep, -EALREADY, ERR_ALREADY, NULL);
		str_copy(rep->id, sizeof(rep->id), id);
		return 0;
	}
	/* reload = swap: a rollback of this run's own switch goes back to
	 * the slot that was live before it; anything else to the slot
	 * fpm-slot-start started or found for id. */
	back = strcmp(verb, "rollback") == 0 && h->published[0];
	if (swap_enabled(h) && (r = swap_switch_check(h, id, back, rep)) != 0)
		return r < 0 ? r : 0;
	t0 = now_ns();
	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_publish(h, id, cur, &visible_ns, &durable_ns, partial, sizeof(partial), rep);
		if (r <= 0)
			return r;   /* nothing published; the error is in rep */
	} else if (swap_enabled(h)) {
		/* current, then at once the live link, then the fsyncs: the
		 * window between the two renames stays microseconds. visible
		 * is both renames. A failed link rename puts current back:
		 * nothing was published. */
		r = current_rename(&h->l, id);
		if (r < 0)
			return r;
		if (swap_switch_link(h, cur, back, rep) != 0)
			return 0;
		visible_ns = now_ns() - t0;
		durable_ns = fsync(h->l.root_fd) == 0 ? now_ns() - t0 : 0;
	} else {
		r = current_publish(&h->l, id, &visible_ns, &durable_ns);
		if (r < 0)
			return r;
	}
	h->phase = PH_SWITCHED;
	str_copy(h->published, sizeof(h->published), id);
	/* A new release is live: its after_switch hooks run from the start. */
	h->next_hook[HOOK_AFTER_SWITCH] = 0;
	/* Rollback's "previous" lives with the release, not only in the
	 * history, so no flood of history lines can push it out of reach. */
	if (!auto_reason && strcmp(verb, "rollback") != 0) {
		(void)state_set_previous(&h->l, id, cur);
		str_copy(h->own_published, sizeof(h->own_published), id);
	}
	/* Switched to on purpose (by name, or as a deploy's own release): a
	 * past failed health check no longer speaks for it; a new one marks
	 * it again. */
	if (!auto_reason)
		(void)release_set_unhealthy(h, id, NULL);
	if (auto_reason) {
		struct history_entry ev = { .duration_ms = ms, .reported = true };

		str_copy(ev.verb, sizeof(ev.verb), verb);
		str_copy(ev.event, sizeof(ev.event), "auto-rollback");
		str_copy(ev.from, sizeof(ev.from), cur);
		str_copy(ev.to, sizeof(ev.to), id);
		str_copy(ev.who, sizeof(ev.who), h->who);
		str_copy(ev.source, sizeof(ev.source), source);
		str_copy(ev.reason, sizeof(ev.reason), auto_reason);
		r = history_record(&h->l, &ev);
	} else
		r = history_append(&h->l, verb, cur, id, h->who, source, ms);
	if (partial[0])
		reply_fail(rep, -EXDEV, ERR_PARTIAL, partial);
	else {
		reply_init(rep, 0, NULL);
		rep->error = r < 0 ? ERR_NOTE_HISTORY : ERR_NONE;
	}
	str_copy(rep->id, sizeof(rep->id), id);
	str_copy(rep->id2, sizeof(rep->id2), cur);
	rep->arg[1] = visible_ns;
	rep->arg[2] = durable_ns;
	rep->arg[3] = h->fpm_entered;
	return 0;
}

int op_switch(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	int r;

	/* This run staged a release: the switch must name it. */
	if (h->id[0] && strcmp(req->id, h->id) != 0)
		return -EPROTO;
	r = do_switch(h, h->verb_name, req->id, req->text, req->arg[0], NULL, rep);
	if (r < 0 || rep->status < 0)
		h->failed = true;
	return r;
}

int op_rollback(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1], prev[RELEASE_ID_MAX + 1];
	const char *auto_reason = NULL;
	int r;

	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0 || !cur[0]) {
		reply_fail(rep, r < 0 ? r : -ENOENT, ERR_NO_CURRENT, NULL);
		return 0;
	}
	/* A run that published a release (a deploy) may only roll back
	 * that release, to the one it replaced (ROLLBACK is once-only). */
	if (h->published[0] && (req->id[0] || strcmp(cur, h->published) != 0))
		return -EPROTO;
	/* An automatic rollback marks what this run published as unhealthy:
	 * the helper cannot see the health check, so the front end's word is
	 * taken, for its own release only (docs/SECURITY.md). */
	if (req->arg[1] > 1 || (req->arg[1] == 1 && !h->own_published[0]))
		return -EPROTO;
	if (req->arg[1] == 1) {
		h->failed = true;
		auto_reason = req->text[0] ? req->text : "health check failed";
		r = release_set_unhealthy(h, h->own_published, auto_reason);
		if (r < 0)
			return r;
	}
	if (req->id[0])
		return do_switch(h, "rollback", req->id, "rollback", 0, NULL, rep);
	r = rollback_target(&h->l, cur, prev, sizeof(prev));
	if (r < 0)
		return r;
	if (!prev[0]) {
		reply_fail(rep, -ENOENT, ERR_NO_PREVIOUS, NULL);
		str_copy(rep->id, sizeof(rep->id), cur);
		return 0;
	}
	return do_switch(h, "rollback", prev, "rollback", 0, auto_reason, rep);
}

/* migrate: a staged release becomes the run's, as switch would check it;
 * its migrations run in it (helpers/steps.c), nothing is published. */
int op_select(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1] = "";
	struct release_info ri;
	int r;

	if (!release_id_valid(req->id))
		return -EPROTO;
	r = release_check_frozen(h, req->id, &ri, rep);
	if (r != 0)
		return r < 0 ? r : 0;
	str_copy(h->id, sizeof(h->id), req->id);
	h->info = ri;
	h->reused = true;
	h->phase = PH_FROZEN;
	(void)current_read(&h->l, cur, sizeof(cur));
	reply_init(rep, 0, NULL);
	str_copy(rep->id, sizeof(rep->id), h->id);
	rep->arg[0] = ri.bytes;
	rep->arg[1] = ri.files;
	rep->arg[3] = strcmp(cur, h->id) == 0;
	return 0;
}

/* mode = bind: is release id mounted in some process's mount table? */
static bool mounted_somewhere(char (*mounted)[RELEASE_ID_MAX + 1], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mounted[i], id) == 0)
			return true;
	return false;
}

/* Removes one release and tells the front end. 1 when removed; 0 with
 * the failure in rep; < 0 when the front end is gone. */
static int prune_one(struct helper *h, const struct release_info *ri, struct proto_msg *rep)
{
	struct proto_msg e;
	int r = release_remove(&h->l, ri->id);

	if (r < 0) {
		reply_fail(rep, r, ERR_REMOVE, NULL);
		str_copy(rep->id, sizeof(rep->id), ri->id);
		return 0;
	}
	proto_init(&e, OP_ENTRY);
	str_copy(e.id, sizeof(e.id), ri->id);
	e.arg[0] = ri->bytes;
	e.arg[3] = ri->state;
	return helper_send(h, &e, -1) < 0 ? -EPIPE : 1;
}

int op_prune(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ char (*mounted)[RELEASE_ID_MAX + 1] = NULL;
	size_t n_mounted = 0;
	_cleanup_free_ struct release_info *v = NULL;
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "", back[RELEASE_ID_MAX + 1] = "";
	unsigned long long keep, freed = 0, removed = 0, frozen_seen = 0, failed_seen = 0;
	uint64_t gc_objects = 0, gc_bytes = 0;
	size_t n = 0;
	int r;

	/* A deploy prunes as [publish] keep says, whether or not it published:
	 * only the prune verb (which the caller must be allowed) chooses. */
	if (h->verb != PV_PRUNE) {
		keep = h->cfg.keep;
	} else {
		keep = req->arg[0];
		if (keep < 1 || keep > 1000) {
			reply_fail(rep, -EINVAL, ERR_KEEP_RANGE, NULL);
			return 0;
		}
	}
	r = release_recover(&h->l, "");
	if (r < 0)
		return r;
	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0) {
		reply_fail(rep, r, ERR_PRUNE_CURRENT, NULL);
		return 0;
	}
	r = previous_of(&h->l, cur, prev, sizeof(prev));
	if (r == 0)
		r = rollback_target(&h->l, cur, back, sizeof(back));
	if (r < 0)
		return r;
	r = release_list(&h->l, &v, &n);
	if (r < 0)
		return r;
	/* A release some namespace still has mounted (php-fpm's, before it
	 * caught up; a process that entered one) is in use: kept. */
	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_mounted_releases(&h->l, &mounted, &n_mounted);
		if (r < 0) {
			reply_fail(rep, r, ERR_MOUNTED, NULL);
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].state == RELEASE_FROZEN && ++frozen_seen <= keep)
			continue;
		/* A failed build's record (state and log, no tree) is small:
		 * the newest are kept for `cutover log`; kept trees go. */
		if (v[i].state == RELEASE_FAILED && ++failed_seen <= RELEASE_FAILED_KEEP &&
		    faccessat(h->l.failed_fd, v[i].id, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (strcmp(v[i].id, cur) == 0 || strcmp(v[i].id, prev) == 0 || strcmp(v[i].id, back) == 0 ||
		    strcmp(v[i].id, h->id) == 0 || mounted_somewhere(mounted, n_mounted, v[i].id))
			continue;
		r = prune_one(h, &v[i], rep);
		if (r != 1)
			return r;
		freed += v[i].bytes;
		removed++;
	}
	/* Objects only the store links now: no release (none is being built:
	 * we hold the lock) refers to them any more. */
	if (h->l.objects_fd >= 0) {
		r = store_gc(h->l.objects_fd, &gc_objects, &gc_bytes);
		if (r < 0) {
			reply_fail(rep, r, ERR_REMOVE, NULL);
			str_copy(rep->id, sizeof(rep->id), "objects");
			return 0;
		}
	}
	reply_init(rep, 0, NULL);
	rep->arg[0] = freed;
	rep->arg[1] = removed;
	rep->arg[2] = gc_objects;
	rep->arg[3] = gc_bytes;
	return 0;
}

/* ---- read-only ----------------------------------------------------- */

/* A frozen release's own bytes and shared bytes, as "OWN SHARED". */
static void list_usage(struct helper *h, const struct release_info *ri, struct proto_msg *e)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t own = 0, shared = 0;

	if (ri->state != RELEASE_FROZEN)
		return;
	fd = fs_open_beneath(h->l.releases_fd, ri->id, O_RDONLY | O_DIRECTORY, 0);
	if (fd >= 0 && verify_usage(fd, &own, &shared) == 0)
		snprintf(e->text, sizeof(e->text), "%llu %llu", (unsigned long long)own,
			 (unsigned long long)shared);
}

/* "\tREASON" after the usage, for a failed or unhealthy release. */
static void list_reason(const struct release_info *ri, struct proto_msg *e)
{
	size_t len = strlen(e->text);

	if (ri->reason[0] && (ri->state == RELEASE_FAILED || ri->unhealthy))
		snprintf(e->text + len, sizeof(e->text) - len, "\t%s", ri->reason);
}

int op_list(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ struct release_info *v = NULL;
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "";
	size_t n = 0;
	int r;

	if (h->absent) {
		proto_init(rep, OP_END);
		return 0;
	}
	(void)current_read(&h->l, cur, sizeof(cur));
	(void)rollback_target(&h->l, cur, prev, sizeof(prev));
	r = release_list(&h->l, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct proto_msg e;

		proto_init(&e, OP_ENTRY);
		str_copy(e.id, sizeof(e.id), v[i].id);
		e.arg[0] = v[i].created_ns;
		e.arg[1] = v[i].bytes;
		e.arg[2] = v[i].files;
		e.arg[3] = v[i].state |
			   (strcmp(v[i].id, cur) == 0 ? RELEASE_FLAG_CURRENT : 0) |
			   (strcmp(v[i].id, prev) == 0 ? RELEASE_FLAG_PREVIOUS : 0) |
			   (v[i].unhealthy ? RELEASE_FLAG_UNHEALTHY : 0);
		/* Only list shows the usage; switch and rollback list to
		 * resolve a prefix and need no walk of every release. */
		if (h->verb == PV_LIST)
			list_usage(h, &v[i], &e);
		list_reason(&v[i], &e);
		if (helper_send(h, &e, -1) < 0)
			return -EPIPE;
	}
	proto_init(rep, OP_END);
	return 0;
}

int op_status(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "";
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (h->absent) {
		reply_init(rep, 0, NULL);
		rep->arg[0] = h->cfg.mode;
		rep->arg[1] = 1;   /* not set up yet */
		return 0;
	}
	if (h->cfg.mode == PUBLISH_BIND) {
		struct live_stack s;
		struct proto_msg e;

		proto_init(&e, OP_ENTRY);
		if (bind_stack_read(&h->l, &h->cfg, 0, &s) == 0) {
			const struct live_mount *top = s.n ? &s.m[s.n - 1] : NULL;

			e.arg[0] = s.n;
			e.arg[1] = s.root_shared;
			if (top) {
				str_copy(e.id, sizeof(e.id), top->release);
				snprintf(e.text, sizeof(e.text), "%s\t%s", top->options, top->root);
			}
		}
		if (helper_send(h, &e, -1) < 0)
			return -EPIPE;
	}
	r = current_read(&h->l, cur, sizeof(cur));
	reply_init(rep, 0, NULL);
	if (r == -EUCLEAN)
		rep->status = -EUCLEAN;
	(void)rollback_target(&h->l, cur, prev, sizeof(prev));
	str_copy(rep->id, sizeof(rep->id), cur);
	str_copy(rep->id2, sizeof(rep->id2), prev);
	rep->arg[0] = h->cfg.mode;
	fd = openat(h->l.meta_fd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		struct flock fl = whole_file(F_WRLCK);

		if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			lock_holder(h, fd, rep->text, sizeof(rep->text));
	}
	/* Totals only: a store that cannot be read is verify's to report. */
	if (h->l.objects_fd >= 0) {
		struct store_usage u;

		if (store_usage(h->l.objects_fd, &u) == 0) {
			rep->arg[2] = u.objects;
			rep->arg[3] = u.bytes;
		}
	}
	return 0;
}

int op_history(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_close_ int fd = -EBADF;

	if (!h->absent)
		fd = openat(h->l.meta_fd, "history.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	reply_init(rep, 0, NULL);
	return helper_send(h, rep, fd) < 0 ? -EPIPE : HANDLER_SENT;
}

/* What the front end saw go wrong, where the helper could not: bounded per
 * run, the words escaped by the writer and marked as reported. The worst a
 * hostile front end can do with it is add such lines and mark the release
 * its own run published as unhealthy. */
int op_report(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	static const char *const events[] = {
		[REPORT_FAILED] = "failed", [REPORT_REFUSED] = "refused", [REPORT_UNHEALTHY] = "unhealthy",
	};
	const char *release = h->published[0] ? h->published : h->id;
	int r;

	if (req->arg[0] < REPORT_FAILED || req->arg[0] >= REPORT_MAX || ++h->reports > HISTORY_REPORTS_MAX)
		return -EPROTO;
	h->failed = true;
	if (req->arg[0] == REPORT_UNHEALTHY) {
		if (!h->own_published[0])
			return -EPROTO;
		r = release_set_unhealthy(h, h->own_published, req->text[0] ? req->text : "health check failed");
		if (r < 0)
			return r;
	}
	if (h->absent) {
		reply_init(rep, -ENOENT, NULL);
		return 0;
	}
	r = history_event(h, events[req->arg[0]], release, req->text, true, req->arg[1]);
	reply_init(rep, r < 0 ? r : 0, NULL);
	return 0;
}

/* A release's build log, read-only: logs/ID.log of a validated id. */
int op_log_read(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char name[PROTO_ID_SIZE + 8];
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (!release_id_valid(req->id))
		return -EPROTO;
	snprintf(name, sizeof(name), "%s.log", req->id);
	if (!h->absent)
		fd = openat(h->l.logs_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reply_init(rep, -ENOENT, NULL);
		str_copy(rep->id, sizeof(rep->id), req->id);
		return 0;
	}
	reply_init(rep, 0, NULL);
	rep->arg[0] = (uint64_t)st.st_size;
	str_copy(rep->id, sizeof(rep->id), req->id);
	return helper_send(h, rep, fd) < 0 ? -EPIPE : HANDLER_SENT;
}

/* One problem of check: an ENTRY with its code and subject. */
static int check_send(struct helper *h, enum proto_error code, const char *id, const char *subject)
{
	struct proto_msg e;

	proto_init(&e, OP_ENTRY);
	e.error = code;
	if (id)
		str_copy(e.id, sizeof(e.id), id);
	if (subject)
		str_copy(e.text, sizeof(e.text), subject);
	return helper_send(h, &e, -1) < 0 ? -EPIPE : 1;
}

/* mode = bind: whether live can be used and serves cur. 1 (a problem
 * sent), 0, or -EPIPE. */
static int check_bind(struct helper *h, const char *cur)
{
	struct live_stack s;
	char why[300];

	if (bind_probe(&h->l, &h->cfg, why, sizeof(why)) < 0)
		return check_send(h, ERR_CHECK_BIND, NULL, why);
	if (bind_stack_read(&h->l, &h->cfg, 0, &s) < 0)
		return check_send(h, ERR_CHECK_MOUNT_TABLE, NULL, NULL);
	if (bind_stack_check(&s, cur, why, sizeof(why)) < 0)
		return check_send(h, ERR_CHECK_LIVE_STALE, cur, why);
	if (!s.root_shared)
		return check_send(h, ERR_CHECK_ROOT_NOT_SHARED, NULL, NULL);
	return 0;
}

int op_check(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1];
	int r, problems = 0;

	r = h->absent ? 0 : current_read(&h->l, cur, sizeof(cur));
	if (r < 0) {
		if (check_send(h, ERR_CHECK_CURRENT_BAD, NULL, NULL) < 0)
			return -EPIPE;
		problems++;
	}
	if (h->cfg.mode == PUBLISH_BIND && !h->absent && r == 0 && cur[0]) {
		r = check_bind(h, cur);
		if (r < 0)
			return r;
		problems += r;
	}
	if (access("/bin/sh", X_OK) < 0) {
		if (check_send(h, ERR_CHECK_NO_SHELL, NULL, NULL) < 0)
			return -EPIPE;
		problems++;
	}
	reply_init(rep, problems ? -EINVAL : 0, NULL);
	return 0;
}
