/* SPDX-License-Identifier: MIT */
#include "freeze.h"

#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "fsops.h"
#include "manifest.h"
#include "store.h"
#include "util.h"

/* Real trees (node_modules included) stay far below; the bound keeps the
 * walk's recursion (about 1.3 KB of stack a level, the large buffers are
 * in struct walk_bufs: under 1 MiB at the bound) far from the 8 MiB
 * stack. Not lower: hostile/test_25 freezes a tree 400 levels deep. */
#define FREEZE_MAX_DEPTH 512
#define FREEZE_MAX_DEPTH_TEXT "512"
_Static_assert(FREEZE_MAX_DEPTH == 512, "FREEZE_MAX_DEPTH_TEXT must match");
#define LINK_MAX_HOPS 40          /* the kernel's MAXSYMLINKS */

/* Large per-entry buffers live on the heap, not on the stack of every
 * level of the recursive walk: a build nesting directories deeply must
 * not overflow the helper's stack. None is used across a recursion. */
struct walk_bufs {
	char sha_line[8192];
	char ent_line[2 * 4 * 4096 + 64], ent_v[4 * 4096 + 1], ent_p[4 * 4096 + 1];
	char target[4096];
};

struct walk {
	const struct freeze_spec *spec;
	struct walk_bufs *b;
	struct store store;
	struct freeze_stats st;
	char *err;
	size_t errlen;
	/* Manifest lines are buffered and written in large chunks: the
	 * sha256sum(1) file and the entries file. */
	struct outbuf { int fd; char *buf; size_t len, cap; } sha, ent;
	/* Relative symlinks, checked once the whole tree is built. */
	char **links;
	size_t n_links, links_cap;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fail_path(struct walk *w, const char *path, const char *what)
{
	char shown[512];

	str_escape(shown, sizeof(shown), path, strlen(path));
	snprintf(w->err, w->errlen, "freeze: %s %s", shown, what);
}

static int out_flush(struct outbuf *o)
{
	int r = write_all(o->fd, o->buf, o->len);

	o->len = 0;
	return r;
}

static int out_append(struct outbuf *o, const char *s, size_t len)
{
	if (o->len + len > o->cap) {
		int r = out_flush(o);
		if (r < 0)
			return r;
		if (len > o->cap)
			return write_all(o->fd, s, len);
	}
	memcpy(o->buf + o->len, s, len);
	o->len += len;
	return 0;
}

/* sha256sum escapes a name holding '\\' or '\n' and marks the line with a
 * leading backslash; do the same so `sha256sum -c` accepts every line. */
static int manifest_add(struct walk *w, const unsigned char *digest,
			const char *path)
{
	char *line = w->b->sha_line;
	const size_t line_size = sizeof(w->b->sha_line);
	size_t o = 0;
	bool esc = strpbrk(path, "\\\n") != NULL;

	if (esc)
		line[o++] = '\\';
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(line + o, 3, "%02x", digest[i]);
	line[o++] = ' ';
	line[o++] = ' ';
	for (const char *p = path; *p && o < line_size - 3; p++) {
		if (esc && *p == '\\') {
			line[o++] = '\\';
			line[o++] = '\\';
		} else if (esc && *p == '\n') {
			line[o++] = '\\';
			line[o++] = 'n';
		} else
			line[o++] = *p;
	}
	line[o++] = '\n';
	return out_append(&w->sha, line, o);
}

/* One line of the entries file (docs/SECURITY.md, "The manifest"):
 * TYPE MODE UID:GID VALUE PATH, VALUE the hash (f), the target (l) or
 * "-" (d), VALUE and PATH escaped by manifest_escape. */
static int entry_add(struct walk *w, char type, mode_t mode, const char *value, const char *path)
{
	char *line = w->b->ent_line, *v = w->b->ent_v, *p = w->b->ent_p;
	int n;

	manifest_escape(v, sizeof(w->b->ent_v), value);
	manifest_escape(p, sizeof(w->b->ent_p), path[0] ? path : ".");
	n = snprintf(line, sizeof(w->b->ent_line), "%c %04o 0:%u %s %s\n", type, (unsigned)mode,
		     (unsigned)w->spec->web_gid, v, p);
	if (n < 0 || (size_t)n >= sizeof(w->b->ent_line))
		return -ENAMETOOLONG;
	return out_append(&w->ent, line, (size_t)n);
}

/* POSIX ACLs could grant write access that the mode bits do not show.
 * (File capabilities need no removal here: chown(2) has already cleared
 * security.capability, through the kernel's inode_killpriv.) */
static int strip_acls(int fd)
{
	static const char *const names[] = {
		"system.posix_acl_access", "system.posix_acl_default",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (fremovexattr(fd, names[i]) < 0 && errno != ENODATA &&
		    errno != EOPNOTSUPP)
			return -errno;
	return 0;
}

/* Over the budget ([build] max_size, max_files)? Checked as the walk
 * goes, so a release too big is refused before it is copied whole. */
static bool over_budget(const struct walk *w)
{
	return w->st.bytes > w->spec->max_bytes ||
	       w->st.files + w->st.dirs + w->st.symlinks > w->spec->max_entries;
}

/*
 * A file of the build becomes a link to an object: the build's inode is
 * only read, never published (a build step may hold it open for writing).
 */
static int freeze_file(struct walk *w, int dirfd, int dst_fd, const char *name,
		       const char *path, const struct stat *pre)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned char digest[STORE_DIGEST_LEN];
	char object[STORE_NAME_MAX], hex[2 * STORE_DIGEST_LEN + 1];
	uint64_t bytes = 0, room;
	struct stat st;
	mode_t mode;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Re-check on the fd: the name may have been swapped since fstatat. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_ino != pre->st_ino || st.st_dev != pre->st_dev) {
		fail_path(w, path, "changed while being frozen");
		return -ESTALE;
	}
	if (st.st_nlink > 1) {
		fail_path(w, path, "has more than one hard link; a release must not share files with anything else");
		return -EMLINK;
	}
	mode = store_object_mode(st.st_mode);
	room = w->spec->max_bytes - w->st.bytes;
	r = store_commit(&w->store, fd, mode, &st.st_mtim, room, digest, &bytes, object, sizeof(object));
	if (r == -EFBIG) {
		w->st.bytes += room + 1;
		return r;
	}
	if (r == 0)
		r = store_link(&w->store, object, dst_fd, name);
	if (r < 0)
		return r;
	w->st.files++;
	w->st.bytes += bytes;
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	r = manifest_add(w, digest, path);
	if (r == 0)
		r = entry_add(w, 'f', mode, hex, path);
	return r;
}

