/* SPDX-License-Identifier: MIT */
/*
 * Freezing a built release: after this nobody but root can change a byte
 * of it through the filesystem, and its manifest records what it holds.
 */
#ifndef CUTOVER_FREEZE_H
#define CUTOVER_FREEZE_H

#include <stddef.h>
#include <sys/types.h>

struct freeze_stats {
	unsigned long long bytes;
	unsigned long long files;
	unsigned long long dirs;
	unsigned long long symlinks;
	unsigned long long objects_new;   /* objects written (the rest were in the store) */
};

struct freeze_spec {
	int src_fd;                       /* the build's tree, .cutover/staging/ID */
	int dst_fd;                       /* the release to make, an empty directory */
	int objects_fd;                   /* .cutover/objects, same filesystem as dst_fd */
	gid_t web_gid;
	const char *shared_prefix;        /* "ROOT/shared/" */
	int sha_fd;                       /* receives the sha256sum(1) manifest */
	int manifest_fd;                  /* receives the entries file (helpers/manifest.h) */
	unsigned long long max_bytes;     /* [build] max_size */
	unsigned long long max_entries;   /* [build] max_files */
};

/*
 * Makes the release dst_fd from the build's tree src_fd, top-down. Each
 * directory of the build is made root:web_gid 0550 before its entries are
 * read, so no entry can be added behind the walk, and the same directory
 * is created in dst_fd (root:web_gid 0550). Every regular file is copied
 * into a new object of the store (helpers/store.h: root:web_gid, 0440, or
 * 0550 if it had any execute bit) and hard-linked from dst_fd; symlinks are
 * made again from their targets (root-owned). Nothing of the build's is
 * published: a descriptor a build step kept open reaches none of it.
 * A file with more than one hard link, or anything that is not a file,
 * directory or symlink, fails the freeze (naming it in err): it could be
 * shared with something outside the release. Each regular file's SHA-256
 * is written to sha_fd in sha256sum(1) format, names sorted, so
 * `sha256sum -c` run in the release verifies it, and every entry to
 * manifest_fd. Nothing is synced: the caller makes the tree and its
 * objects durable (one syncfs) before it publishes them.
 * A symlink must stay inside the release or point below shared_prefix
 * ("ROOT/shared/", the links cutover made itself): a build step could
 * otherwise publish, say, another app's .env through the web server,
 * which follows symlinks. Relative links are judged as the kernel
 * resolves them (a ".." after a symlink climbs from where that symlink
 * led), in the finished tree dst_fd.
 * -EFBIG (err empty) when the release exceeds max_bytes or max_entries;
 * ret holds the counts so far in every case.
 */
int freeze_tree(const struct freeze_spec *spec, struct freeze_stats *ret, char *err, size_t errlen);

#endif
