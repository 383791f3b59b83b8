/* SPDX-License-Identifier: MIT */
#include "release.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsops.h"
#include "history.h"
#include "store.h"
#include "util.h"



void layout_close(struct layout *l)
{
	int *fds[] = {
		&l->root_fd, &l->releases_fd, &l->shared_fd, &l->meta_fd,
		&l->state_fd, &l->manifest_fd, &l->logs_fd, &l->staging_fd,
		&l->failed_fd, &l->trash_fd, &l->objects_fd, &l->entries_fd,
	};

	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -EBADF;
	}
}

/*
 * Opens ROOT, creating it and any missing parents (root:root 0755) like
 * mkdir -p. Every existing component must pass the trust check first, so a
 * directory is only ever created inside a trusted one.
 */
static int open_root(const struct config *cfg, char *err, size_t errlen)
{
	char prefix[sizeof(cfg->root)];
	size_t len = strlen(cfg->root);
	int fd;

	fd = path_open_trusted(cfg->root, true, err, errlen);
	if (fd != -ENOENT)
		return fd;
	for (size_t i = 1; i <= len; i++) {
		_cleanup_close_ int pfd = -EBADF;
		const char *base;

		if (cfg->root[i] != '/' && cfg->root[i] != '\0')
			continue;
		memcpy(prefix, cfg->root, i);
		prefix[i] = '\0';
		fd = path_open_trusted(prefix, true, err, errlen);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (fd != -ENOENT)
			return fd;
		/* prefix is missing: create its last component in its parent,
		 * which the previous iteration found trusted. */
		base = strrchr(prefix, '/');
		prefix[base - prefix] = '\0';
		pfd = path_open_trusted(prefix[0] ? prefix : "/", true, err, errlen);
		if (pfd < 0)
			return pfd;
		if (mkdirat(pfd, base + 1, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s/%s: %s", prefix, base + 1, strerror(errno));
			return -errno;
		}
	}
	return path_open_trusted(cfg->root, true, err, errlen);
}

int layout_open(struct layout *l, const struct config *cfg, bool create, char *err, size_t errlen)
{
	struct {
		int *fd;
		int *at;
		const char *name;
		mode_t mode;
		gid_t gid;
	} dirs[] = {
		{ &l->releases_fd, &l->root_fd, "releases", 0751, cfg->web_gid },
		{ &l->shared_fd, &l->root_fd, "shared", 0751, cfg->web_gid },
		{ &l->meta_fd, &l->root_fd, ".cutover", 0700, 0 },
		{ &l->state_fd, &l->meta_fd, "state", 0700, 0 },
		{ &l->manifest_fd, &l->meta_fd, "manifest", 0700, 0 },
		{ &l->logs_fd, &l->meta_fd, "logs", 0700, 0 },
		{ &l->staging_fd, &l->meta_fd, "staging", 0711, 0 },
		{ &l->failed_fd, &l->meta_fd, "failed", 0700, 0 },
		{ &l->trash_fd, &l->meta_fd, "trash", 0700, 0 },
		/* Optional when not creating: an app frozen before the store. */
		{ &l->objects_fd, &l->meta_fd, "objects", 0700, 0 },
		{ &l->entries_fd, &l->meta_fd, "entries", 0700, 0 },
	};
	int r;

	for (int *p = &l->root_fd; p <= &l->entries_fd; p++)
		*p = -EBADF;
	l->root_fd = create ? open_root(cfg, err, errlen) :
		     path_open_trusted(cfg->root, true, err, errlen);
	if (l->root_fd < 0)
		return l->root_fd;
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		if (create)
			r = fs_ensure_dir(*dirs[i].at, dirs[i].name, dirs[i].mode, 0, dirs[i].gid);
		else {
			r = openat(*dirs[i].at, dirs[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (r < 0)
				r = -errno;
			if (r == -ENOENT && (dirs[i].fd == &l->objects_fd || dirs[i].fd == &l->entries_fd))
				continue;
			if (r == -ENOENT) {
				layout_close(l);
				return r;
			}
		}
		if (r < 0) {
			snprintf(err, errlen, "cannot set up %s/%s: %s", cfg->root,
				 dirs[i].name, strerror(-r));
			layout_close(l);
			return r;
		}
		*dirs[i].fd = r;
	}
	return 0;
}

int state_write(const struct layout *l, const struct release_info *ri)
{
	static const char *const names[] = {
		[RELEASE_BUILDING] = "building", [RELEASE_FROZEN] = "frozen",
		[RELEASE_FAILED] = "failed",
	};
	char buf[256 + sizeof(ri->reason)], reason[sizeof(ri->reason)];
	int r;

	if (!release_id_valid(ri->id) || ri->state < RELEASE_BUILDING || ri->state > RELEASE_FAILED)
		return -EINVAL;
	/* One line, printable ASCII: whatever the reason's origin, the file
	 * stays key=value lines and prints harmlessly. */
	str_copy(reason, sizeof(reason), ri->reason);
	for (char *p = reason; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	if (ri->previous_known && ri->previous[0] && !release_id_valid(ri->previous))
		return -EINVAL;
	r = str_printf(buf, sizeof(buf), "state=%s\ncreated=%" PRIu64 "\nbytes=%llu\nfiles=%llu\n%s%s%s%s%s%s%s",
		       names[ri->state], ri->created_ns, ri->bytes, ri->files,
		       ri->unhealthy ? "health=failed\n" : "", reason[0] ? "reason=" : "", reason,
		       reason[0] ? "\n" : "", ri->previous_known ? "previous=" : "",
		       !ri->previous_known ? "" : ri->previous[0] ? ri->previous : "-",
		       ri->previous_known ? "\n" : "");
	if (r < 0)
		return r;
	return fs_write_atomic(l->state_fd, ri->id, buf, strlen(buf), 0600);
}

int state_set_previous(const struct layout *l, const char *id, const char *prev)
{
	struct release_info ri;
	int r;

	r = state_read(l, id, &ri);
	if (r < 0)
		return r;
	ri.previous_known = true;
	str_copy(ri.previous, sizeof(ri.previous), prev);
	return state_write(l, &ri);
}

int state_read(const struct layout *l, const char *id, struct release_info *ret)
{
	char buf[1024], *save = NULL;
	struct release_info ri = { 0 };
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	r = fs_read_small(l->state_fd, id, buf, sizeof(buf));
	if (r < 0)
		return r;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		unsigned long long v = 0;

		if (!eq)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "state") == 0) {
			ri.state = strcmp(eq, "frozen") == 0 ? RELEASE_FROZEN :
				   strcmp(eq, "building") == 0 ? RELEASE_BUILDING :
				   strcmp(eq, "failed") == 0 ? RELEASE_FAILED : 0;
			continue;
		}
		if (strcmp(line, "reason") == 0) {
			str_copy(ri.reason, sizeof(ri.reason), eq);
			continue;
		}
		if (strcmp(line, "health") == 0) {
			ri.unhealthy = strcmp(eq, "failed") == 0;
			continue;
		}
		if (strcmp(line, "previous") == 0) {
			/* "-": none; anything invalid: unknown (the history decides) */
			ri.previous_known = strcmp(eq, "-") == 0 || release_id_valid(eq);
			if (release_id_valid(eq))
				str_copy(ri.previous, sizeof(ri.previous), eq);
			continue;
		}
		if (parse_uint(eq, 0, UINT64_MAX, &v) < 0)
			continue;
		if (strcmp(line, "created") == 0)
			ri.created_ns = v;
		else if (strcmp(line, "bytes") == 0)
			ri.bytes = v;
		else if (strcmp(line, "files") == 0)
			ri.files = v;
	}
	if (ri.state == 0)
		return -EUCLEAN;
	str_copy(ri.id, sizeof(ri.id), id);
	*ret = ri;
	return 0;
}

