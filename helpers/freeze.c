/* SPDX-License-Identifier: MIT */
#include "freeze.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define FREEZE_MAX_DEPTH 1024
#define HASH_BUF (256 * 1024)

struct walk {
	gid_t web_gid;
	const char *shared_prefix;
	int manifest_fd;
	struct freeze_stats st;
	char *err;
	size_t errlen;
	unsigned char *buf;
	EVP_MD_CTX *md;
	/* Manifest lines are buffered and written in large chunks. */
	char *out;
	size_t out_len, out_cap;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fail_path(struct walk *w, const char *path, const char *what)
{
	char shown[512];

	str_escape(shown, sizeof(shown), path, strlen(path));
	snprintf(w->err, w->errlen, "freeze: %s %s", shown, what);
}

static int out_flush(struct walk *w)
{
	int r = write_all(w->manifest_fd, w->out, w->out_len);

	w->out_len = 0;
	return r;
}

static int out_append(struct walk *w, const char *s, size_t len)
{
	if (w->out_len + len > w->out_cap) {
		int r = out_flush(w);
		if (r < 0)
			return r;
		if (len > w->out_cap)
			return write_all(w->manifest_fd, s, len);
	}
	memcpy(w->out + w->out_len, s, len);
	w->out_len += len;
	return 0;
}

/* sha256sum escapes a name holding '\\' or '\n' and marks the line with a
 * leading backslash; do the same so `sha256sum -c` accepts every line. */
static int manifest_add(struct walk *w, const unsigned char *digest,
			const char *path)
{
	char line[8192];
	size_t o = 0;
	bool esc = strpbrk(path, "\\\n") != NULL;

	if (esc)
		line[o++] = '\\';
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(line + o, 3, "%02x", digest[i]);
	line[o++] = ' ';
	line[o++] = ' ';
	for (const char *p = path; *p && o < sizeof(line) - 3; p++) {
		if (esc && *p == '\\') {
			line[o++] = '\\';
			line[o++] = '\\';
		} else if (esc && *p == '\n') {
			line[o++] = '\\';
			line[o++] = 'n';
		} else
			line[o++] = *p;
	}
	line[o++] = '\n';
	return out_append(w, line, o);
}

/* POSIX ACLs could grant write access that the mode bits do not show.
 * (File capabilities need no removal here: chown(2) has already cleared
 * security.capability, through the kernel's inode_killpriv.) */
static int strip_acls(int fd)
{
	static const char *const names[] = {
		"system.posix_acl_access", "system.posix_acl_default",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (fremovexattr(fd, names[i]) < 0 && errno != ENODATA &&
		    errno != EOPNOTSUPP)
			return -errno;
	return 0;
}

static int freeze_file(struct walk *w, int dirfd, const char *name,
		       const char *path, const struct stat *pre)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	struct stat st;
	mode_t mode;
	ssize_t n;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Re-check on the fd: the name may have been swapped since fstatat. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_ino != pre->st_ino || st.st_dev != pre->st_dev) {
		fail_path(w, path, "changed while being frozen");
		return -ESTALE;
	}
	if (st.st_nlink > 1) {
		fail_path(w, path, "has more than one hard link; a release must not share files with anything else");
		return -EMLINK;
	}
	/* Ownership first: chown clears setuid/setgid and file capabilities,
	 * and after it the former owner can no longer chmod the file. */
	if (fchown(fd, 0, w->web_gid) < 0)
		return -errno;
	mode = (st.st_mode & 0111) ? 0550 : 0440;
	if (fchmod(fd, mode) < 0)
		return -errno;
	r = strip_acls(fd);
	if (r < 0)
		return r;

	if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	while ((n = read(fd, w->buf, HASH_BUF)) > 0)
		if (EVP_DigestUpdate(w->md, w->buf, (size_t)n) != 1)
			return -EIO;
	if (n < 0)
		return -errno;
	if (EVP_DigestFinal_ex(w->md, digest, &dlen) != 1 || dlen != 32)
		return -EIO;
	w->st.files++;
	w->st.bytes += (unsigned long long)st.st_size;
	return manifest_add(w, digest, path);
}

static int freeze_dir(struct walk *w, int fd, const char *path, unsigned depth);