static int freeze_dir(struct walk *w, int fd, int dst_fd, const char *path, unsigned depth);

/* An absolute target may only name something below the shared prefix
 * (cutover's own links), without '.' or '..'. */
static bool symlink_shared_ok(const struct walk *w, const char *target)
{
	size_t n = strlen(w->spec->shared_prefix);

	return n > 0 && strncmp(target, w->spec->shared_prefix, n) == 0 && config_relpath_valid(target + n);
}

static int links_add(struct walk *w, const char *path)
{
	if (w->n_links == w->links_cap) {
		size_t cap = w->links_cap ? w->links_cap * 2 : 64;
		char **v = realloc(w->links, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->links = v;
		w->links_cap = cap;
	}
	w->links[w->n_links] = strdup(path);
	if (!w->links[w->n_links])
		return -ENOMEM;
	w->n_links++;
	return 0;
}

/* Takes the first component off *rest (skipping empty ones and "."):
 * 1, 0 at the end, -1 for a component longer than NAME_MAX (the kernel
 * fails the lookup there, ENAMETOOLONG). */
static int path_next(char **rest, char *comp, size_t n)
{
	for (;;) {
		size_t len;

		while (**rest == '/')
			(*rest)++;
		if (!**rest)
			return 0;
		len = strcspn(*rest, "/");
		if (len >= n)
			return -1;
		memcpy(comp, *rest, len);
		comp[len] = '\0';
		*rest += len;
		if (strcmp(comp, ".") != 0)
			return 1;
	}
}

/* Below the shared prefix the tree is the web app's and changes: count
 * what is left as text; climbing above shared/ itself leaves it. */
static bool shared_rest_escapes(const char *shared_rel, char *rest)
{
	char comp[256];
	long depth = 0;

	for (const char *p = shared_rel; *p; p++)
		depth += *p == '/';
	depth++;
	while (path_next(&rest, comp, sizeof(comp)) > 0) {
		if (strcmp(comp, "..") != 0)
			depth++;
		else if (--depth < 0)
			return true;
	}
	return false;
}

/*
 * The budget of freeze_check_links: lookups (one per path component
 * resolved) for all relative links of a release together. Each link may
 * take up to 40 hops of up to 4 KiB each, so without a budget an artifact
 * of chained links going far down and back up makes the freeze, which
 * holds the app's lock, run for hours. The budget grows with the size of
 * the tree (bounded by max_files), so it is the same order of work as the
 * walk itself; a legitimate link costs a few lookups.
 */
#define LINK_BUDGET_BASE 1000000ULL
#define LINK_BUDGET_PER_ENTRY 64ULL

/* Where link_escapes stands: the directory it is in, as an fd and as its
 * path from the release root (only real directories, never a symlink). */
struct link_walk {
	int dfd;
	char cur[4096];
	size_t len;
	unsigned long long *budget;
};

static void link_walk_done(struct link_walk *lw)
{
	closep(&lw->dfd);
}

/* Charges n lookups to the budget: 0, or -EDQUOT once it is spent. */
static int link_charge(struct link_walk *lw, unsigned long long n)
{
	if (*lw->budget < n) {
		*lw->budget = 0;
		return -EDQUOT;
	}
	*lw->budget -= n;
	return 0;
}

/* Steps into the real directory comp of the current one. */
static int link_walk_down(struct link_walk *lw, const char *comp)
{
	size_t n = strlen(comp);
	int fd;

	if (lw->len + n + 2 > sizeof(lw->cur))
		return -E2BIG;
	fd = openat(lw->dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(lw->dfd);
	lw->dfd = fd;
	if (lw->len)
		lw->cur[lw->len++] = '/';
	memcpy(lw->cur + lw->len, comp, n + 1);
	lw->len += n;
	return 0;
}

/* Steps up to the parent, never above the release root (the caller
 * checks that cur is not empty). The current directory is a real one
 * below the root of a sealed tree, so its ".." is the textual parent. */
static int link_walk_up(struct link_walk *lw)
{
	char *slash = strrchr(lw->cur, '/');
	int fd = openat(lw->dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(lw->dfd);
	lw->dfd = fd;
	lw->len = slash ? (size_t)(slash - lw->cur) : 0;
	lw->cur[lw->len] = '\0';
	return 0;
}

/* Opens the directory of the link at path: lw->cur and lw->dfd. */
static int link_walk_start(struct link_walk *lw, int root_fd, const char *path)
{
	const char *slash = strrchr(path, '/');
	unsigned long long comps = 1;

	lw->len = slash ? (size_t)(slash - path) : 0;
	if (lw->len >= sizeof(lw->cur))
		return -ENAMETOOLONG;
	memcpy(lw->cur, path, lw->len);
	lw->cur[lw->len] = '\0';
	for (const char *p = lw->cur; *p; p++)
		comps += *p == '/';
	if (link_charge(lw, comps) < 0)
		return -EDQUOT;
	lw->dfd = fs_open_beneath(root_fd, lw->len ? lw->cur : ".", O_PATH | O_DIRECTORY, 0);
	return lw->dfd < 0 ? lw->dfd : 0;
}

/*
 * Does the link at path (relative to the release root root_fd) resolve,
 * as the kernel would, to something outside the release? Walks one
 * component at a time from the link's directory, following symlinks like
 * path resolution does, so that a ".." after a symlink climbs from where
 * the symlink led, not from where its name is. Runs once the tree is
 * sealed (root-owned, no write bits), so what it reads cannot change
 * behind it. A path that does not resolve (missing, not a directory, a
 * loop) can never be followed out: the release no longer changes.
 * Each component costs one lookup from the directory fd it stands in,
 * charged to *budget.
 * 1 escapes, 0 stays inside (or in shared/ through cutover's links),
 * -errno on failure (-E2BIG: too long to follow; -EDQUOT: the budget is
 * spent; the caller refuses both).
 */
static int link_escapes(const struct walk *w, int root_fd, const char *path,
			unsigned long long *budget)
{
	_cleanup_(link_walk_done) struct link_walk lw = { .dfd = -EBADF, .budget = budget };
	char buf[2][8192], comp[256], target[4096];
	char *rest, *slash;
	unsigned hops = 0;
	int b = 0, r;

	if (str_copy(buf[0], sizeof(buf[0]), path) < 0)
		return -ENAMETOOLONG;
	r = link_walk_start(&lw, root_fd, path);
	if (r < 0)
		return r;
	slash = strrchr(buf[0], '/');
	rest = slash ? slash + 1 : buf[0];
	while (path_next(&rest, comp, sizeof(comp)) > 0) {
		struct stat st;
		ssize_t n;

		if (link_charge(&lw, 1) < 0)
			return -EDQUOT;
		if (strcmp(comp, "..") == 0) {
			if (!lw.cur[0])
				return 1;
			r = link_walk_up(&lw);
			if (r < 0)
				return r;
			continue;
		}
		if (fstatat(lw.dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (S_ISDIR(st.st_mode)) {
			r = link_walk_down(&lw, comp);
			if (r < 0)
				return r;
			continue;
		}
		if (!S_ISLNK(st.st_mode))
			return 0;   /* the end, or ENOTDIR for the kernel */
		if (++hops > LINK_MAX_HOPS)
			return 0;   /* ELOOP for the kernel */
		n = readlinkat(lw.dfd, comp, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (target[0] == '/') {
			if (!symlink_shared_ok(w, target))
				return 1;
			return shared_rest_escapes(target + strlen(w->spec->shared_prefix), rest);
		}
		/* The target replaces the link's name in what is left. */
		if (str_printf(buf[!b], sizeof(buf[!b]), "%s/%s", target, rest) < 0)
			return -E2BIG;
		b = !b;
		rest = buf[b];
	}
	return 0;
}

/* Every relative symlink recorded by the walk, judged as resolved,
 * within a budget of lookups for all of them (LINK_BUDGET_*). */
static int freeze_check_links(struct walk *w, int root_fd)
{
	unsigned long long entries = w->st.files + w->st.dirs + w->st.symlinks;
	unsigned long long budget = LINK_BUDGET_BASE + LINK_BUDGET_PER_ENTRY * entries;
	unsigned long long allowed = budget;

	for (size_t i = 0; i < w->n_links; i++) {
		char target[4096], shown[300];
		ssize_t n;
		int r = link_escapes(w, root_fd, w->links[i], &budget);

		if (r == 0)
			continue;
		if (r == -E2BIG) {
			fail_path(w, w->links[i], "is a symlink too long to follow to its end");
			return -EPERM;
		}
		if (r == -EDQUOT) {
			fail_path(w, w->links[i], "is a symlink the freeze gave up on");
			snprintf(w->err + strlen(w->err), w->errlen - strlen(w->err),
				 ": checking where the release's %zu relative symlinks lead took more than %llu lookups "
				 "(chains of links running deep down and back up?)", w->n_links, allowed);
			return -EPERM;
		}
		if (r < 0)
			return r;
		n = readlinkat(root_fd, w->links[i], target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		str_escape(shown, sizeof(shown), target, strlen(target));
		fail_path(w, w->links[i], "is a symlink pointing outside the release");
		snprintf(w->err + strlen(w->err), w->errlen - strlen(w->err), " (-> %s)", shown);
		return -EPERM;
	}
	return 0;
}

/* A symlink of the build is made again in the new tree, from its target. */
static int freeze_symlink(struct walk *w, int dirfd, int dst_fd, const char *name, const char *path)
{
	char *target = w->b->target;
	ssize_t n = readlinkat(dirfd, name, target, sizeof(w->b->target) - 1);
	int r;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	/* Relative links wait for the end of the walk: only a complete tree
	 * can be resolved with a result that stays true. */
	if (target[0] != '/') {
		r = links_add(w, path);
		if (r < 0)
			return r;
	} else if (!symlink_shared_ok(w, target)) {
		char shown[300];

		str_escape(shown, sizeof(shown), target, (size_t)n);
		fail_path(w, path, "is a symlink pointing outside the release");
		snprintf(w->err + strlen(w->err), w->errlen - strlen(w->err), " (-> %s)", shown);
		return -EPERM;
	}
	if (symlinkat(target, dst_fd, name) < 0 ||
	    fchownat(dst_fd, name, 0, w->spec->web_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	w->st.symlinks++;
	return entry_add(w, 'l', 0777, target, path);
}

static int freeze_subdir(struct walk *w, int dirfd, int dst_fd, const char *name,
			 const char *path, unsigned depth, const struct stat *pre)
{
	_cleanup_close_ int sub = -EBADF, dsub = -EBADF;
	struct stat st2;

	if (depth >= FREEZE_MAX_DEPTH) {
		fail_path(w, path, "is nested too deeply (more than " FREEZE_MAX_DEPTH_TEXT " directories)");
		return -ELOOP;
	}
	sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	if (fstat(sub, &st2) < 0)
		return -errno;
	if (st2.st_ino != pre->st_ino || st2.st_dev != pre->st_dev) {
		fail_path(w, path, "changed while being frozen");
		return -ESTALE;
	}
	if (mkdirat(dst_fd, name, 0500) < 0)
		return -errno;
	dsub = openat(dst_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dsub < 0)
		return -errno;
	return freeze_dir(w, sub, dsub, path, depth + 1);
}

static int freeze_entry(struct walk *w, int dirfd, int dst_fd, const char *name,
			const char *path, unsigned depth)
{
	struct stat st;

	if (over_budget(w))
		return -EFBIG;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return freeze_file(w, dirfd, dst_fd, name, path, &st);
	if (S_ISLNK(st.st_mode))
		return freeze_symlink(w, dirfd, dst_fd, name, path);
	if (S_ISDIR(st.st_mode))
		return freeze_subdir(w, dirfd, dst_fd, name, path, depth, &st);
	fail_path(w, path, S_ISFIFO(st.st_mode) ? "is a fifo; a release holds only files, directories and symlinks" :
		  S_ISSOCK(st.st_mode) ? "is a socket; a release holds only files, directories and symlinks" :
		  "is a device node; a release holds only files, directories and symlinks");
	return -EPERM;
}

static int read_names(int fd, char ***ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r;

	r = fs_opendir(fd, &d);
	if (r < 0)
		return r;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nv;
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			goto oom;
		n++;
	}
	if (errno) {
		r = -errno;
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static int freeze_dir(struct walk *w, int fd, int dst_fd, const char *path, unsigned depth)
{
	char **names = NULL, *sub = NULL;
	size_t n = 0;
	int r;

	/* Lock the build's directory before listing it: once it is
	 * root:web 0550 no other user can add, remove or rename entries in
	 * it, so the listing stays what the walk sees. */
	if (fchown(fd, 0, w->spec->web_gid) < 0 || fchmod(fd, 0550) < 0)
		return -errno;
	/* The new directory is ours from its mkdir; it gets its final owner
	 * and mode now (root fills it regardless, CAP_DAC_OVERRIDE). */
	if (fchown(dst_fd, 0, w->spec->web_gid) < 0 || fchmod(dst_fd, 0550) < 0)
		return -errno;
	r = strip_acls(dst_fd);
	if (r == 0)
		r = entry_add(w, 'd', 0550, "-", path);
	if (r < 0)
		return r;
	w->st.dirs++;
	r = read_names(fd, &names, &n);
	if (r < 0)
		return r;
	/* On the heap: this frame is repeated at every level. */
	sub = malloc(PATH_MAX);
	if (!sub)
		r = -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (*path)
			r = str_printf(sub, PATH_MAX, "%s/%s", path, names[i]);
		else
			r = str_copy(sub, PATH_MAX, names[i]);
		if (r < 0) {
			fail_path(w, path, "has a path that is too long");
			break;
		}
		r = freeze_entry(w, fd, dst_fd, names[i], sub, depth);
	}
	free(sub);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int freeze_tree(const struct freeze_spec *spec, struct freeze_stats *ret, char *err, size_t errlen)
{
	struct walk w = {
		.spec = spec, .err = err, .errlen = errlen,
		.sha = { .fd = spec->sha_fd, .cap = 64 * 1024 },
		.ent = { .fd = spec->manifest_fd, .cap = 64 * 1024 },
	};
	int r;

	err[0] = '\0';
	w.sha.buf = malloc(w.sha.cap);
	w.ent.buf = malloc(w.ent.cap);
	w.b = malloc(sizeof(*w.b));
	r = store_open(&w.store, spec->objects_fd, spec->web_gid);
	if (r == 0 && (!w.sha.buf || !w.ent.buf || !w.b))
		r = -ENOMEM;
	if (r == 0)
		r = out_append(&w.ent, MANIFEST_HEADER "\n", strlen(MANIFEST_HEADER) + 1);
	if (r == 0)
		r = freeze_dir(&w, spec->src_fd, spec->dst_fd, "", 0);
	if (r == 0)
		r = freeze_check_links(&w, spec->dst_fd);
	if (r == 0)
		r = out_flush(&w.sha);
	if (r == 0)
		r = out_flush(&w.ent);
	w.st.objects_new = w.store.copied;
	*ret = w.st;
	if (r < 0 && r != -EFBIG && !err[0])
		snprintf(err, errlen, "freeze failed: %s", strerror(-r));
	for (size_t i = 0; i < w.n_links; i++)
		free(w.links[i]);
	free(w.links);
	store_close(&w.store);
	free(w.sha.buf);
	free(w.ent.buf);
	free(w.b);
	return r;
}