int current_read(const struct layout *l, char *ret_id, size_t n)
{
	char target[256];
	ssize_t len;

	len = readlinkat(l->root_fd, "current", target, sizeof(target) - 1);
	if (len < 0) {
		if (errno == ENOENT) {
			ret_id[0] = '\0';
			return 0;
		}
		/* EINVAL: current exists but is not a symlink. */
		return errno == EINVAL ? -EUCLEAN : -errno;
	}
	target[len] = '\0';
	if (strncmp(target, "releases/", 9) != 0 || !release_id_valid(target + 9))
		return -EUCLEAN;
	return str_copy(ret_id, n, target + 9);
}

int current_rename(const struct layout *l, const char *id)
{
	char target[RELEASE_ID_MAX + 16];
	static const char tmp[] = ".current.new";
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	r = str_printf(target, sizeof(target), "releases/%s", id);
	if (r < 0)
		return r;
	if (unlinkat(l->root_fd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	if (symlinkat(target, l->root_fd, tmp) < 0)
		return -errno;
	/* rename(2) replaces current atomically: every lookup sees either the
	 * old target or the new one. */
	if (renameat(l->root_fd, tmp, l->root_fd, "current") < 0) {
		r = -errno;
		(void)unlinkat(l->root_fd, tmp, 0);
		return r;
	}
	return 0;
}

int current_publish(const struct layout *l, const char *id, uint64_t *ret_visible_ns,
		    uint64_t *ret_durable_ns)
{
	uint64_t t0 = now_ns();
	int r = current_rename(l, id);

	if (r < 0)
		return r;
	*ret_visible_ns = now_ns() - t0;
	/* From here on the release is live whatever happens: a failed fsync
	 * must not make the caller treat it as unpublished (and remove it).
	 * It is reported as "durable after 0 ns": not known to be durable. */
	*ret_durable_ns = fsync(l->root_fd) == 0 ? now_ns() - t0 : 0;
	return 0;
}

static int cmp_newest_first(const void *a, const void *b)
{
	const struct release_info *x = a, *y = b;

	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? 1 : -1;
	return strcmp(y->id, x->id);
}

int release_list(const struct layout *l, struct release_info **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct release_info *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r;

	r = fs_opendir(l->state_fd, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		struct release_info ri;

		if (!release_id_valid(de->d_name) || state_read(l, de->d_name, &ri) < 0)
			continue;
		if (n == cap) {
			struct release_info *nv;
			cap = cap ? cap * 2 : 32;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = ri;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_newest_first);
	*ret = v;
	*ret_n = n;
	return 0;
}

int release_remove(const struct layout *l, const char *id)
{
	char log[RELEASE_ID_MAX + 16], man[RELEASE_ID_MAX + 16], cur[RELEASE_ID_MAX + 1];
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	/* Never the live release, whatever a caller's state says. */
	if (current_read(l, cur, sizeof(cur)) == 0 && strcmp(cur, id) == 0)
		return -EBUSY;
	/* Take the tree out of releases/ in one rename, so the web server
	 * never sees a half-deleted release; then delete it at leisure. */
	(void)fs_remove_tree(l->trash_fd, id);
	if (renameat(l->releases_fd, id, l->trash_fd, id) < 0 && errno != ENOENT)
		return -errno;
	/* The state goes first: a run killed from here on leaves a tree in
	 * trash/ (swept by the next locked run), never a "frozen" release
	 * without a tree that list shows and keep counts. */
	if (unlinkat(l->state_fd, id, 0) < 0 && errno != ENOENT)
		return -errno;
	r = fs_remove_tree(l->trash_fd, id);
	if (r == 0)
		r = staging_discard(l, id);
	if (r == 0)
		r = fs_remove_tree(l->failed_fd, id);
	snprintf(log, sizeof(log), "%s.log", id);
	snprintf(man, sizeof(man), "%s.sha256", id);
	if (r == 0)
		r = fs_remove_tree(l->logs_fd, log);
	if (r == 0)
		r = fs_remove_tree(l->manifest_fd, man);
	snprintf(man, sizeof(man), "%s.manifest", id);
	if (r == 0 && l->entries_fd >= 0)
		r = fs_remove_tree(l->entries_fd, man);
	return r;
}

int release_drop_tree(const struct layout *l, const char *id, struct release_info *ri)
{
	char man[RELEASE_ID_MAX + 16], cur[RELEASE_ID_MAX + 1];
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	if (current_read(l, cur, sizeof(cur)) == 0 && strcmp(cur, id) == 0)
		return -EBUSY;
	/* Failed before the tree goes: a crash in between leaves a failed
	 * state with a tree (swept by the next run), never "frozen" without
	 * one. */
	ri->state = RELEASE_FAILED;
	r = state_write(l, ri);
	if (r < 0)
		return r;
	(void)fs_remove_tree(l->trash_fd, id);
	if (renameat(l->releases_fd, id, l->trash_fd, id) < 0 && errno != ENOENT)
		return -errno;
	r = fs_remove_tree(l->trash_fd, id);
	if (r == 0)
		r = fs_remove_tree(l->staging_fd, id);
	snprintf(man, sizeof(man), "%s.sha256", id);
	if (r == 0)
		r = fs_remove_tree(l->manifest_fd, man);
	snprintf(man, sizeof(man), "%s.manifest", id);
	if (r == 0 && l->entries_fd >= 0)
		r = fs_remove_tree(l->entries_fd, man);
	return r;
}

/* Removes entries of dirfd that are not a release with one of the states
 * in keep_mask (bits of 1 << state), never touching keep_id. */
int staging_discard(const struct layout *l, const char *name)
{
	char t[NAME_MAX + 1];
	int r;

	r = fs_remove_tree(l->staging_fd, name);
	if (r == 0)
		return 0;
	if (snprintf(t, sizeof(t), "%.80s.%ld.%" PRIu64, name, (long)getpid(), now_ns()) >= (int)sizeof(t) ||
	    renameat(l->staging_fd, name, l->trash_fd, t) < 0)
		return r;
	(void)fs_remove_tree(l->trash_fd, t);
	return 0;
}

static int sweep(const struct layout *l, int dirfd, unsigned keep_mask,
		 const char *keep_id, const char *cur, bool by_id, bool cautious)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	r = fs_opendir(dirfd, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		struct release_info ri;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, keep_id) == 0 || strcmp(de->d_name, cur) == 0)
			continue;
		bool known = release_id_valid(de->d_name) && state_read(l, de->d_name, &ri) == 0;

		if (known && (keep_mask & (1u << ri.state)))
			continue;
		if (cautious && !known) {
			/* No state at all: only an empty placeholder is ours to
			 * remove; anything else is left for a human to judge. */
			(void)unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
			continue;
		}
		/* A frozen release's name in staging/ is what an interrupted
		 * rebuild of a caller's id (stage --id) left: only that goes. */
		if (dirfd == l->staging_fd && known && ri.state == RELEASE_FROZEN)
			r = staging_discard(l, de->d_name);
		else if (by_id && release_id_valid(de->d_name))
			r = release_remove(l, de->d_name);
		else
			r = fs_remove_tree(dirfd, de->d_name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Removes the ".*.tmp" files in dirfd: written, never renamed into place. */
static void sweep_tmp(int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (dirfd < 0 || (fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' && n > 5 && strcmp(de->d_name + n - 4, ".tmp") == 0)
			(void)unlinkat(dirfd, de->d_name, 0);
	}
}

int release_recover(const struct layout *l, const char *keep_id)
{
	char cur[RELEASE_ID_MAX + 1] = "";
	int r;

	(void)current_read(l, cur, sizeof(cur));
	/* releases/ holds frozen releases and the placeholders of builds in
	 * progress; with the lock held, no build is in progress but ours. */
	r = sweep(l, l->releases_fd, 1u << RELEASE_FROZEN, keep_id, cur, true, true);
	if (r == 0)
		r = sweep(l, l->staging_fd, 0, keep_id, cur, true, false);
	/* Not fatal: what resists removal in the trash is nobody's release
	 * and must not block every later run. */
	if (r == 0)
		(void)sweep(l, l->trash_fd, 0, keep_id, cur, false, false);
	if (r == 0)
		r = sweep(l, l->state_fd, (1u << RELEASE_FROZEN) | (1u << RELEASE_FAILED),
			  keep_id, cur, true, false);
	(void)unlinkat(l->root_fd, ".current.new", 0);
	/* Manifests a crashed freeze was still writing (.ID.*.tmp). */
	sweep_tmp(l->manifest_fd);
	sweep_tmp(l->entries_fd);
	/* Objects of a release whose build crashed, linked by nothing now. */
	if (r == 0 && l->objects_fd >= 0)
		r = store_gc(l->objects_fd, NULL, NULL);
	return r;
}
