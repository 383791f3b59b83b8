/* SPDX-License-Identifier: MIT */
/*
 * link-shared: the [shared] entries of a release become links to (mode =
 * live) or mount points for (mode = bind) ROOT/shared/REL.
 */
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "fsops.h"
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
	_cleanup_close_ int sp = -EBADF, rp = -EBADF, probe = -EBADF;
	char last[256], target[PATH_MAX];
	struct stat st;
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
	if (fstatat(sp, last, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		struct stat rs;
		bool seed = fstatat(rp, last, &rs, AT_SYMLINK_NOFOLLOW) == 0 &&
			    (is_dir ? S_ISDIR(rs.st_mode) : S_ISREG(rs.st_mode));

		if (errno != ENOENT && !seed)
			return -errno;
		/* First use: adopt the release's copy as the initial content. */
		if (seed && renameat(rp, last, sp, last) < 0)
			return -errno;
		if (!seed && is_dir && mkdirat(sp, last, 0) < 0)
			return -errno;
		probe = is_dir ? openat(sp, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
			openat(sp, last, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		/* Writable by the deploy user and the web group, nobody else. */
		if (fchown(probe, h->cfg.uid, h->cfg.web_gid) < 0 ||
		    fchmod(probe, is_dir ? 02770 : 0640) < 0)
			return -errno;
	} else if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
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
	_cleanup_close_ int logs = -EBADF, fd = -EBADF;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int dfd;

	logs = fs_open_beneath(storage, "logs", O_RDONLY | O_DIRECTORY, 0);
	if (logs < 0)
		return logs;
	fd = openat(logs, "laravel.log", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0660);
	if (fd >= 0) {
		struct stat st;
		/* Best effort, like the loop below: a log we cannot fix only
		 * weakens the exit-status check, which is verified anyway. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == h->cfg.uid &&
		    st.st_gid != h->cfg.web_gid && fchown(fd, h->cfg.uid, h->cfg.web_gid) < 0)
			errno = 0;
	}
	dfd = fcntl(logs, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int f = -EBADF;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		f = openat(logs, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (st.st_gid != h->cfg.web_gid && fchown(f, (uid_t)-1, h->cfg.web_gid) < 0)
			continue;
		if ((st.st_mode & 0060) != 0060)
			(void)fchmod(f, (st.st_mode & 0777 & ~0007) | 0060);
	}
	return 0;
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
		int fd = fs_ensure_path(storage, dirs[i], 02770, h->cfg.uid, h->cfg.web_gid);
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
