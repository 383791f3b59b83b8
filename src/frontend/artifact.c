/* SPDX-License-Identifier: MIT */
/*
 * Release sources. The extractor is the part that faces hostile input: it
 * never lets libarchive touch the file system (no archive_write_disk), and
 * creates every member itself relative to a directory fd, resolving parents
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) so that neither a
 * crafted name nor a symlink planted by an earlier member can reach outside
 * the staging directory. Kernel >= 5.6 for openat2.
 */
#include "artifact.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "names.h"
#include "output.h"
#include "util.h"

#define MEMBER_PATH_MAX 4096   /* whole path, including the NUL */
#define MEMBER_NAME_MAX 256    /* one component, including the NUL */
#define READ_BLOCK (256 * 1024)
#define COPY_BUFFER (128 * 1024)
#define NAME_SHOWN_MAX 320     /* escaped names in messages are cut here */
#define GIT_BIN "/usr/bin/git"

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static void archive_entry_freep(struct archive_entry **e)
{
	if (*e)
		archive_entry_free(*e);
}

static __attribute__((format(printf, 4, 5)))
int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Renders an untrusted name for a message; "" stays visible as "". */
static void show(char *dst, size_t n, const char *name)
{
	if (!name || !*name) {
		str_copy(dst, n, "\"\"");
		return;
	}
	str_escape(dst, n, name, strlen(name));
}

