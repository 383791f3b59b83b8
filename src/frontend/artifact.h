/* SPDX-License-Identifier: MIT */
/*
 * Release sources: detecting what --from names, and importing it into a
 * staging directory without privileges. Runs in the front end (the app's
 * deploy user, no capabilities) or, for reading the source itself, in the
 * source reader (the invoking user's credentials). Nothing here ever
 * resolves a path outside the directory fd it is given.
 */
#ifndef CUTOVER_ARTIFACT_H
#define CUTOVER_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum source_kind {
	SOURCE_DIR = 1,      /* a directory tree */
	SOURCE_TARBALL,      /* .tar .tar.gz .tgz .tar.zst .tar.xz */
	SOURCE_GIT,          /* git+URL#REF */
};

/* Classifies --from by its syntax alone. -EINVAL with a reason in err for
 * an empty value, an unknown archive suffix (.zip, .rar, .7z, .tar.bz3…) or
 * a git+ URL without #REF. A path that is neither an archive name nor git
 * is SOURCE_DIR; the caller confirms it is a directory after opening it. */
int source_detect(const char *from, enum source_kind *ret_kind, char *err,
		  size_t errlen);

/* Splits "git+URL#REF" into url and ref. */
int source_git_split(const char *from, char *url, size_t urln, char *ref,
		     size_t refn);

struct extract_limits {
	unsigned long long max_bytes;    /* total regular-file bytes */
	unsigned long long max_entries;  /* members of any type */
};

struct extract_stats {
	unsigned long long bytes;
	unsigned long long files;
	unsigned long long dirs;
	unsigned long long symlinks;
};

/*
 * Checks one archive member before anything is written: the path is
 * relative, has no "." or ".." component and no empty component, each
 * component is shorter than 256 bytes, the whole is shorter than 4096;
 * the type is a regular file, a directory, a symlink or a hard link; no
 * setuid or setgid bit; a symlink's target is relative and, resolved
 * lexically from the member's directory, stays inside the release; a hard
 * link's target obeys the same path rules. Pure function, no I/O.
 * Returns 0 or -EINVAL with "member NAME: reason" (NAME escaped) in err.
 */
int artifact_check_member(const char *path, mode_t mode, const char *link_target,
			  bool hardlink, char *err, size_t errlen);

/*
 * Reads an archive (any format and compression libarchive detects among
 * tar/pax/ustar/gnutar with none/gzip/zstd/xz) from in_fd and creates its
 * members under dirfd, every path resolved with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) relative to dirfd. Files are created 0644 or 0755,
 * directories 0755, owned by the caller; no ownership, xattr, ACL or device
 * is ever restored. A member carrying a security.capability xattr, a
 * device/fifo/socket, a setuid/setgid bit, a path through a symlink, a
 * duplicate, or exceeding the limits rejects the whole source: returns
 * -EINVAL (or -EFBIG for limits) with a one-line reason naming the member.
 * The caller removes the partial tree.
 */
int artifact_extract_fd(int in_fd, int dirfd, const struct extract_limits *lim,
			struct extract_stats *ret_stats, char *err, size_t errlen);

/*
 * Writes the tree below dirfd to out_fd as an uncompressed pax archive
 * (regular files, directories and symlinks as they are; special files are
 * written too so that the extracting side rejects them by name).
 */
int artifact_stream_dir(int dirfd, int out_fd, char *err, size_t errlen);


/*
 * Applies the member rules to a tree that something other than
 * artifact_extract_fd wrote (a git checkout): the same checks per entry,
 * and file and directory modes normalised. 0 or -EINVAL naming the entry.
 */
int artifact_check_tree(int dirfd, char *err, size_t errlen);

#endif
