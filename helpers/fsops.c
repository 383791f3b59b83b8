/* SPDX-License-Identifier: MIT */
#include "fsops.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define FS_MAX_DEPTH 1024

int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	return open_beneath(dirfd, path, flags | O_NOFOLLOW, mode);
}

int fs_opendir(int dirfd, DIR **ret)
{
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d;

	if (dup < 0)
		return -errno;
	d = fdopendir(dup);
	if (!d) {
		int r = -errno;

		close(dup);
		return r;
	}
	rewinddir(d);
	*ret = d;
	return 0;
}

/* mkdir, or open what is there; set owner and mode by fd. With
 * only_own, a directory that already existed is changed only when it is
 * uid's already: one found in a tree another user can write is left as
 * it is (never taken over by name). */
static int ensure_dir(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid, bool only_own)
{
	_cleanup_close_ int fd = -EBADF;
	bool created = mkdirat(dirfd, name, mode & 0777) == 0;
	struct stat st;

	if (!created && errno != EEXIST)
		return -errno;
	fd = fs_open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (only_own && !created && st.st_uid != uid)
		return TAKE_FD(fd);
	if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
		return -errno;
	/* fchown clears setgid on some filesystems; set the mode after it. */
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int fs_ensure_dir(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	return ensure_dir(dirfd, name, mode, uid, gid, false);
}

static int ensure_path(int dirfd, const char *path, mode_t mode, uid_t uid, gid_t gid, bool only_own)
{
	char buf[4096];
	_cleanup_close_ int cur = -EBADF;
	char *save = NULL;
	int at = dirfd;

	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int fd = ensure_dir(at, c, mode, uid, gid, only_own);
		if (fd < 0)
			return fd;
		closep(&cur);
		cur = fd;
		at = cur;
	}
	if (cur < 0)
		return -EINVAL;
	return TAKE_FD(cur);
}

int fs_ensure_path(int dirfd, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	return ensure_path(dirfd, path, mode, uid, gid, false);
}

int fs_ensure_path_own(int dirfd, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	return ensure_path(dirfd, path, mode, uid, gid, true);
}

/* Removal recurses at most FS_REMOVE_DEPTH levels (a few fds and a small
 * frame each). A directory found deeper is moved up into the top of the
 * tree being removed and removed from there: a build step can nest
 * directories as deep as it likes, and its tree must still go, or every
 * later deploy would stop at the leftover. */
#define FS_REMOVE_DEPTH 64

struct remove_ctx {
	int top_fd;             /* the directory being removed */
	unsigned long moved;    /* deep directories moved up into it */
};

static int remove_children(struct remove_ctx *c, int fd, unsigned depth);

/* Moves dirfd/name into the top directory under a fresh name; the pass
 * over the top directory (or the next one) removes it from there. */
static int remove_move_up(struct remove_ctx *c, int dirfd, const char *name)
{
	char fresh[64];

	for (unsigned tries = 0; tries < 1000; tries++) {
		snprintf(fresh, sizeof(fresh), ".cutover-rm-%lu", c->moved++);
		if (renameat2(dirfd, name, c->top_fd, fresh, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == ENOENT)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int remove_entry(struct remove_ctx *c, int dirfd, const char *name, unsigned depth)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth >= FS_REMOVE_DEPTH)
		return remove_move_up(c, dirfd, name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = remove_children(c, fd, depth + 1);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int remove_children(struct remove_ctx *c, int fd, unsigned depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int err = fs_opendir(fd, &d);

	if (err < 0)
		return err;
	while ((errno = 0, de = readdir(d))) {
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = remove_entry(c, fd, de->d_name, depth);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

int fs_remove_tree(int dirfd, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	struct remove_ctx c = { .top_fd = -EBADF };

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	c.top_fd = fd;
	/* A pass may not list what it moved up itself; pass again while the
	 * last one moved something. Each pass removes what it reached, so
	 * this ends with the tree. */
	for (;;) {
		unsigned long before = c.moved;
		int r;

		/* The listing's dup shares fd's offset: each pass from the start. */
		if (lseek(fd, 0, SEEK_SET) < 0)
			return -errno;
		r = remove_children(&c, fd, 1);

		if (r < 0)
			return r;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		if (c.moved == before)
			return -ENOTEMPTY;
	}
}

int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode)
{
	char tmp[300];
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = str_printf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (r < 0)
		return r;
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
}

int fs_read_small(int dirfd, const char *name, char *buf, size_t n)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	ssize_t got;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	got = read(fd, buf, n - 1);
	if (got < 0)
		return -errno;
	buf[got] = '\0';
	return (int)got;
}

static int tree_size(int fd, unsigned depth, unsigned long long *sum)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int err;

	if (depth > FS_MAX_DEPTH)
		return -ELOOP;
	err = fs_opendir(fd, &d);
	if (err < 0)
		return err;
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			*sum += (unsigned long long)st.st_size;
		else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(fd, de->d_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				(void)tree_size(sub, depth + 1, sum);
		}
	}
	return 0;
}

int fs_tree_size(int dirfd, const char *name, unsigned long long *ret_bytes)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned long long sum = 0;
	int r;

	fd = fs_open_beneath(dirfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	r = tree_size(fd, 0, &sum);
	if (r < 0)
		return r;
	*ret_bytes = sum;
	return 0;
}