static __attribute__((format(printf, 5, 6)))
int fail_member(char *err, size_t errlen, int r, const char *name,
		const char *fmt, ...)
{
	char shown[NAME_SHOWN_MAX];
	va_list ap;
	int off;

	if (!err || errlen == 0)
		return r;
	show(shown, sizeof(shown), name);
	off = snprintf(err, errlen, "member %s: ", shown);
	if (off >= 0 && (size_t)off < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- --from syntax ------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/* The URL ends at the first '#': in a URL that is always the fragment. */
static int git_split(const char *from, char *url, size_t urln, char *ref,
		     size_t refn, const char **ret_problem)
{
	const char *rest, *hash;
	const char *problem;
	size_t ulen;

	*ret_problem = NULL;
	if (!from || strncmp(from, "git+", 4) != 0) {
		*ret_problem = "it does not start with git+";
		return -EINVAL;
	}
	rest = from + 4;
	hash = strchr(rest, '#');
	if (!hash) {
		*ret_problem = "#REF is missing (git+URL#branch, tag or commit id)";
		return -EINVAL;
	}
	ulen = (size_t)(hash - rest);
	if (ulen >= urln) {
		*ret_problem = "the URL is too long";
		return -ENAMETOOLONG;
	}
	memcpy(url, rest, ulen);
	url[ulen] = '\0';
	problem = git_url_problem(url);
	if (!problem && has_control(hash + 1))
		problem = "REF contains control characters";
	if (!problem)
		problem = git_ref_problem(hash + 1);
	if (problem) {
		*ret_problem = problem;
		return -EINVAL;
	}
	if (str_copy(ref, refn, hash + 1) < 0) {
		*ret_problem = "REF is too long";
		return -ENAMETOOLONG;
	}
	return 0;
}

int source_git_split(const char *from, char *url, size_t urln, char *ref,
		     size_t refn)
{
	const char *problem;

	return git_split(from, url, urln, ref, refn, &problem);
}

static const char *const tarball_suffixes[] = {
	".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz",
};

/* Names that are clearly archives but not ones we read: better a clear
 * refusal now than "not a directory" after opening. */
static const char *const other_archive_suffixes[] = {
	".zip", ".rar", ".7z", ".jar", ".war", ".phar", ".cpio", ".iso",
	".deb", ".rpm", ".gz", ".bz2", ".xz", ".zst", ".zstd", ".lz",
	".lzma", ".lz4", ".Z", ".tbz", ".tbz2", ".tb2", ".txz", ".tzst",
	".tlz", ".taz",
};

int source_detect(const char *from, enum source_kind *ret_kind, char *err,
		  size_t errlen)
{
	char shown[NAME_SHOWN_MAX], url[MEMBER_PATH_MAX], ref[MEMBER_PATH_MAX];
	const char *base, *tar, *problem;
	bool unsupported = false;
	size_t len;
	int r;

	if (!from || !*from)
		return fail(err, errlen, -EINVAL,
			    "--from is empty; give a directory, a .tar[.gz|.zst|.xz] file or git+URL#REF");
	show(shown, sizeof(shown), from);

	if (strncmp(from, "git+", 4) == 0) {
		r = git_split(from, url, sizeof(url), ref, sizeof(ref), &problem);
		if (r < 0)
			return fail(err, errlen, r, "--from %s: %s", shown, problem);
		*ret_kind = SOURCE_GIT;
		return 0;
	}

	len = strlen(from);
	/* "release.tar/" can only mean a directory. */
	if (from[len - 1] == '/') {
		*ret_kind = SOURCE_DIR;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(tarball_suffixes); i++)
		if (has_suffix(from, tarball_suffixes[i])) {
			*ret_kind = SOURCE_TARBALL;
			return 0;
		}

	base = strrchr(from, '/');
	base = base ? base + 1 : from;
	for (size_t i = 0; i < ELEMENTSOF(other_archive_suffixes); i++)
		if (has_suffix(base, other_archive_suffixes[i]))
			unsupported = true;
	/* x.tar.bz3: a tar compressed with something we do not read. */
	tar = strcasestr(base, ".tar.");
	if (tar && !strchr(tar + 5, '.'))
		unsupported = true;
	if (unsupported)
		return fail(err, errlen, -EINVAL,
			    "--from %s: unsupported archive type; use a directory, .tar, .tar.gz, .tgz, .tar.zst, .tar.xz or git+URL#REF",
			    shown);
	*ret_kind = SOURCE_DIR;
	return 0;
}

/* ---- member validation ------------------------------------------------- */

static const char *path_problem(const char *path)
{
	size_t len;

	if (!path || !*path)
		return "empty path";
	len = strlen(path);
	if (len >= MEMBER_PATH_MAX)
		return "path is longer than 4095 bytes";
	if (path[0] == '/')
		return "absolute path; members must be relative to the release";
	for (const char *p = path; ; ) {
		const char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);

		if (clen == 0)
			return "empty path component";
		if (clen >= MEMBER_NAME_MAX)
			return "a path component is longer than 255 bytes";
		if (clen == 1 && p[0] == '.')
			return "'.' path component";
		if (clen == 2 && p[0] == '.' && p[1] == '.')
			return "'..' path component";
		if (!slash)
			break;
		p = slash + 1;
	}
	return NULL;
}

/*
 * A symlink target is judged lexically, so ".." may only lead the target:
 * with "a/b/c -> ../.." (the release root) in place, "x -> a/b/c/.." looks
 * like it stays inside yet the kernel resolves c first and ends one level
 * above the release. Leading ".." steps climb through real directories we
 * created without symlinks, so counting them is exact.
 */
static const char *symlink_problem(const char *path, const char *target)
{
	size_t depth = 0;
	bool leading = true;

	if (!target || !*target)
		return "symlink with an empty target";
	if (strlen(target) >= MEMBER_PATH_MAX)
		return "symlink target is longer than 4095 bytes";
	if (target[0] == '/')
		return "symlink target is absolute; it must be relative and stay inside the release";
	for (const char *p = path; *p; p++)
		if (*p == '/')
			depth++;
	for (const char *p = target; ; ) {
		const char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);

		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (!leading)
				return "symlink target has '..' after a directory name; only leading '../' is allowed";
			if (depth == 0)
				return "symlink target points outside the release";
			depth--;
		} else if (clen >= MEMBER_NAME_MAX) {
			return "symlink target has a component longer than 255 bytes";
		} else if (clen > 0 && !(clen == 1 && p[0] == '.')) {
			leading = false;
			depth++;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	return NULL;
}

static const char *type_problem(mode_t mode, bool hardlink)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return NULL;
	case 0:
		/* Hard-link entries carry no type of their own in some formats. */
		return hardlink ? NULL : "member has no file type";
	case S_IFDIR:
	case S_IFLNK:
		return hardlink ? "hard link to something other than a regular file" : NULL;
	case S_IFCHR:
		return "character device; a release may only contain files, directories and symlinks";
	case S_IFBLK:
		return "block device; a release may only contain files, directories and symlinks";
	case S_IFIFO:
		return "fifo; a release may only contain files, directories and symlinks";
	case S_IFSOCK:
		return "socket; a release may only contain files, directories and symlinks";
	default:
		return "unknown file type";
	}
}

/* Same as artifact_check_member, but names the member as it appears in
 * the archive (display) while checking its normalised path. */
