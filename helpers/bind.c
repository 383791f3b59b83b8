/* SPDX-License-Identifier: MIT */
#include "bind.h"

#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fsops.h"
#include "caps.h"
#include "privs.h"
#include "util.h"

#define UMOUNT_FLAGS (MNT_DETACH | UMOUNT_NOFOLLOW)
#define TABLE_MAX 4096          /* mounts at ROOT, at or below live, that we look at */

static inline void unref_tablep(struct libmnt_table **t) { mnt_unref_table(*t); }
static inline void free_iterp(struct libmnt_iter **i) { mnt_free_iter(*i); }
#define _cleanup_table_ _cleanup_(unref_tablep)
#define _cleanup_iter_ _cleanup_(free_iterp)

int bind_setattr(int dfd, const char *path, unsigned flags, uint64_t set, uint64_t clr,
		 uint64_t propagation)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = propagation };

	return mount_setattr(dfd, path, flags, &a, sizeof(a)) < 0 ? -errno : 0;
}

/* The mount fd itself (AT_EMPTY_PATH). */
static int setattr_fd(int fd, unsigned flags, uint64_t set, uint64_t clr, uint64_t propagation)
{
	return bind_setattr(fd, "", AT_EMPTY_PATH | flags, set, clr, propagation);
}

/* Writes a one-line reason into err and returns r (a -errno). */
static int failf(int r, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int failf(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* The mount id of path (in the namespace whose root prefix leads to). */
static int mount_id(const char *prefix, const char *path, int *ret)
{
	char buf[PATH_MAX];
	struct statx sx;
	int r;

	r = str_printf(buf, sizeof(buf), "%s%s", prefix, path);
	if (r < 0)
		return r;
	if (statx(AT_FDCWD, buf, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret = (int)sx.stx_mnt_id;
	return 0;
}

/* ---- the root --------------------------------------------------------- */

int bind_root_prepare(struct layout *l, const struct config *cfg, char *err, size_t errlen)
{
	struct statx sx;
	struct stat st;
	int r;

	/* An empty, root-owned mount point. Never fs_ensure_dir: with a
	 * release mounted there it would chown and chmod the release. */
	if (mkdirat(l->root_fd, config_live_name(cfg), 0755) < 0 && errno != EEXIST)
		return failf(-errno, err, errlen, "cannot create %s: %s", cfg->live, strerror(errno));
	if (fstatat(l->root_fd, config_live_name(cfg), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a directory; move it away (mode = bind mounts the release there)",
			 cfg->live);
		return -ENOTDIR;
	}
	if (statx(l->root_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP;
	if (!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		_cleanup_close_ int clone = -EBADF;

		/* A private copy first: a clone of a shared mount would join
		 * its peer group, and ROOT is to have one of its own. */
		clone = open_tree(l->root_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		if (clone < 0 || setattr_fd(clone, AT_RECURSIVE, 0, 0, MS_PRIVATE) < 0 ||
		    move_mount(clone, "", l->root_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot make %s a mount point (a bind of itself): %s", cfg->root, strerror(-r));
			return r;
		}
	}
	/* Our fds must be on the mount now at ROOT, or lookups of live from
	 * them would miss what is mounted there. */
	layout_close(l);
	r = layout_open(l, cfg, true, err, errlen);
	if (r < 0)
		return r;
	r = setattr_fd(l->root_fd, 0, 0, 0, MS_SHARED);
	if (r < 0)
		snprintf(err, errlen, "cannot make %s a shared mount: %s", cfg->root, strerror(-r));
	return r;
}

/* ---- reading mount tables --------------------------------------------- */

/* A mount at ROOT, at live or below. Paths too long for these cannot be
 * ours (live and a shared entry are below 256 bytes each); such entries
 * are skipped, never truncated into a false match. */
struct entry {
	int id, parent;
	dev_t dev;
	char target[600];
	char root[1024];
	char options[256];
	bool shared;
};

static bool has_option(const char *optstr, const char *name)
{
	return mnt_optstr_get_option(optstr, name, NULL, NULL) == 0;
}

/* ".../releases/ID" of this app's filesystem -> ID; "" otherwise. */
static void release_of_root(const char *root, dev_t dev, dev_t want_dev, char *ret, size_t n)
{
	const char *p = NULL;

	ret[0] = '\0';
	if (dev != want_dev)
		return;
	for (const char *q = strstr(root, "/releases/"); q; q = strstr(q + 1, "/releases/"))
		p = q;
	if (p && release_id_valid(p + 10))
		str_copy(ret, n, p + 10);
}

/* Does root name the shared entry rel: ".../shared/REL"? */
static bool root_is_shared(const char *root, const char *rel)
{
	size_t rl = strlen(root), n = strlen(rel);

	return rl > n + 8 && strcmp(root + rl - n, rel) == 0 && strncmp(root + rl - n - 8, "/shared/", 8) == 0;
}

/* Reads the entries of a mount table at ROOT, at live and below live into
 * *ret (malloc'd). */
static int table_read(const char *file, const char *root_path, const char *live, struct entry **ret,
		      size_t *ret_n)
{
	_cleanup_table_ struct libmnt_table *tb = NULL;
	_cleanup_iter_ struct libmnt_iter *it = NULL;
	_cleanup_free_ struct entry *v = NULL;
	struct libmnt_fs *fs;
	size_t n = 0, cap = 0, ll = strlen(live);
	int r;

	tb = mnt_new_table();
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!tb || !it)
		return -ENOMEM;
	r = mnt_table_parse_file(tb, file);
	if (r < 0)
		return r == -ENOMEM ? r : -EIO;
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *t = mnt_fs_get_target(fs), *root = mnt_fs_get_root(fs);
		const char *opts = mnt_fs_get_vfs_options(fs), *opt_fields = mnt_fs_get_optional_fields(fs);

		if (!t || !root || (strcmp(t, root_path) != 0 &&
				    (strncmp(t, live, ll) != 0 || (t[ll] != '\0' && t[ll] != '/'))))
			continue;
		if (n == cap) {
			struct entry *nv;

			if (cap == TABLE_MAX)
				return -E2BIG;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				return -ENOMEM;
			v = nv;
		}
		v[n] = (struct entry){
			.id = mnt_fs_get_id(fs), .parent = mnt_fs_get_parent_id(fs), .dev = mnt_fs_get_devno(fs),
			.shared = opt_fields && strstr(opt_fields, "shared:"),
		};
		if (str_copy(v[n].target, sizeof(v[n].target), t) < 0 ||
		    str_copy(v[n].root, sizeof(v[n].root), root) < 0)
			continue;
		(void)str_copy(v[n].options, sizeof(v[n].options), opts ? opts : "");
		n++;
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* Is the mount the publish left there: its own attributes, and the shared
 * entries mounted on it as bind_tree_make mounts them? */
static void mount_problem(const struct config *cfg, const struct entry *v, size_t n, const struct entry *m,
			  char *buf, size_t len)
{
	buf[0] = '\0';
	if (!has_option(m->options, "ro") || !has_option(m->options, "nosuid") || !has_option(m->options, "nodev")) {
		snprintf(buf, len, "it is mounted %.80s, not read-only, nosuid, nodev", m->options);
		return;
	}
	for (size_t k = 0; k < cfg->n_shared_dirs + cfg->n_shared_files; k++) {
		bool is_dir = k < cfg->n_shared_dirs;
		const char *rel = is_dir ? cfg->shared_dirs[k] : cfg->shared_files[k - cfg->n_shared_dirs];
		const struct entry *c = NULL;
		size_t ll = strlen(cfg->live);

		for (size_t i = 0; i < n; i++)
			if (v[i].parent == m->id && v[i].target[ll] == '/' && strcmp(v[i].target + ll + 1, rel) == 0)
				c = &v[i];
		if (!c || !root_is_shared(c->root, rel)) {
			snprintf(buf, len, "shared/%.100s is not mounted on it", rel);
			return;
		}
		if (!has_option(c->options, "nosuid") || !has_option(c->options, "nodev") ||
		    !has_option(c->options, "noexec") || has_option(c->options, "ro") == is_dir) {
			snprintf(buf, len, "shared/%.60s is mounted %.60s, not %s, nosuid, nodev, noexec", rel, c->options,
				 is_dir ? "writable" : "read-only");
			return;
		}
	}
}

int bind_stack_read(const struct layout *l, const struct config *cfg, pid_t pid, struct live_stack *ret)
{
	_cleanup_free_ struct entry *v = NULL;
	char file[64], prefix[64] = "";
	struct live_stack s = { .visible_id = -1 };
	struct stat rst;
	size_t n = 0;
	int root_id = -1, r;

	if (fstat(l->releases_fd, &rst) < 0)
		return -errno;
	if (pid > 0) {
		snprintf(file, sizeof(file), "/proc/%d/mountinfo", (int)pid);
		snprintf(prefix, sizeof(prefix), "/proc/%d/root", (int)pid);
	} else
		snprintf(file, sizeof(file), "/proc/self/mountinfo");
	r = table_read(file, cfg->root, cfg->live, &v, &n);
	if (r < 0)
		return r;
	/* Another process's paths are reached through /proc/PID/root, which
	 * the kernel guards with a ptrace-access check (php-fpm's master
	 * holds capabilities we dropped). */
	if (pid > 0)
		(void)caps_raise(CAP_SYS_PTRACE);
	r = mount_id(prefix, cfg->root, &root_id);
	if (r == 0 && mount_id(prefix, cfg->live, &s.visible_id) < 0)
		s.visible_id = -1;
	if (pid > 0)
		(void)caps_lower(CAP_SYS_PTRACE);
	if (r < 0)
		return r;
	/* The stack: the mount at live whose parent is the mount at ROOT,
	 * then each one mounted on the previous. Mounts at live hidden under
	 * another mount of ROOT are not in it. */
	for (int parent = root_id; s.n < BIND_STACK_MAX; ) {
		const struct entry *e = NULL;

		for (size_t i = 0; i < n && !e; i++)
			if (v[i].parent == parent && strcmp(v[i].target, cfg->live) == 0)
				e = &v[i];
		if (!e)
			break;
		s.m[s.n] = (struct live_mount){ .id = e->id };
		release_of_root(e->root, e->dev, rst.st_dev, s.m[s.n].release, sizeof(s.m[s.n].release));
		str_escape(s.m[s.n].root, sizeof(s.m[s.n].root), e->root, strlen(e->root));
		str_copy(s.m[s.n].options, sizeof(s.m[s.n].options), e->options);
		mount_problem(cfg, v, n, e, s.m[s.n].problem, sizeof(s.m[s.n].problem));
		parent = e->id;
		s.n++;
	}
	/* Whether ROOT is a mount of its own, shared: the entry of root_id. */
	for (size_t i = 0; i < n; i++)
		if (v[i].id == root_id && strcmp(v[i].target, cfg->root) == 0)
			s.root_shared = v[i].shared;
	*ret = s;
	return 0;
}

int bind_stack_check(const struct live_stack *s, const char *id, char *err, size_t errlen)
{
	const struct live_mount *top = s->n ? &s->m[s->n - 1] : NULL;

	if (!top)
		snprintf(err, errlen, "nothing is mounted there");
	else if (s->n > 1)
		snprintf(err, errlen, "%zu mounts are stacked there (%s on top)", s->n,
			 top->release[0] ? top->release : top->root);
	else if (top->id != s->visible_id)
		snprintf(err, errlen, "its mount %d is not what a lookup of it reaches (%d)", top->id, s->visible_id);
	else if (strcmp(top->release, id) != 0)
		snprintf(err, errlen, "it shows %s, not release %s", top->release[0] ? top->release : top->root, id);
	else if (top->problem[0])
		snprintf(err, errlen, "%s", top->problem);
	else
		return 0;
	return -EUCLEAN;
}

/* ---- making and attaching trees --------------------------------------- */

int bind_attach_clone(int clone, int dir, const char *rel, bool is_dir, uint64_t set, uint64_t clr)
{
	_cleanup_close_ int mp = -EBADF;
	struct stat st;
	int r;

	/* Private before anything: a clone of a shared mount is a peer of
	 * it, and a mount made on it would propagate back to the source. */
	r = setattr_fd(clone, 0, set, clr, MS_PRIVATE);
	if (r < 0)
		return r;
	mp = fs_open_beneath(dir, rel, O_PATH | (is_dir ? O_DIRECTORY : 0), 0);
	if (mp < 0)
		return mp;
	if (fstat(mp, &st) < 0)
		return -errno;
	if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return -EUCLEAN;
	if (move_mount(clone, "", mp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/* Clones ROOT/shared/REL (the entry itself, never through a symlink). */
static int clone_shared(int shared_fd, const char *rel, bool is_dir)
{
	_cleanup_close_ int src = -EBADF;
	struct stat st;
	int fd;

	src = fs_open_beneath(shared_fd, rel, O_PATH | (is_dir ? O_DIRECTORY : 0), 0);
	if (src < 0)
		return src;
	if (fstat(src, &st) < 0)
		return -errno;
	if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return -EUCLEAN;
	fd = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	return fd < 0 ? -errno : fd;
}

int bind_tree_make(const struct layout *l, const struct config *cfg, const char *id, char *err, size_t errlen)
{
	_cleanup_close_ int rel = -EBADF, tree = -EBADF;
	int r;

	rel = fs_open_beneath(l->releases_fd, id, O_PATH | O_DIRECTORY, 0);
	if (rel < 0)
		return failf(rel, err, errlen, "cannot open releases/%s: %s", id, strerror(-rel));
	tree = open_tree(rel, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return failf(-errno, err, errlen, "cannot clone releases/%s: %s", id, strerror(errno));
	/* Read-only before it is attached anywhere: never visible writable. */
	r = setattr_fd(tree, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, MS_PRIVATE);
	if (r < 0)
		return failf(r, err, errlen, "cannot make the clone of releases/%s read-only: %s", id, strerror(-r));
	for (size_t k = 0; k < cfg->n_shared_dirs + cfg->n_shared_files; k++) {
		bool is_dir = k < cfg->n_shared_dirs;
		const char *what = is_dir ? cfg->shared_dirs[k] : cfg->shared_files[k - cfg->n_shared_dirs];
		_cleanup_close_ int clone = clone_shared(l->shared_fd, what, is_dir);

		r = clone;
		if (r >= 0)
			r = bind_attach_clone(clone, tree, what, is_dir,
					      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
					      (is_dir ? 0 : MOUNT_ATTR_RDONLY), is_dir ? MOUNT_ATTR_RDONLY : 0);
		if (r < 0) {
			snprintf(err, errlen, "cannot mount shared/%s on releases/%s/%s: %s%s", what, id, what, strerror(-r),
				 r == -EUCLEAN ? " (a shared entry and its mount point must both be a directory, or both a file)" : "");
			return r;
		}
	}
	return TAKE_FD(tree);
}

/*
 * The converge of bind_converge, in whatever namespace we are in; root is
 * our fd of ROOT in it, live its path there.
 */
static int converge_here(int root, const char *live, const char *name, const struct live_stack *s,
			 const char *id, int tree, struct bind_actions *ret, char *err, size_t errlen)
{
	_cleanup_close_ int target = -EBADF;
	size_t n = s->n;
	uint64_t t0;
	int now;

	/* Unstack from the top, always leaving one: what was beneath shows
	 * for a moment, never nothing. */
	while (n > 1) {
		if (mount_id("", live, &now) < 0 || now != s->m[n - 1].id)
			return failf(-ESTALE, err, errlen, "the mounts at %s changed while being repaired", live);
		if (umount2(live, UMOUNT_FLAGS) < 0)
			return failf(-errno, err, errlen, "cannot unmount the top of %zu mounts at %s: %s", n, live,
					strerror(errno));
		n--;
		ret->unstacked++;
	}
	if (n == 1 && strcmp(s->m[0].release, id) == 0 && !s->m[0].problem[0])
		return 0;
	if (tree < 0)
		return -EINVAL;
	/* The top of whatever is mounted at live, or live itself. */
	target = openat(root, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return failf(-errno, err, errlen, "cannot open %s: %s", live, strerror(errno));
	t0 = now_ns();
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH |
		       (n > 0 ? MOVE_MOUNT_BENEATH : 0)) < 0)
		return failf(-errno, err, errlen, "cannot mount release %s %s %s: %s", id, n ? "beneath the mount at" : "at",
				live, strerror(errno));
	ret->attached = true;
	if (n == 0) {
		ret->visible_ns = now_ns() - t0;
		return 0;
	}
	/* The new tree is beneath the old top; unmounting the top uncovers
	 * it. Lazily: requests in the old tree finish there. */
	if (mount_id("", live, &now) < 0 || now != s->m[0].id)
		return failf(-ESTALE, err, errlen, "the mount on top of %s changed under us", live);
	if (umount2(live, UMOUNT_FLAGS) < 0)
		return failf(-errno, err, errlen, "release %s is mounted beneath the old one at %s, but unmounting the old one failed: %s",
				id, live, strerror(errno));
	ret->visible_ns = now_ns() - t0;
	return 0;
}

int bind_converge(const struct layout *l, const struct config *cfg, const struct live_stack *s,
		  const char *id, int tree, struct bind_actions *ret, char *err, size_t errlen)
{
	return converge_here(l->root_fd, cfg->live, config_live_name(cfg), s, id, tree, ret, err, errlen);
}

/* ---- PHP-FPM's namespace ---------------------------------------------- */

/* In a child: enters the master's mount namespace and converges there.
 * Reports a failure as text on fd. */
static _Noreturn void fpm_child(const struct layout *l, const struct config *cfg, const struct fpm_master *m,
				const struct live_stack *s, const char *id, int tree, int fd)
{
	struct bind_actions a = { 0 };
	_cleanup_close_ int root = -EBADF;
	struct stat want, got;
	char err[512] = "";
	int r;

	if (fstat(l->root_fd, &want) < 0)
		_exit(1);
	/* setns checks ptrace access to the master and needs CAP_SYS_CHROOT
	 * (it changes our root); both are raised only in this child. */
	(void)caps_raise(CAP_SYS_PTRACE);
	(void)caps_raise(CAP_SYS_CHROOT);
	r = setns(m->pidfd, CLONE_NEWNS) < 0 ? -errno : 0;
	(void)caps_lower(CAP_SYS_CHROOT);
	(void)caps_lower(CAP_SYS_PTRACE);
	if (r < 0) {
		snprintf(err, sizeof(err), "cannot enter its mount namespace: %s", strerror(-r));
		goto out;
	}
	/* Our fds are mounts of the other namespace: look ROOT up again, with
	 * the same trust check, and make sure it is the same directory. */
	root = path_open_trusted(cfg->root, true, err, sizeof(err));
	if (root < 0) {
		r = root;
		goto out;
	}
	if (fstat(root, &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
		snprintf(err, sizeof(err), "%s is another directory in its mount namespace", cfg->root);
		r = -ESTALE;
		goto out;
	}
	r = converge_here(root, cfg->live, config_live_name(cfg), s, id, tree, &a, err, sizeof(err));
out:
	if (r < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-r));
		(void)write_all(fd, err, strlen(err));
		_exit(1);
	}
	_exit(0);
}

int bind_fpm_sync(const struct layout *l, const struct config *cfg, const struct fpm_master *m,
		  const char *id, struct bind_actions *ret, char *err, size_t errlen)
{
	_cleanup_close_ int tree = -EBADF, rd = -EBADF, wr = -EBADF;
	struct live_stack s;
	char why[300], child_err[512];
	int pipefd[2], status, r;
	ssize_t got;
	pid_t pid;

	r = bind_stack_read(l, cfg, m->pid, &s);
	if (r < 0)
		return failf(r, err, errlen, "cannot read the mount table of php-fpm (pid %d): %s", (int)m->pid,
				strerror(-r));
	if (syscall(SYS_pidfd_send_signal, m->pidfd, 0, NULL, 0) < 0)
		return failf(-ESRCH, err, errlen, "the php-fpm master %d exited", (int)m->pid);
	if (bind_stack_check(&s, id, why, sizeof(why)) == 0)
		return 0;
	/* The tree is made here: a detached mount of our namespace can be
	 * attached in another one, but nothing of ours can be cloned there. */
	tree = bind_tree_make(l, cfg, id, err, errlen);
	if (tree < 0)
		return tree;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	rd = pipefd[0];
	wr = pipefd[1];
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		closep(&rd);
		fpm_child(l, cfg, m, &s, id, tree, wr);   /* does not return */
	}
	/* Our write end closed: the read below ends when the child's does. */
	closep(&wr);
	wr = -EBADF;
	got = read(rd, child_err, sizeof(child_err) - 1);
	child_err[got > 0 ? got : 0] = '\0';
	status = W_EXITCODE(1, 0);   /* a failed wait is a failure */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return failf(-EIO, err, errlen, "php-fpm (pid %d) runs in another mount namespace, where %s: %s", (int)m->pid,
				why, child_err[0] ? child_err : "the helper's child failed");
	ret->entered = true;
	r = bind_stack_read(l, cfg, m->pid, &s);
	if (r == 0)
		r = bind_stack_check(&s, id, why, sizeof(why));
	if (r < 0)
		return failf(r, err, errlen, "php-fpm (pid %d) runs in another mount namespace, where %s after the swap",
				(int)m->pid, why);
	return 0;
}

/* ---- mounted anywhere ------------------------------------------------- */

static int ids_add(char (**v)[RELEASE_ID_MAX + 1], size_t *n, const char *id)
{
	char (*nv)[RELEASE_ID_MAX + 1];

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], id) == 0)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	str_copy((*v)[(*n)++], RELEASE_ID_MAX + 1, id);
	return 0;
}

int bind_mounted_releases(const struct layout *l, char (**ret)[RELEASE_ID_MAX + 1], size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	_cleanup_free_ char (*v)[RELEASE_ID_MAX + 1] = NULL;
	struct dirent *de;
	struct stat rst;
	size_t n = 0;
	int r = 0;

	if (!d)
		return -errno;
	if (fstat(l->releases_fd, &rst) < 0)
		return -errno;
	/* Every process: mount namespaces have no list of their own, and a
	 * process of any of them may hold one. */
	while (r == 0 && (de = readdir(d))) {
		_cleanup_table_ struct libmnt_table *tb = NULL;
		_cleanup_iter_ struct libmnt_iter *it = NULL;
		struct libmnt_fs *fs;
		char file[300];

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(file, sizeof(file), "/proc/%.20s/mountinfo", de->d_name);
		tb = mnt_new_table();
		it = mnt_new_iter(MNT_ITER_FORWARD);
		if (!tb || !it) {
			r = -ENOMEM;
			break;
		}
		if (mnt_table_parse_file(tb, file) < 0)
			continue;   /* it exited */
		while (r == 0 && mnt_table_next_fs(tb, it, &fs) == 0) {
			const char *root = mnt_fs_get_root(fs), *p;
			char id[RELEASE_ID_MAX + 1], buf[PATH_MAX];

			if (!root || mnt_fs_get_devno(fs) != rst.st_dev || !(p = strstr(root, "/releases/")))
				continue;
			/* releases/ID itself, or anything below it */
			for (const char *q = p; q; q = strstr(q + 1, "/releases/"))
				if (str_copy(buf, sizeof(buf), q + 10) == 0) {
					buf[strcspn(buf, "/")] = '\0';
					if (release_id_valid(buf) && str_copy(id, sizeof(id), buf) == 0)
						r = ids_add(&v, &n, id);
				}
		}
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int bind_probe(const struct layout *l, const struct config *cfg, char *err, size_t errlen)
{
	_cleanup_close_ int tree = -EBADF, sub = -EBADF;
	int r;

	if (cfg->n_shared_dirs + cfg->n_shared_files == 0)
		return 0;
	/* Both clones are detached and go with their fds: nothing changes. */
	tree = open_tree(l->root_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return failf(-errno, err, errlen, "cannot clone %s: %s", cfg->root, strerror(errno));
	r = setattr_fd(tree, 0, 0, 0, MS_PRIVATE);
	if (r < 0)
		return failf(r, err, errlen, "cannot make a clone of %s private: %s", cfg->root, strerror(-r));
	sub = open_tree(l->shared_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (sub < 0)
		return failf(-errno, err, errlen, "cannot clone %s/shared: %s", cfg->root, strerror(errno));
	r = bind_attach_clone(sub, tree, "shared", true, 0, 0);
	if (r == -EINVAL)
		return failf(-EOPNOTSUPP, err, errlen, "this kernel cannot mount onto a detached mount tree, which mode = bind "
			     "needs for [shared] entries (Linux 6.18 can; 6.15 is the first that should)");
	if (r < 0)
		return failf(r, err, errlen, "mounting onto a detached mount tree failed: %s", strerror(-r));
	return 0;
}

int bind_check_mount_points(int tree, const struct config *cfg, char *err, size_t errlen)
{
	for (size_t k = 0; k < cfg->n_shared_dirs + cfg->n_shared_files; k++) {
		bool is_dir = k < cfg->n_shared_dirs;
		const char *rel = is_dir ? cfg->shared_dirs[k] : cfg->shared_files[k - cfg->n_shared_dirs];
		_cleanup_close_ int fd = fs_open_beneath(tree, rel, O_RDONLY | O_NONBLOCK | (is_dir ? O_DIRECTORY : 0), 0);
		struct stat st;
		bool empty = false;

		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (is_dir && S_ISDIR(st.st_mode)) {
				_cleanup_closedir_ DIR *d = fdopendir(fd);
				struct dirent *de;

				if (d) {
					fd = -EBADF;
					empty = true;
					while ((de = readdir(d)))
						if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
							empty = false;
				}
			} else if (!is_dir && S_ISREG(st.st_mode))
				empty = st.st_size == 0;
		}
		if (!empty) {
			snprintf(err, errlen, "%s in the release must stay the empty %s cutover made for mounting shared/%s; "
				 "a build step changed it", rel, is_dir ? "directory" : "file", rel);
			return -EUCLEAN;
		}
	}
	return 0;
}
