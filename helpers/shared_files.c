/* SPDX-License-Identifier: MIT */
#include "shared_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "util.h"

/* Opens NAME without following a symlink and checks, on the fd, that it
 * is a directory or a regular file with exactly one link, owned by owner. */
static int open_checked(int dirfd, const char *name, bool is_dir, uid_t owner, struct stat *st)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (is_dir ? O_DIRECTORY : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;
	if (is_dir ? !S_ISDIR(st->st_mode) : (!S_ISREG(st->st_mode) || st->st_nlink != 1))
		return -EPERM;
	if (st->st_uid != owner)
		return -EPERM;
	return TAKE_FD(fd);
}

int shared_entry_adopt(int dirfd, const char *name, bool is_dir, bool seeded, uid_t uid, gid_t web_gid)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (!seeded && is_dir && mkdirat(dirfd, name, 0) < 0)
		return -errno;
	if (!seeded && !is_dir) {
		/* Exclusive: an existing name (a hard link planted in the
		 * meantime) is never opened, let alone chowned. */
		fd = openat(dirfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	} else {
		/* mkdir made it root's; a seed was the deploy user's file in
		 * the release. Anything else was swapped in meanwhile. */
		fd = open_checked(dirfd, name, is_dir, seeded ? uid : 0, &st);
		if (fd < 0)
			return fd;
	}
	if (fchown(fd, uid, web_gid) < 0 || fchmod(fd, is_dir ? 02770 : 0640) < 0)
		return -errno;
	return 0;
}

/* One entry of storage/logs, as shared_logs_fix describes. */
static void logs_fix_one(int logs_fd, const char *name, uid_t uid, gid_t web_gid)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	fd = openat(logs_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	/* One link: the file lives here only, not also in /etc or a home. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid == 0)
		return;
	if (st.st_uid == uid) {
		if (st.st_gid != web_gid && fchown(fd, (uid_t)-1, web_gid) < 0)
			return;
	} else if (st.st_gid != web_gid)
		return;
	if ((st.st_mode & 0060) != 0060)
		(void)fchmod(fd, (st.st_mode & 0777 & ~0007) | 0060);
}

int shared_logs_fix(int logs_fd, uid_t uid, gid_t web_gid)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	fd = openat(logs_fd, "laravel.log", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd >= 0) {
		/* Best effort, like the loop below: a log we cannot fix only
		 * weakens the exit-status check, which is verified anyway. */
		if (fchown(fd, uid, web_gid) < 0 || fchmod(fd, 0660) < 0)
			errno = 0;
		close(fd);
	}
	if (fs_opendir(logs_fd, &d) < 0)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			logs_fix_one(logs_fd, de->d_name, uid, web_gid);
	return 0;
}