static int check_member(const char *display, const char *path, mode_t mode,
			const char *link_target, bool hardlink, char *err,
			size_t errlen)
{
	char shown[NAME_SHOWN_MAX];
	const char *problem;

	problem = path_problem(path);
	if (!problem)
		problem = type_problem(mode, hardlink);
	if (!problem && (mode & (S_ISUID | S_ISGID)))
		problem = (mode & S_ISUID) ? "setuid bit set" : "setgid bit set";
	if (problem)
		return fail_member(err, errlen, -EINVAL, display, "%s", problem);

	if (hardlink) {
		problem = path_problem(link_target);
		if (problem) {
			show(shown, sizeof(shown), link_target);
			return fail_member(err, errlen, -EINVAL, display,
					   "hard link target %s: %s", shown, problem);
		}
	} else if (S_ISLNK(mode)) {
		problem = symlink_problem(path, link_target);
		if (problem) {
			show(shown, sizeof(shown), link_target);
			return fail_member(err, errlen, -EINVAL, display,
					   "%s (-> %s)", problem, shown);
		}
	}
	return 0;
}

int artifact_check_member(const char *path, mode_t mode, const char *link_target,
			  bool hardlink, char *err, size_t errlen)
{
	return check_member(path, path, mode, link_target, hardlink, err, errlen);
}

/* ---- extraction -------------------------------------------------------- */

struct extractor {
	struct archive *archive;
	int root_fd;
	/* The directory of the previous member, kept open because archives
	 * list a directory's files together: most members skip the lookup. */
	int parent_fd;
	char parent_path[MEMBER_PATH_MAX];
	const struct extract_limits *lim;
	struct extract_stats stats;
	unsigned long long entries;   /* members, plus parents created for them */
	const char *name;          /* the member as written in the archive */
	char *err;
	size_t errlen;
};

/*
 * Archives made with "tar -C dir -cf x.tar ." name members "./app/x" and
 * contain "." itself; directories often carry a trailing "/". Those are
 * spelling, not structure, so they are removed before the strict checks.
 * An absolute name is left alone for the checks to reject.
 */
static int normalize_member_path(const char *raw, char *out, size_t n,
				 bool *ret_is_root)
{
	const char *p = raw;
	size_t len;

	*ret_is_root = false;
	if (p[0] != '/')
		while (p[0] == '.' && p[1] == '/') {
			p += 2;
			while (*p == '/')
				p++;
		}
	if (str_copy(out, n, p) < 0)
		return -ENAMETOOLONG;
	len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	if (raw[0] != '\0' && raw[0] != '/' && (len == 0 || strcmp(out, ".") == 0))
		*ret_is_root = true;
	return 0;
}

static int parent_error(struct extractor *x, int r, const char *dir)
{
	char shown[NAME_SHOWN_MAX];

	show(shown, sizeof(shown), dir);
	switch (r) {
	case -ELOOP:
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "path passes through a symlink (%s)", shown);
	case -ENOTDIR:
	case -EEXIST:
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "a parent (%s) is not a directory", shown);
	case -EXDEV:
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "path escapes the release");
	default:
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot open its directory %s: %s", shown,
				   strerror(-r));
	}
}

/* Takes ownership of fd. dir always fits: it is a prefix of a checked path. */
static void parent_cache_set(struct extractor *x, int fd, const char *dir)
{
	closep(&x->parent_fd);
	x->parent_fd = fd;
	if (str_copy(x->parent_path, sizeof(x->parent_path), dir) < 0) {
		closep(&x->parent_fd);
		x->parent_fd = -EBADF;
	}
}

/* Walks dir one component at a time, creating what is missing. */
static int parents_create(struct extractor *x, const char *dir)
{
	char buf[MEMBER_PATH_MAX];
	_cleanup_close_ int cur = -EBADF;
	char *p, *slash;

	if (str_copy(buf, sizeof(buf), dir) < 0)
		return -ENAMETOOLONG;
	cur = open_beneath(x->root_fd, ".", O_PATH | O_DIRECTORY, 0);
	if (cur < 0)
		return cur;
	for (p = buf; p; p = slash ? slash + 1 : NULL) {
		_cleanup_close_ int next = -EBADF;
		bool created = false;

		slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (mkdirat(cur, p, 0755) == 0)
			created = true;
		else if (errno != EEXIST)
			return -errno;
		next = open_beneath(cur, p, O_RDONLY | O_DIRECTORY, 0);
		if (next < 0)
			return next;
		if (created) {
			/* mkdirat honours the umask; releases are 0755. */
			if (fchmod(next, 0755) < 0)
				return -errno;
			x->stats.dirs++;
			/* One member may name 2,000 missing parents: they
			 * count as entries, or max_entries would not bound
			 * the inodes an archive can create. */
			if (++x->entries > x->lim->max_entries)
				return fail_member(x->err, x->errlen, -EFBIG, x->name,
						   "with the parent directories it implies, the archive has more than %llu entries",
						   x->lim->max_entries);
		}
		closep(&cur);
		cur = TAKE_FD(next);
		if (slash)
			*slash = '/';
	}
	return TAKE_FD(cur);
}

