/* SPDX-License-Identifier: MIT */
/*
 * The content-addressed object store of an app, ROOT/.cutover/objects/
 * (root 0700, on the filesystem of releases/). Every regular file of a
 * frozen release is a hard link to an object there:
 *
 *   objects/XX/<sha256>-<mode>     XX the first two hex digits of the hash,
 *                                  mode 0440 or 0550 (octal, 4 digits);
 *                                  root:web_group, no other link than the
 *                                  store's and the releases'
 *
 * An object is a new inode the helper wrote itself (never an inode a build
 * step could have opened), so a descriptor kept by a build step reaches
 * nothing that is published. Identical files share one object, across
 * releases and within one. An object with one link (the store's) is
 * garbage: store_gc removes it, under the app lock.
 */
#ifndef CUTOVER_STORE_H
#define CUTOVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_DIGEST_LEN 32
/* "XX/" + 64 hex + "-" + 4 octal digits + NUL */
#define STORE_NAME_MAX (3 + 2 * STORE_DIGEST_LEN + 1 + 4 + 1)

struct store {
	int objects_fd;
	gid_t web_gid;
	unsigned char *buf;
	size_t buf_len;
	void *md;                 /* EVP_MD_CTX */
	unsigned long long copied, reused;   /* objects written, objects found */
};

/* The object mode of a file with st_mode: 0550 if any execute bit, else 0440. */
mode_t store_object_mode(mode_t st_mode);

/* "XX/<hex>-<mode>" for digest and mode (0440 or 0550). 0, or -EINVAL for
 * another mode, -ENAMETOOLONG if n is too small. */
int store_object_name(char *dst, size_t n, const unsigned char *digest, mode_t mode);

/* Parses a name as store_object_name makes it (the part after "XX/" or
 * the whole): 0 and the digest and mode, or -EINVAL. */
int store_object_parse(const char *name, unsigned char *ret_digest, mode_t *ret_mode);

int store_open(struct store *s, int objects_fd, gid_t web_gid);
void store_close(struct store *s);

/*
 * Copies src_fd (a regular file opened for reading) into a new inode in
 * the store, hashing exactly the bytes written (a clone, FICLONE, where the
 * filesystem can, then hashed from the clone, which only the helper holds),
 * owned root:web_gid with mode, mtime set to mtime (NULL: now), and links
 * it as its object name; if that object exists already (same content and
 * mode), the new inode is dropped and the existing object is used. At most
 * max_bytes are copied (-EFBIG beyond). ret_name: the object's name.
 */
int store_commit(struct store *s, int src_fd, mode_t mode, const struct timespec *mtime,
		 uint64_t max_bytes, unsigned char *ret_digest, uint64_t *ret_bytes,
		 char *ret_name, size_t name_len);

/* Hard-links object name as dirfd/entry. 0 or -errno. */
int store_link(const struct store *s, const char *name, int dirfd, const char *entry);

/*
 * Removes every object that only the store links (st_nlink == 1), stray
 * temporary files, and empty XX directories. The caller holds the app
 * lock, so no release is being linked meanwhile. Counts what went.
 */
int store_gc(int objects_fd, uint64_t *ret_objects, uint64_t *ret_bytes);

/* The store's totals: every object, and those only the store links (what
 * the next prune collects). Changes nothing. */
struct store_usage {
	uint64_t objects, bytes;
	uint64_t unlinked_objects, unlinked_bytes;
};
int store_usage(int objects_fd, struct store_usage *ret);

#endif
