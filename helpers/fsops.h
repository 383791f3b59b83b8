/* SPDX-License-Identifier: MIT */
/*
 * fd-relative filesystem primitives for the privileged helper. Every path
 * here is relative to a pinned directory fd and is resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or names a single
 * component used with an *at() call and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW.
 * A symlink planted anywhere below the pinned fd is never followed.
 */
#ifndef CUTOVER_FSOPS_H
#define CUTOVER_FSOPS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* openat2 beneath dirfd, no symlinks anywhere, O_CLOEXEC|O_NOFOLLOW added. */
int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* Opens dirfd/name as a directory (creating it if missing) and forces
 * owner, group and mode on it. Returns an O_DIRECTORY fd or -errno. */
int fs_ensure_dir(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid);

/* Like fs_ensure_dir for a relative path of several components; parents
 * are created with the same owner and mode. */
/*
 * A directory stream on a duplicate of dirfd, from its first entry: the
 * duplicate shares the file offset, which an earlier walk of the same
 * pinned fd left at the end. 0 or -errno; *ret is closedir's.
 */
int fs_opendir(int dirfd, DIR **ret);

int fs_ensure_path(int dirfd, const char *path, mode_t mode, uid_t uid, gid_t gid);
/* The same in a tree another user can write (shared/storage): a directory
 * that already exists is changed only if uid owns it already, else left
 * as it is; a new one is created with owner and mode. */
int fs_ensure_path_own(int dirfd, const char *path, mode_t mode, uid_t uid, gid_t gid);

/*
 * Removes dirfd/name and, if it is a directory, everything below it,
 * without following symlinks. ENOENT is success. Any depth: the
 * recursion is bounded, deeper directories are moved up and removed later.
 */
int fs_remove_tree(int dirfd, const char *name);

/* Writes data to dirfd/name atomically: a temporary file in the same
 * directory, fsync, rename over name, fsync of the directory. */
int fs_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		    mode_t mode);

/* Reads a small regular file (at most n-1 bytes) into buf, NUL-terminated. */
int fs_read_small(int dirfd, const char *name, char *buf, size_t n);

/* Sums st_size of regular files below dirfd/name (for reporting). */
int fs_tree_size(int dirfd, const char *name, unsigned long long *ret_bytes);

#endif