/* Returns the (cached) fd of dir, "" meaning the root; not owned by caller. */
static int parent_get(struct extractor *x, const char *dir)
{
	int fd;

	if (x->parent_fd >= 0 && strcmp(dir, x->parent_path) == 0)
		return x->parent_fd;
	fd = open_beneath(x->root_fd, *dir ? dir : ".", O_PATH | O_DIRECTORY, 0);
	if (fd == -ENOENT) {
		fd = parents_create(x, dir);
		if (fd == -EFBIG)
			return fd;   /* the message is written */
	}
	if (fd < 0)
		return parent_error(x, fd, dir);
	parent_cache_set(x, fd, dir);
	return x->parent_fd;
}

static int charge_bytes(struct extractor *x, unsigned long long n)
{
	char limit[32];

	if (n > x->lim->max_bytes - x->stats.bytes) {
		format_size(limit, sizeof(limit), x->lim->max_bytes);
		return fail_member(x->err, x->errlen, -EFBIG, x->name,
				   "the release would exceed its size limit of %s (%llu bytes)",
				   limit, x->lim->max_bytes);
	}
	x->stats.bytes += n;
	return 0;
}

static mode_t file_mode(mode_t archive_mode)
{
	return (archive_mode & 0111) ? 0755 : 0644;
}

static int file_create(struct extractor *x, int parent, const char *base,
		       mode_t mode)
{
	int fd;

	fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		int r = -errno;

		if (r == -EEXIST)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "duplicate member; the path already exists");
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot create it: %s", strerror(-r));
	}
	/* openat honours the umask; the release's modes must not depend on it. */
	if (fchmod(fd, mode) < 0) {
		int r = -errno;
		close(fd);
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot set its mode: %s", strerror(-r));
	}
	return fd;
}

static int file_finish(struct extractor *x, int *fd, const struct timespec *mtime)
{
	int r = 0;

	if (mtime) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mtime };
		if (futimens(*fd, ts) < 0)
			r = -errno;
	}
	/* Error from close: delayed write failures on some file systems. */
	if (close(TAKE_FD(*fd)) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	if (r < 0)
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot finish writing it: %s", strerror(-r));
	x->stats.files++;
	return 0;
}

static int extract_file(struct extractor *x, struct archive_entry *e,
			int parent, const char *base)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned long long charged = 0;
	long long pos = 0;
	struct timespec mtime;
	int r;

	/* Refuse early what is declared too big; the running count below
	 * still holds if the data turns out longer than declared. */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (unsigned long long)archive_entry_size(e) > x->lim->max_bytes - x->stats.bytes)
		return charge_bytes(x, (unsigned long long)archive_entry_size(e));

	fd = file_create(x, parent, base, file_mode(archive_entry_mode(e)));
	if (fd < 0)
		return fd;

	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;

		r = archive_read_data_block(x->archive, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "cannot read its data: %s",
					   archive_error_string(x->archive));
		if (offset < pos)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "damaged data (offsets go backwards)");
		/* Sparse member: the hole is counted like data, so a sparse
		 * entry cannot claim more than the budget either. */
		if ((unsigned long long)offset + size > charged) {
			r = charge_bytes(x, (unsigned long long)offset + size - charged);
			if (r < 0)
				return r;
			charged = (unsigned long long)offset + size;
		}
		if (offset > pos && lseek(fd, offset, SEEK_SET) < 0) {
			r = -errno;
			return fail_member(x->err, x->errlen, r, x->name,
					   "cannot seek: %s", strerror(-r));
		}
		r = write_all(fd, buf, size);
		if (r < 0)
			return fail_member(x->err, x->errlen, r, x->name,
					   "cannot write it: %s", strerror(-r));
		pos = offset + (long long)size;
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos) {
		/* A trailing hole of a sparse member. */
		r = charge_bytes(x, (unsigned long long)archive_entry_size(e) - charged);
		if (r < 0)
			return r;
		if (ftruncate(fd, archive_entry_size(e)) < 0) {
			r = -errno;
			return fail_member(x->err, x->errlen, r, x->name,
					   "cannot extend it: %s", strerror(-r));
		}
	}
	mtime.tv_sec = archive_entry_mtime(e);
	mtime.tv_nsec = archive_entry_mtime_nsec(e);
	return file_finish(x, &fd, archive_entry_mtime_is_set(e) ? &mtime : NULL);
}

