/* SPDX-License-Identifier: MIT */
/*
 * link-shared: the [shared] entries of a release become links to (mode =
 * live) or mount points for (mode = bind) ROOT/shared/REL.
 */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "fsops.h"
#include "shared_files.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"


/* Splits "a/b/c" into a parent fd (created as needed with the given
 * owner) and the last component. */
static int open_parent(int base_fd, const char *rel, uid_t uid, gid_t gid, mode_t mode,
		       char *last, size_t n)
{
	char parent[512];
	const char *slash = strrchr(rel, '/');

	if (!slash) {
		if (str_copy(last, n, rel) < 0)
			return -ENAMETOOLONG;
		int fd = fcntl(base_fd, F_DUPFD_CLOEXEC, 3);

		return fd < 0 ? -errno : fd;
	}
	if ((size_t)(slash - rel) >= sizeof(parent) || str_copy(last, n, slash + 1) < 0)
		return -ENAMETOOLONG;
	memcpy(parent, rel, (size_t)(slash - rel));
	parent[slash - rel] = '\0';
	return fs_ensure_path(base_fd, parent, mode, uid, gid);
}

/*
 * Links one shared entry into the release: ROOT/shared/REL is created on
 * first use (seeded from the release's own copy when it has one), the
 * release's REL is removed, and REL becomes a symlink to the shared path.
 */
static int link_one(struct helper *h, const char *rel, bool is_dir, char *err, size_t errlen)
{
	_cleanup_close_ int sp = -EBADF, rp = -EBADF;
	char last[256], target[PATH_MAX];
	struct stat st;
	bool exists;
	int r;

	r = str_printf(target, sizeof(target), "%s/shared/%s", h->cfg.root, rel);
	if (r < 0)
		return r;
	sp = open_parent(h->l.shared_fd, rel, 0, h->cfg.web_gid, 0751, last, sizeof(last));
	if (sp < 0) {
		snprintf(err, errlen, "cannot create the parent of shared/%s: %s", rel, strerror(-sp));
		return sp;
	}
	rp = open_parent(h->tree_fd, rel, h->cfg.uid, h->cfg.gid, 0755, last, sizeof(last));
	if (rp < 0) {
		snprintf(err, errlen, "cannot create the parent of %s in the release: %s", rel, strerror(-rp));
		return rp;
	}
	exists = fstatat(sp, last, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists) {
		struct stat rs;
		bool seed = fstatat(rp, last, &rs, AT_SYMLINK_NOFOLLOW) == 0 &&
			    (is_dir ? S_ISDIR(rs.st_mode) : S_ISREG(rs.st_mode));

		if (errno != ENOENT && !seed)
			return -errno;
		/* First use: adopt the release's copy as the initial content. */
		if (seed && renameat(rp, last, sp, last) < 0)
			return -errno;
		/* Writable by the deploy user and the web group, nobody else;
		 * created exclusively, changed by fd (helpers/shared_files.c). */
		r = shared_entry_adopt(sp, last, is_dir, seed, h->cfg.uid, h->cfg.web_gid);
		if (r == -EPERM)
			snprintf(err, errlen, "%s/shared/%s is not what was created or moved there (type, owner or link count); left unchanged", h->cfg.root, rel);
		if (r == -EEXIST && fstatat(sp, last, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r < 0 && r != -EEXIST)
			return r;
		/* Created by us: what it is was just checked. Created by
		 * someone else meanwhile: checked below as an existing one. */
		exists = r == -EEXIST;
	}
	if (exists && (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "%s/shared/%s exists but is not a %s", h->cfg.root, rel,
			 is_dir ? "directory" : "regular file");
		return -EEXIST;
	}
	r = fs_remove_tree(rp, last);
	if (r < 0)
		return r;
	if (h->cfg.mode == PUBLISH_BIND) {
		/* An empty mount point: each publish (and the build sandbox)
		 * mounts shared/REL there. */
		_cleanup_close_ int fd = -EBADF;

		if (is_dir)
			return mkdirat(rp, last, 0755) < 0 ? -errno : 0;
		fd = openat(rp, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		return fd < 0 ? -errno : 0;
	}
	if (symlinkat(target, rp, last) < 0)
		return -errno;
	return 0;
}

/*
 * The log both the web server (often umask 022) and the deploy user
 * (migrations, queue:restart) append to. When artisan cannot write it,
 * it cannot report its own failure and exits 0, so a failed migration
 * would pass: every file in storage/logs is made group-writable for
 * web_group, and laravel.log is created that way when missing.
 */
static int laravel_logs(struct helper *h, int storage)
{
	_cleanup_close_ int logs = -EBADF;

	logs = fs_open_beneath(storage, "logs", O_RDONLY | O_DIRECTORY, 0);
	if (logs < 0)
		return logs;
	/* By fd, one link and the expected owner only (helpers/shared_files.c):
	 * the web server's user can plant hard links here. */
	return shared_logs_fix(logs, h->cfg.uid, h->cfg.web_gid);
}

/* Laravel writes below storage/ at run time, as the web server's user:
 * the framework's directories exist and belong to the deploy user and
 * web_group, setgid so new files keep the group. */
static int laravel_storage(struct helper *h, char *err, size_t errlen)
{
	static const char *const dirs[] = {
		"framework", "framework/cache", "framework/cache/data", "framework/sessions",
		"framework/views", "logs", "app", "app/public",
	};
	_cleanup_close_ int storage = -EBADF;

	storage = fs_open_beneath(h->l.shared_fd, "storage", O_RDONLY | O_DIRECTORY, 0);
	if (storage < 0) {
		snprintf(err, errlen, "cannot open shared/storage: %s", strerror(-storage));
		return storage;
	}
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		int fd = fs_ensure_path_own(storage, dirs[i], 02770, h->cfg.uid, h->cfg.web_gid);
		if (fd < 0) {
			snprintf(err, errlen, "cannot set up shared/storage/%s: %s", dirs[i], strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return laravel_logs(h, storage);
}

int op_link_shared(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char err[512] = "";
	int r = 0;

	for (size_t i = 0; r == 0 && i < h->cfg.n_shared_dirs; i++)
		r = link_one(h, h->cfg.shared_dirs[i], true, err, sizeof(err));
	if (r == 0 && h->cfg.laravel_storage)
		r = laravel_storage(h, err, sizeof(err));
	for (size_t i = 0; r == 0 && i < h->cfg.n_shared_files; i++)
		r = link_one(h, h->cfg.shared_files[i], false, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_LINK_SHARED, err);
		return 0;
	}
	h->phase = PH_LINKED;
	reply_init(rep, 0, NULL);
	return 0;
}
