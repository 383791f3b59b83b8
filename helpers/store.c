/* SPDX-License-Identifier: MIT */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "util.h"

#define STORE_BUF (256 * 1024)
#define STORE_TMP_PREFIX ".tmp-"

mode_t store_object_mode(mode_t st_mode)
{
	return (st_mode & 0111) ? 0550 : 0440;
}

int store_object_name(char *dst, size_t n, const unsigned char *digest, mode_t mode)
{
	char hex[2 * STORE_DIGEST_LEN + 1];

	if (mode != 0440 && mode != 0550)
		return -EINVAL;
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return str_printf(dst, n, "%.2s/%s-%04o", hex, hex, (unsigned)mode);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int store_object_parse(const char *name, unsigned char *ret_digest, mode_t *ret_mode)
{
	unsigned char d[STORE_DIGEST_LEN];
	const char *p = name;

	if (strlen(name) == STORE_NAME_MAX - 1) {
		if (name[0] != name[3] || name[1] != name[4] || name[2] != '/')
			return -EINVAL;
		p = name + 3;
	}
	if (strlen(p) != 2 * STORE_DIGEST_LEN + 5 || p[2 * STORE_DIGEST_LEN] != '-')
		return -EINVAL;
	for (int i = 0; i < STORE_DIGEST_LEN; i++) {
		int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		d[i] = (unsigned char)(hi << 4 | lo);
	}
	p += 2 * STORE_DIGEST_LEN + 1;
	if (strcmp(p, "0440") != 0 && strcmp(p, "0550") != 0)
		return -EINVAL;
	memcpy(ret_digest, d, sizeof(d));
	*ret_mode = p[1] == '4' ? 0440 : 0550;
	return 0;
}

int store_open(struct store *s, int objects_fd, gid_t web_gid)
{
	*s = (struct store){ .objects_fd = objects_fd, .web_gid = web_gid, .buf_len = STORE_BUF };
	s->buf = malloc(STORE_BUF);
	s->md = EVP_MD_CTX_new();
	if (!s->buf || !s->md) {
		store_close(s);
		return -ENOMEM;
	}
	return 0;
}

void store_close(struct store *s)
{
	free(s->buf);
	EVP_MD_CTX_free(s->md);
	s->buf = NULL;
	s->md = NULL;
}

/* A new, nameless inode in the store (O_TMPFILE), or, where the filesystem
 * has none, a temporary name that *ret_tmp holds (removed by the caller,
 * or collected by store_gc after a crash). */
static int store_new_inode(const struct store *s, char *ret_tmp, size_t n)
{
	static unsigned long counter;
	int fd;

	ret_tmp[0] = '\0';
	fd = openat(s->objects_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : -errno;
	snprintf(ret_tmp, n, STORE_TMP_PREFIX "%d-%lu", (int)getpid(), ++counter);
	fd = openat(s->objects_fd, ret_tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret_tmp[0] = '\0';
		return -errno;
	}
	return fd;
}

/* Fills dst from src and hashes exactly what dst holds. A clone shares
 * the source's blocks copy-on-write: writes through the build's
 * descriptors never reach it, and it is hashed from our own fd. */
static int store_fill(struct store *s, int dst, int src, uint64_t max_bytes,
		      unsigned char *digest, uint64_t *ret_bytes)
{
	EVP_MD_CTX *md = s->md;
	bool cloned = ioctl(dst, FICLONE, src) == 0;
	int from = cloned ? dst : src;
	uint64_t total = 0;
	unsigned dlen = 0;
	ssize_t got;

	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -EIO;
	while ((got = pread(from, s->buf, s->buf_len, (off_t)total)) > 0) {
		total += (uint64_t)got;
		if (total > max_bytes)
			return -EFBIG;
		if (EVP_DigestUpdate(md, s->buf, (size_t)got) != 1)
			return -EIO;
		if (!cloned && write_all(dst, s->buf, (size_t)got) < 0)
			return -errno;
	}
	if (got < 0)
		return -errno;
	/* The source may have grown after the clone: the object is what was
	 * cloned, and exactly that was hashed. */
	if (cloned && ftruncate(dst, (off_t)total) < 0)
		return -errno;
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != STORE_DIGEST_LEN)
		return -EIO;
	*ret_bytes = total;
	return 0;
}

/* Do the files open at a and b hold the same size bytes? Both are in the
 * page cache: one was just written, the other is an object in use. */
static bool store_same_bytes(int a, int b, off_t size)
{
	_cleanup_free_ char *x = malloc(65536), *y = malloc(65536);

	if (!x || !y)
		return false;
	for (off_t off = 0; off < size; ) {
		ssize_t n = pread(a, x, 65536, off), m;

		if (n <= 0 || (m = pread(b, y, (size_t)n, off)) != n || memcmp(x, y, (size_t)n) != 0)
			return false;
		off += n;
	}
	return true;
}

/*
 * Is dirfd/base an object as we make them (a file, root:web, mode) with
 * the bytes of fd, the new inode of the same name? A damaged object (its
 * content changed behind the store's back) is replaced, not reused, so a
 * redeploy repairs it instead of publishing it again.
 */
static bool store_object_sound(const struct store *s, int dirfd, const char *base, mode_t mode, int fd)
{
	_cleanup_close_ int obj = -EBADF;
	struct stat st, mine;

	obj = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (obj < 0 || fstat(obj, &st) < 0 || fstat(fd, &mine) < 0)
		return false;
	return S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_gid == s->web_gid &&
	       (st.st_mode & 07777) == mode && st.st_size == mine.st_size &&
	       store_same_bytes(obj, fd, st.st_size);
}

/* Gives fd (a new object) the name dirfd/base. 1 if an object of that
 * name exists (left as it is), 0 if fd now has the name. */
static int store_name_inode(int fd, const char *tmp, int objects_fd, int dirfd, const char *base)
{
	char proc[64];

	if (tmp[0]) {
		if (renameat2(objects_fd, tmp, dirfd, base, RENAME_NOREPLACE) == 0)
			return 0;
		return errno == EEXIST ? 1 : -errno;
	}
	if (linkat(fd, "", dirfd, base, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST)
		return 1;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dirfd, base, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return errno == EEXIST ? 1 : -errno;
}

/* Replaces a damaged object (wrong type, owner or mode: only root could
 * have done it) by fd, through a temporary name and rename. */
static int store_replace(int fd, const char *tmp, int objects_fd, int dirfd, const char *base)
{
	char t[64];
	int r;

	if (tmp[0])
		return renameat(objects_fd, tmp, dirfd, base) < 0 ? -errno : 0;
	snprintf(t, sizeof(t), STORE_TMP_PREFIX "%d-r", (int)getpid());
	(void)unlinkat(dirfd, t, 0);
	r = store_name_inode(fd, "", objects_fd, dirfd, t);
	if (r != 0)
		return r < 0 ? r : -EEXIST;
	if (renameat(dirfd, t, dirfd, base) < 0) {
		r = -errno;
		(void)unlinkat(dirfd, t, 0);
		return r;
	}
	return 0;
}

static int store_publish(struct store *s, int fd, const char *tmp, const char *name, mode_t mode)
{
	_cleanup_close_ int dfd = -EBADF;
	char sub[3] = { name[0], name[1], '\0' };
	const char *base = name + 3;
	int r;

	if (mkdirat(s->objects_fd, sub, 0700) < 0 && errno != EEXIST)
		return -errno;
	dfd = openat(s->objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = store_name_inode(fd, tmp, s->objects_fd, dfd, base);
	if (r <= 0) {
		s->copied += r == 0;
		return r;
	}
	/* Deduplicated: the new inode goes when fd is closed (O_TMPFILE) or
	 * its temporary name is removed. */
	if (!store_object_sound(s, dfd, base, mode, fd))
		return store_replace(fd, tmp, s->objects_fd, dfd, base);
	if (tmp[0])
		(void)unlinkat(s->objects_fd, tmp, 0);
	s->reused++;
	return 0;
}

/* Hashes what src holds now (at most max_bytes). */
static int store_hash_source(struct store *s, int src, uint64_t max_bytes, unsigned char *digest,
			     uint64_t *ret_bytes)
{
	uint64_t total = 0;
	unsigned dlen = 0;
	ssize_t got;

	if (EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	while ((got = pread(src, s->buf, s->buf_len, (off_t)total)) > 0) {
		total += (uint64_t)got;
		if (total > max_bytes)
			return -EFBIG;
		if (EVP_DigestUpdate(s->md, s->buf, (size_t)got) != 1)
			return -EIO;
	}
	if (got < 0)
		return -errno;
	if (EVP_DigestFinal_ex(s->md, digest, &dlen) != 1 || dlen != STORE_DIGEST_LEN)
		return -EIO;
	*ret_bytes = total;
	return 0;
}

/*
 * Hash first: most files of a new release are in the store already. When
 * an object named by the hash of the build's file exists, is sound, and
 * holds the bytes the file holds now, it is reused with no copy. Nothing
 * of the build is published either way: a reused object is the store's
 * own inode, and its bytes are the ones hashed (a file changed between
 * the hash and the comparison is copied instead). 1 reused, 0 not.
 */
static int store_reuse(struct store *s, int src, mode_t mode, uint64_t max_bytes, unsigned char *digest,
		       uint64_t *ret_bytes, char *name, size_t name_len)
{
	_cleanup_close_ int dfd = -EBADF, obj = -EBADF;
	char sub[3];
	struct stat st;
	uint64_t total = 0;
	int r;

	r = store_hash_source(s, src, max_bytes, digest, &total);
	if (r == 0)
		r = store_object_name(name, name_len, digest, mode);
	if (r < 0)
		return r;
	sub[0] = name[0], sub[1] = name[1], sub[2] = '\0';
	dfd = openat(s->objects_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0)
		obj = openat(dfd, name + 3, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	/* Anything amiss: the copy below makes (or replaces) the object. */
	if (obj < 0 || fstat(obj, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    st.st_gid != s->web_gid || (st.st_mode & 07777) != mode || (uint64_t)st.st_size != total ||
	    !store_same_bytes(obj, src, st.st_size))
		return 0;
	*ret_bytes = total;
	s->reused++;
	return 1;
}

int store_commit(struct store *s, int src_fd, mode_t mode, const struct timespec *mtime,
		 uint64_t max_bytes, unsigned char *ret_digest, uint64_t *ret_bytes,
		 char *ret_name, size_t name_len)
{
	_cleanup_close_ int fd = -EBADF;
	char tmp[64];
	int r;

	r = store_reuse(s, src_fd, mode, max_bytes, ret_digest, ret_bytes, ret_name, name_len);
	if (r != 0)
		return r < 0 ? r : 0;
	fd = store_new_inode(s, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = store_fill(s, fd, src_fd, max_bytes, ret_digest, ret_bytes);
	/* Ownership before the mode and before any name: the object is
	 * never, not even briefly, anyone's but root's. */
	if (r == 0 && (fchown(fd, 0, s->web_gid) < 0 || fchmod(fd, mode) < 0))
		r = -errno;
	if (r == 0 && mtime) {
		struct timespec t[2] = { *mtime, *mtime };

		if (futimens(fd, t) < 0)
			r = -errno;
	}
	if (r == 0)
		r = store_object_name(ret_name, name_len, ret_digest, mode);
	if (r == 0)
		r = store_publish(s, fd, tmp, ret_name, mode);
	if (r < 0 && tmp[0])
		(void)unlinkat(s->objects_fd, tmp, 0);
	return r;
}

int store_link(const struct store *s, const char *name, int dirfd, const char *entry)
{
	return linkat(s->objects_fd, name, dirfd, entry, 0) < 0 ? -errno : 0;
}

/* One XX directory of the store. */
/* What a walk of the store does with each object. */
struct store_walk {
	bool collect;                     /* remove what no release links */
	struct store_usage *u;
};

static int store_walk_dir(int dfd, const struct store_walk *w)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = fs_opendir(dfd, &d);
	if (r < 0)
		return r;
	while ((errno = 0, de = readdir(d))) {
		uint64_t size;
		struct stat st;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
		w->u->objects++;
		w->u->bytes += size;
		/* Only the store links it: no release does any more. */
		if (S_ISREG(st.st_mode) && st.st_nlink > 1)
			continue;
		if (w->collect && unlinkat(dfd, de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 &&
		    errno != ENOENT && errno != ENOTEMPTY)
			return -errno;
		w->u->unlinked_objects++;
		w->u->unlinked_bytes += size;
	}
	return errno ? -errno : 0;
}

static int store_walk(int objects_fd, const struct store_walk *w)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	*w->u = (struct store_usage){ 0 };
	r = fs_opendir(objects_fd, &d);
	if (r < 0)
		return r;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		_cleanup_close_ int dfd = -EBADF;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		/* Temporary files of a run that crashed. */
		if (strncmp(de->d_name, STORE_TMP_PREFIX, strlen(STORE_TMP_PREFIX)) == 0) {
			if (w->collect && unlinkat(objects_fd, de->d_name, 0) < 0 && errno != ENOENT)
				r = -errno;
			continue;
		}
		dfd = openat(objects_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;   /* not ours to judge */
		r = store_walk_dir(dfd, w);
		if (r == 0 && w->collect)
			(void)unlinkat(objects_fd, de->d_name, AT_REMOVEDIR);   /* if empty */
	}
	if (r == 0 && errno)
		r = -errno;
	return r;
}

int store_gc(int objects_fd, uint64_t *ret_objects, uint64_t *ret_bytes)
{
	struct store_usage u;
	int r;

	r = store_walk(objects_fd, &(struct store_walk){ .collect = true, .u = &u });
	if (ret_objects)
		*ret_objects = u.unlinked_objects;
	if (ret_bytes)
		*ret_bytes = u.unlinked_bytes;
	return r;
}

int store_usage(int objects_fd, struct store_usage *ret)
{
	return store_walk(objects_fd, &(struct store_walk){ .collect = false, .u = ret });
}