static int copy_data(int in, int out, off_t size)
{
	_cleanup_free_ char *buf = NULL;
	off_t done = 0;

	/* copy_file_range shares extents on reflink file systems and stays in
	 * the kernel elsewhere; it is refused across some file system types. */
	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			    errno == EOPNOTSUPP)
				break;
			return -errno;
		}
		if (n == 0)
			return -EIO;   /* source shrank under us */
		done += n;
	}
	if (done == size)
		return 0;

	buf = malloc(COPY_BUFFER);
	if (!buf)
		return -ENOMEM;
	if (lseek(in, done, SEEK_SET) < 0 || lseek(out, done, SEEK_SET) < 0)
		return -errno;
	while (done < size) {
		size_t want = size - done < COPY_BUFFER ? (size_t)(size - done) : COPY_BUFFER;
		ssize_t n = read(in, buf, want);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

/* A hard link becomes a copy: a release never shares an inode with an
 * earlier member, so changing one file can never change another. */
static int extract_hardlink(struct extractor *x, const char *target,
			    int parent, const char *base)
{
	char shown[NAME_SHOWN_MAX];
	_cleanup_close_ int in = -EBADF, out = -EBADF;
	struct stat st;
	int r;

	show(shown, sizeof(shown), target);
	in = open_beneath(x->root_fd, target, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (in == -ENOENT)
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "hard link target %s is not an earlier member of the archive",
				   shown);
	if (in == -ELOOP)
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "hard link target %s is or passes through a symlink", shown);
	if (in == -ENOTDIR || in == -EXDEV)
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "hard link target %s is not a file in the release", shown);
	if (in < 0)
		return fail_member(x->err, x->errlen, in, x->name,
				   "cannot open hard link target %s: %s", shown, strerror(-in));
	if (fstat(in, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "hard link target %s is not a regular file", shown);
	r = charge_bytes(x, (unsigned long long)st.st_size);
	if (r < 0)
		return r;
	out = file_create(x, parent, base, file_mode(st.st_mode));
	if (out < 0)
		return out;
	r = copy_data(in, out, st.st_size);
	if (r < 0)
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot copy hard link target %s: %s", shown, strerror(-r));
	return file_finish(x, &out, &st.st_mtim);
}

static int extract_dir(struct extractor *x, int parent, const char *base,
		       const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	bool created = false;

	if (mkdirat(parent, base, 0755) == 0)
		created = true;
	else if (errno != EEXIST) {
		int r = -errno;
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot create directory: %s", strerror(-r));
	}
	/* An existing directory is fine (parents are created implicitly);
	 * anything else of that name is a duplicate. */
	fd = open_beneath(parent, base, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ELOOP || fd == -ENOTDIR)
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "duplicate member; the path exists and is not a directory");
	if (fd < 0)
		return fail_member(x->err, x->errlen, fd, x->name,
				   "cannot open directory: %s", strerror(-fd));
	if (created) {
		if (fchmod(fd, 0755) < 0) {
			int r = -errno;
			return fail_member(x->err, x->errlen, r, x->name,
					   "cannot set its mode: %s", strerror(-r));
		}
		x->stats.dirs++;
	}
	/* The next members most likely live in this directory. */
	parent_cache_set(x, TAKE_FD(fd), path);
	return 0;
}

static int extract_symlink(struct extractor *x, const char *target, int parent,
			   const char *base)
{
	if (symlinkat(target, parent, base) < 0) {
		int r = -errno;

		if (r == -EEXIST)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "duplicate member; the path already exists");
		return fail_member(x->err, x->errlen, r, x->name,
				   "cannot create symlink: %s", strerror(-r));
	}
	x->stats.symlinks++;
	return 0;
}