/* Lexically: does the target, from the link's directory, stay inside the
 * release? Absolute targets only below the shared prefix, without "..". */
static bool symlink_ok(const struct walk *w, const char *path, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/') {
		size_t n = strlen(w->shared_prefix);
		return n > 0 && strncmp(target, w->shared_prefix, n) == 0 &&
		       config_relpath_valid(target + n);
	}
	for (p = path; *p; p++)
		if (*p == '/')
			depth++;   /* directories above the link inside the release */
	for (p = target; *p; ) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (len > 0 && !(len == 1 && p[0] == '.'))
			depth++;
		p += len;
		while (*p == '/')
			p++;
	}
	return true;
}

static int freeze_entry(struct walk *w, int dirfd, const char *name,
			const char *path, unsigned depth)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return freeze_file(w, dirfd, name, path, &st);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (!symlink_ok(w, path, target)) {
			char shown[300];

			str_escape(shown, sizeof(shown), target, (size_t)n);
			fail_path(w, path, "is a symlink pointing outside the release");
			snprintf(w->err + strlen(w->err), w->errlen - strlen(w->err), " (-> %s)", shown);
			return -EPERM;
		}
		if (fchownat(dirfd, name, 0, w->web_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		w->st.symlinks++;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub = -EBADF;
		struct stat st2;

		if (depth >= FREEZE_MAX_DEPTH) {
			fail_path(w, path, "is nested too deeply");
			return -ELOOP;
		}
		sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return -errno;
		if (fstat(sub, &st2) < 0)
			return -errno;
		if (st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
			fail_path(w, path, "changed while being frozen");
			return -ESTALE;
		}
		return freeze_dir(w, sub, path, depth + 1);
	}
	fail_path(w, path, S_ISFIFO(st.st_mode) ? "is a fifo; a release holds only files, directories and symlinks" :
		  S_ISSOCK(st.st_mode) ? "is a socket; a release holds only files, directories and symlinks" :
		  "is a device node; a release holds only files, directories and symlinks");
	return -EPERM;
}

static int read_names(int fd, char ***ret, size_t *ret_n)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nv;
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			goto oom;
		n++;
	}
	if (errno) {
		int r = -errno;
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static int freeze_dir(struct walk *w, int fd, const char *path, unsigned depth)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	/* Lock the directory before listing it: once it is root:web 0550 no
	 * other user can add, remove or rename entries in it. */
	if (fchown(fd, 0, w->web_gid) < 0 || fchmod(fd, 0550) < 0)
		return -errno;
	r = strip_acls(fd);
	if (r < 0)
		return r;
	w->st.dirs++;
	r = read_names(fd, &names, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		char sub[4096];

		if (*path)
			r = str_printf(sub, sizeof(sub), "%s/%s", path, names[i]);
		else
			r = str_copy(sub, sizeof(sub), names[i]);
		if (r < 0) {
			fail_path(w, path, "has a path that is too long");
			break;
		}
		r = freeze_entry(w, fd, names[i], sub, depth);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int freeze_tree(int dirfd, gid_t web_gid, const char *shared_prefix, int manifest_fd,
		struct freeze_stats *ret, char *err, size_t errlen)
{
	struct walk w = {
		.web_gid = web_gid, .shared_prefix = shared_prefix, .manifest_fd = manifest_fd,
		.err = err, .errlen = errlen, .out_cap = 64 * 1024,
	};
	int r;

	err[0] = '\0';
	w.buf = malloc(HASH_BUF);
	w.out = malloc(w.out_cap);
	w.md = EVP_MD_CTX_new();
	if (!w.buf || !w.out || !w.md) {
		r = -ENOMEM;
		goto out;
	}
	r = freeze_dir(&w, dirfd, "", 0);
	if (r == 0)
		r = out_flush(&w);
	if (r == 0 && syncfs(dirfd) < 0)
		r = -errno;
	if (r == 0)
		*ret = w.st;
	else if (!err[0])
		snprintf(err, errlen, "freeze failed: %s", strerror(-r));
out:
	EVP_MD_CTX_free(w.md);
	free(w.buf);
	free(w.out);
	return r;
}