static const char *entry_string(const char *(*plain)(struct archive_entry *),
				const char *(*utf8)(struct archive_entry *),
				struct archive_entry *e)
{
	/* In the C locale libarchive cannot convert a pax UTF-8 name to the
	 * locale and returns NULL; the UTF-8 bytes are what Linux stores. */
	const char *s = plain(e);

	return s ? s : utf8(e);
}

static int xattr_check(struct extractor *x, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) <= 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		if (name && strcmp(name, "security.capability") == 0)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "carries file capabilities (security.capability)");
	return 0;
}

static int extract_entry(struct extractor *x, struct archive_entry *e)
{
	char path[MEMBER_PATH_MAX], target[MEMBER_PATH_MAX];
	const char *link_target = NULL, *base;
	mode_t mode = archive_entry_mode(e);
	bool hardlink = false, is_root, target_is_root;
	char *slash;
	int parent, r;

	x->name = entry_string(archive_entry_pathname, archive_entry_pathname_utf8, e);
	if (x->entries > x->lim->max_entries)
		return fail_member(x->err, x->errlen, -EFBIG, x->name,
				   "the archive has more than %llu members",
				   x->lim->max_entries);
	if (!x->name)
		return fail(x->err, x->errlen, -EINVAL,
			    "member #%llu: its name cannot be read", x->entries);

	if (normalize_member_path(x->name, path, sizeof(path), &is_root) < 0)
		return fail_member(x->err, x->errlen, -EINVAL, x->name,
				   "path is longer than 4095 bytes");
	if (is_root && S_ISDIR(mode) && !archive_entry_hardlink(e))
		return 0;   /* "." itself: the staging directory */

	link_target = entry_string(archive_entry_hardlink, archive_entry_hardlink_utf8, e);
	if (link_target) {
		/* "./a" names the same file as "a"; "." itself is then
		 * refused by the checks as an empty target. */
		hardlink = true;
		if (normalize_member_path(link_target, target, sizeof(target),
					  &target_is_root) < 0)
			return fail_member(x->err, x->errlen, -EINVAL, x->name,
					   "hard link target is longer than 4095 bytes");
		link_target = target;
	} else if (S_ISLNK(mode)) {
		link_target = entry_string(archive_entry_symlink, archive_entry_symlink_utf8, e);
	}
	r = check_member(x->name, path, mode, link_target, hardlink, x->err, x->errlen);
	if (r < 0)
		return r;
	r = xattr_check(x, e);
	if (r < 0)
		return r;

	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		parent = parent_get(x, path);
		*slash = '/';
	} else {
		base = path;
		parent = parent_get(x, "");
	}
	if (parent < 0)
		return parent;

	if (hardlink)
		return extract_hardlink(x, link_target, parent, base);
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return extract_dir(x, parent, base, path);
	case S_IFLNK:
		return extract_symlink(x, link_target, parent, base);
	default:
		return extract_file(x, e, parent, base);
	}
}

static int reader_open(struct archive **ret, int in_fd, char *err, size_t errlen)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();

	if (!a)
		return -ENOMEM;
	if (archive_read_support_format_tar(a) != ARCHIVE_OK)
		return fail(err, errlen, -EOPNOTSUPP, "libarchive lacks tar support");
	/* ARCHIVE_WARN here means libarchive would run an external
	 * decompressor through PATH; only built-in ones are acceptable. */
	if (archive_read_support_filter_none(a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_filter_xz(a) != ARCHIVE_OK)
		return fail(err, errlen, -EOPNOTSUPP,
			    "libarchive lacks built-in gzip, zstd or xz support");
	if (archive_read_open_fd(a, in_fd, READ_BLOCK) != ARCHIVE_OK)
		return fail(err, errlen, -EINVAL, "not a readable tar archive: %s",
			    archive_error_string(a));
	*ret = TAKE_PTR(a);
	return 0;
}

int artifact_extract_fd(int in_fd, int dirfd, const struct extract_limits *lim,
			struct extract_stats *ret_stats, char *err, size_t errlen)
{
	_cleanup_(archive_freep) struct archive *a = NULL;
	struct extractor x = {
		.root_fd = dirfd,
		.parent_fd = -EBADF,
		.lim = lim,
		.err = err,
		.errlen = errlen,
	};
	int r;

	/* No implicit "unlimited": a caller that forgot the limits must
	 * notice rather than import an archive bomb. */
	if (!lim)
		return fail(err, errlen, -EINVAL, "no extraction limits given");
	r = reader_open(&a, in_fd, err, errlen);
	if (r < 0)
		return r;
	x.archive = a;

	for (;;) {
		struct archive_entry *e;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			char shown[NAME_SHOWN_MAX];
			const char *msg = archive_error_string(a);

			show(shown, sizeof(shown), msg ? msg : "unknown error");
			r = fail(err, errlen, -EINVAL,
				 "cannot read the archive after %llu members: %s",
				 x.entries, shown);
			break;
		}
		x.entries++;
		r = extract_entry(&x, e);
		if (r < 0)
			break;
	}
	closep(&x.parent_fd);
	if (r < 0)
		return r;
	if (ret_stats)
		*ret_stats = x.stats;
	return 0;
}

/* ---- walking a directory tree ------------------------------------------ */

struct name_list {
	char **v;
	size_t n, cap;
};

static void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in fd, sorted so that archives are reproducible. */
static int name_list_read(int fd, struct name_list *l)
{
	_cleanup_closedir_ DIR *d = NULL;
	int dfd;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		int r = -errno;
		close(dfd);
		return r;
	}
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 32;
			char **v = realloc(l->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n] = strdup(de->d_name);
		if (!l->v[l->n])
			return -ENOMEM;
		l->n++;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), name_cmp);
	return 0;
}

struct walk {
	char path[MEMBER_PATH_MAX];   /* relative path of the entry visited */
	int (*visit)(struct walk *w, int parent_fd, const char *name,
		     const struct stat *st);
	void *userdata;
	char *err;
	size_t errlen;
};

/* Pre-order walk below fd without following symlinks; w->path holds the
 * visited entry's path relative to the top ("app/index.php"). */
static int walk_dir(struct walk *w, int fd, size_t plen)
{
	_cleanup_(name_list_free) struct name_list names = {0};
	int r;

	r = name_list_read(fd, &names);
	if (r < 0)
		return fail(w->err, w->errlen, r, "cannot read directory %s: %s",
			    plen ? w->path : ".", strerror(-r));
	for (size_t i = 0; i < names.n; i++) {
		size_t nlen = strlen(names.v[i]);
		size_t len = plen + (plen ? 1 : 0) + nlen;
		struct stat st;

		if (len >= sizeof(w->path))
			return fail(w->err, w->errlen, -ENAMETOOLONG,
				    "a path below %s is longer than 4095 bytes",
				    plen ? w->path : ".");
		if (plen)
			w->path[plen] = '/';
		memcpy(w->path + plen + (plen ? 1 : 0), names.v[i], nlen + 1);

		if (fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			char shown[NAME_SHOWN_MAX];
			show(shown, sizeof(shown), w->path);
			return fail(w->err, w->errlen, r, "cannot stat %s: %s",
				    shown, strerror(-r));
		}
		r = w->visit(w, fd, names.v[i], &st);
		if (r < 0)
			return r;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(fd, names.v[i],
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = -errno;
				char shown[NAME_SHOWN_MAX];
				show(shown, sizeof(shown), w->path);
				return fail(w->err, w->errlen, r, "cannot open %s: %s",
					    shown, strerror(-r));
			}
			r = walk_dir(w, sub, len);
			if (r < 0)
				return r;
		}
		w->path[plen] = '\0';
	}
	return 0;
}

/* ---- streaming a directory --------------------------------------------- */

struct stream {
	struct archive *archive;
	char *buf;
};

static int walk_error(struct walk *w, int r, const char *what)
{
	char shown[NAME_SHOWN_MAX];

	show(shown, sizeof(shown), w->path);
	return fail(w->err, w->errlen, r, "%s: %s", shown, what);
}

static int stream_file_data(struct walk *w, struct stream *s, int fd, off_t size)
{
	off_t done = 0;

	while (done < size) {
		size_t want = size - done < COPY_BUFFER ? (size_t)(size - done) : COPY_BUFFER;
		ssize_t n = read(fd, s->buf, want);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return walk_error(w, -errno, strerror(errno));
		}
		/* A zero-padded file would be silently wrong in the release. */
		if (n == 0)
			return walk_error(w, -EIO, "file shrank while it was read; retry");
		if (archive_write_data(s->archive, s->buf, (size_t)n) != n)
			return walk_error(w, -EIO, archive_error_string(s->archive));
		done += n;
	}
	return 0;
}

static int stream_visit(struct walk *w, int parent_fd, const char *name,
			const struct stat *st)
{
	struct stream *s = w->userdata;
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_close_ int fd = -EBADF;
	struct stat fst = *st;
	char target[MEMBER_PATH_MAX];
	int r;

	if (!e)
		return -ENOMEM;
	if (S_ISSOCK(st->st_mode))
		return walk_error(w, -EINVAL,
				    "is a socket; a release may only contain files, directories and symlinks");
	if (S_ISREG(st->st_mode)) {
		/* O_NONBLOCK: if a fifo was swapped in since fstatat, do not
		 * hang on it; the fstat below then refuses it. */
		fd = openat(parent_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			    O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return walk_error(w, -errno, strerror(errno));
		if (fstat(fd, &fst) < 0)
			return walk_error(w, -errno, strerror(errno));
		if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino ||
		    fst.st_dev != st->st_dev)
			return walk_error(w, -EBUSY, "changed while it was read; retry");
		archive_entry_set_size(e, fst.st_size);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(parent_fd, name, target, sizeof(target));
		if (n < 0)
			return walk_error(w, -errno, strerror(errno));
		if ((size_t)n >= sizeof(target))
			return walk_error(w, -ENAMETOOLONG, "symlink target is too long");
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdev(e, st->st_rdev);
	}
	archive_entry_copy_pathname(e, w->path);
	archive_entry_set_mode(e, fst.st_mode);
	archive_entry_set_mtime(e, fst.st_mtim.tv_sec, fst.st_mtim.tv_nsec);

	r = archive_write_header(s->archive, e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return walk_error(w, -EIO, archive_error_string(s->archive));
	if (fd >= 0) {
		r = stream_file_data(w, s, fd, fst.st_size);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(s->archive) < ARCHIVE_WARN)
		return walk_error(w, -EIO, archive_error_string(s->archive));
	return 0;
}

int artifact_stream_dir(int dirfd, int out_fd, char *err, size_t errlen)
{
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	_cleanup_free_ char *buf = malloc(COPY_BUFFER);
	_cleanup_free_ struct walk *w = calloc(1, sizeof(*w));
	struct stream s;
	int r;

	if (!a || !buf || !w)
		return -ENOMEM;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    /* A pipe gains nothing from padding the last block to 10 KiB. */
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
		return fail(err, errlen, -EIO, "cannot start the archive stream: %s",
			    archive_error_string(a));

	s = (struct stream) { .archive = a, .buf = buf };
	*w = (struct walk) {
		.visit = stream_visit,
		.userdata = &s,
		.err = err,
		.errlen = errlen,
	};
	r = walk_dir(w, dirfd, 0);
	if (r < 0)
		return r;
	if (archive_write_close(a) != ARCHIVE_OK)
		return fail(err, errlen, -EIO, "cannot finish the archive stream: %s",
			    archive_error_string(a));
	return 0;
}

/* ---- git checkouts ----------------------------------------------------- */

/* A checked-out tree gets the same rules as an extracted one: git happily
 * checks out "x -> /etc/passwd", and its modes follow the umask. */
static int git_tree_visit(struct walk *w, int parent_fd, const char *name,
			  const struct stat *st)
{
	char target[MEMBER_PATH_MAX];
	mode_t mode = 0;
	int r;

	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(parent_fd, name, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return walk_error(w, n < 0 ? -errno : -ENAMETOOLONG,
					    "cannot read symlink");
		target[n] = '\0';
	}
	r = artifact_check_member(w->path, st->st_mode,
				  S_ISLNK(st->st_mode) ? target : NULL, false,
				  w->err, w->errlen);
	if (r < 0)
		return r;
	if (S_ISREG(st->st_mode))
		mode = file_mode(st->st_mode);
	else if (S_ISDIR(st->st_mode))
		mode = 0755;
	if (mode && (st->st_mode & 07777) != mode &&
	    fchmodat(parent_fd, name, mode, 0) < 0)
		return walk_error(w, -errno, strerror(errno));
	return 0;
}

int artifact_check_tree(int dirfd, char *err, size_t errlen)
{
	_cleanup_free_ struct walk *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	*w = (struct walk) { .visit = git_tree_visit, .err = err, .errlen = errlen };
	return walk_dir(w, dirfd, 0);
}
