/* SPDX-License-Identifier: MIT */
/*
 * artifact_extract_fd() on an archive, extracted into a fresh directory
 * with small limits. The input is either the archive itself (any format
 * and filter the extractor reads), or, when it starts with "!FORMAT\n"
 * (FORMAT one of pax, gnu, ustar, v7), a script of members that the
 * harness writes as a tar with libarchive first. Mutating raw tar bytes
 * mostly breaks header checksums; the script form lets the fuzzer reach
 * the extractor's own logic (names, symlinks, hard links, order, limits).
 * One member per line, fields separated by TAB:
 *
 *   f PATH DATA [XATTR]  regular file 0644 (x: 0755, s: setuid, g: setgid),
 *                    with an extended attribute of that name (pax, gnu)
 *   F PATH SIZE      regular file of SIZE zero bytes as declared (<= 2 MiB)
 *   d PATH           directory
 *   l PATH TARGET    symlink
 *   h PATH TARGET    hard link
 *   c PATH / p PATH  character device / fifo
 *
 * The extraction layout:
 *
 *   TMP/o1/o2/root     the staging directory given to the extractor
 *   TMP/o1/o2/canary   an empty sibling; TMP/o1, TMP hold nothing else
 *
 * Whether extraction succeeds or fails (the caller removes a partial tree),
 * afterwards nothing may exist outside root, every symlink inside must
 * resolve beneath root (asked of the kernel with RESOLVE_BENEATH, and of
 * our own lexical model), and the tree may hold only what the extractor
 * promises: files 0644/0755 with one link, directories 0755, symlinks,
 * within max_entries and max_bytes. Then the whole TMP is removed with an
 * fd-based walk that never follows a symlink. TMP is under $FUZZ_TMPDIR,
 * else /dev/shm, else $TMPDIR, else /tmp.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "artifact.h"

#define FZ_EXTRACT_MAX_BYTES (1ULL << 20)
#define FZ_SCRIPT_FILE_MAX (2u << 20)
#define FZ_EXTRACT_MAX_ENTRIES 1000ULL

struct fz_names {
	char **v;
	size_t n;
};

static void fz_names_free(struct fz_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Opens path below dirfd without following any symlink and without
 * leaving dirfd; "" is dirfd itself. */
static int fz_open_beneath(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = resolve,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, *path ? path : ".", &how, sizeof(how));
	while (fd < 0 && (errno == EAGAIN || errno == EINTR));
	return fd < 0 ? -errno : (int)fd;
}

/* The names in directory path (below dirfd), without "." and "..". */
static int fz_names_read(int dirfd, const char *path, struct fz_names *ret)
{
	struct fz_names l = { 0 };
	size_t cap = 0;
	DIR *d;
	int fd;

	fd = fz_open_beneath(dirfd, path, O_RDONLY | O_DIRECTORY,
			     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	for (struct dirent *de; (de = readdir(d)); ) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l.n == cap) {
			char **v;

			cap = cap ? cap * 2 : 16;
			v = realloc(l.v, cap * sizeof(*v));
			if (!v)
				break;
			l.v = v;
		}
		l.v[l.n] = strdup(de->d_name);
		if (!l.v[l.n])
			break;
		l.n++;
	}
	closedir(d);
	*ret = l;
	return 0;
}

/*
 * Steps from the directory *fd into its subdirectory name and back, so
 * that a walk of a tree 1,000 levels deep (max_entries allows it) costs
 * O(depth) lookups and holds at most two fds: the child is opened relative
 * to the parent, the parent closed, and on the way back reopened as the
 * child's "..". Safe because nothing else renames directories meanwhile
 * and every step refuses symlinks.
 */
static int fz_enter(int *fd, const char *name)
{
	int sub = openat(*fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (sub < 0)
		return -errno;
	close(*fd);
	*fd = sub;
	return 0;
}

static int fz_leave(int *fd)
{
	int up = openat(*fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (up < 0)
		return -errno;
	close(*fd);
	*fd = up;
	return 0;
}

struct fz_tree {
	int root_fd;
	char path[PATH_MAX];            /* relative to root, of the entry visited */
	unsigned long long entries, files, dirs, symlinks, bytes;
};

static void fz_check_symlink(struct fz_tree *t, int parent_fd, const char *name)
{
	char target[PATH_MAX];
	ssize_t n;
	int fd;

	n = readlinkat(parent_fd, name, target, sizeof(target) - 1);
	FUZZ_CHECK(n > 0);
	if (n <= 0)
		return;
	target[n] = '\0';
	FUZZ_CHECK(fuzz_symlink_stays_inside(t->path, target));
	/* The kernel's opinion, following symlinks on the way: EXDEV means
	 * the path (through this link and any others) leaves root. */
	fd = fz_open_beneath(t->root_fd, t->path, O_PATH, RESOLVE_BENEATH);
	FUZZ_CHECK(fd != -EXDEV);
	if (fd >= 0)
		close(fd);
}

/* Checks every entry below the directory *dfd, whose path is t->path
 * (length plen); *dfd is that directory again on return, or -1. */
static void fz_check_tree(struct fz_tree *t, int *dfd, size_t plen)
{
	struct fz_names names;

	if (fz_names_read(*dfd, "", &names) < 0) {
		FUZZ_CHECK(!"cannot read an extracted directory");
		return;
	}
	for (size_t i = 0; *dfd >= 0 && i < names.n; i++) {
		size_t nlen = strlen(names.v[i]), len = plen + (plen ? 1 : 0) + nlen;
		struct stat st;

		if (len >= sizeof(t->path)) {
			FUZZ_CHECK(!"extracted path longer than PATH_MAX");
			continue;
		}
		if (plen)
			t->path[plen] = '/';
		memcpy(t->path + plen + (plen ? 1 : 0), names.v[i], nlen + 1);
		t->entries++;
		if (fstatat(*dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			FUZZ_CHECK(!"cannot stat an extracted entry");
		} else if (S_ISREG(st.st_mode)) {
			t->files++;
			t->bytes += (unsigned long long)st.st_size;
			FUZZ_CHECK((st.st_mode & 07777) == 0644 || (st.st_mode & 07777) == 0755);
			FUZZ_CHECK(st.st_nlink == 1);
		} else if (S_ISDIR(st.st_mode)) {
			t->dirs++;
			FUZZ_CHECK((st.st_mode & 07777) == 0755);
			FUZZ_CHECK(fz_enter(dfd, names.v[i]) == 0);
			fz_check_tree(t, dfd, len);
			if (*dfd >= 0 && fz_leave(dfd) < 0) {
				close(*dfd);
				*dfd = -1;
			}
		} else if (S_ISLNK(st.st_mode)) {
			t->symlinks++;
			fz_check_symlink(t, *dfd, names.v[i]);
		} else {
			FUZZ_CHECK(!"extracted a device, fifo or socket");
		}
		t->path[plen] = '\0';
	}
	FUZZ_CHECK(*dfd >= 0);
	fz_names_free(&names);
}

/* Removes everything below the directory *fd (same fd contract as
 * fz_check_tree). Never follows a symlink. */
static void fz_rm_tree(int *fd)
{
	struct fz_names names;

	if (fz_names_read(*fd, "", &names) < 0)
		return;
	for (size_t i = 0; *fd >= 0 && i < names.n; i++) {
		struct stat st;

		if (fstatat(*fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode) && fz_enter(fd, names.v[i]) == 0) {
			fz_rm_tree(fd);
			if (*fd < 0 || fz_leave(fd) < 0)
				break;
			(void)unlinkat(*fd, names.v[i], AT_REMOVEDIR);
		} else {
			(void)unlinkat(*fd, names.v[i], 0);
		}
	}
	fz_names_free(&names);
}

/* dir (below dirfd) holds exactly the names in want (NULL-terminated). */
static bool fz_dir_is(int dirfd, const char *dir, const char *const *want)
{
	struct fz_names names;
	size_t n_want = 0;
	bool ok = true;

	if (fz_names_read(dirfd, dir, &names) < 0)
		return false;
	while (want[n_want])
		n_want++;
	if (names.n != n_want)
		ok = false;
	for (size_t i = 0; ok && i < names.n; i++) {
		bool found = false;

		for (size_t j = 0; j < n_want; j++)
			found |= strcmp(names.v[i], want[j]) == 0;
		ok = found;
	}
	fz_names_free(&names);
	return ok;
}

/* ---- the script form ------------------------------------------------- */

/* Splits line (NUL-terminated, modified) at TABs into at most n fields. */
static size_t fz_fields(char *line, char **f, size_t n)
{
	size_t k = 0;

	while (k < n) {
		f[k++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return k;
}

/* One script line as an archive member; false to stop writing. */
static bool fz_script_member(struct archive *a, struct archive_entry *e, char *line)
{
	static const char zeros[4096];
	char *f[4];
	size_t n = fz_fields(line, f, 4);
	const char *data = n > 2 ? f[2] : "";
	size_t size = 0;
	mode_t mode;
	int r;

	if (n < 2 || strlen(f[0]) != 1)
		return true;   /* not a member line: ignored */
	archive_entry_clear(e);
	archive_entry_set_pathname(e, f[1]);
	archive_entry_set_mtime(e, 1764135416, 0);
	switch (f[0][0]) {
	case 'f': case 'x': case 's': case 'g':
		mode = f[0][0] == 'f' ? 0644 : f[0][0] == 'x' ? 0755 :
		       f[0][0] == 's' ? 04755 : 02755;
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, mode);
		size = strlen(data);
		break;
	case 'F':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		size = (size_t)strtoul(data, NULL, 10);
		if (size > FZ_SCRIPT_FILE_MAX)
			size = FZ_SCRIPT_FILE_MAX;
		break;
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, data);
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_hardlink(e, data);
		break;
	case 'c':
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_perm(e, 0666);
		archive_entry_set_rdev(e, makedev(1, 3));
		break;
	case 'p':
		archive_entry_set_filetype(e, AE_IFIFO);
		archive_entry_set_perm(e, 0644);
		break;
	default:
		return true;
	}
	archive_entry_set_size(e, (la_int64_t)size);
	if (n > 3 && f[3][0])
		archive_entry_xattr_add_entry(e, f[3], "\1\0\0\2", 4);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_FATAL)
		return false;
	if (r < ARCHIVE_WARN)
		return true;   /* this member cannot be written in this format */
	if (f[0][0] == 'F') {
		for (size_t done = 0; done < size; ) {
			size_t chunk = size - done < sizeof(zeros) ? size - done : sizeof(zeros);

			if (archive_write_data(a, zeros, chunk) < 0)
				return false;
			done += chunk;
		}
	} else if (size > 0 && archive_write_data(a, data, size) < 0) {
		return false;
	}
	return archive_write_finish_entry(a) >= ARCHIVE_WARN;
}

/* Writes the script (after its "!FORMAT\n" line) to fd as a tar. */
static bool fz_script_write(int fd, const char *format, char *script)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	bool ok = false;
	int r;

	if (!a || !e)
		goto out;
	if (strcmp(format, "pax") == 0)
		r = archive_write_set_format_pax_restricted(a);
	else if (strcmp(format, "gnu") == 0)
		r = archive_write_set_format_gnutar(a);
	else if (strcmp(format, "ustar") == 0)
		r = archive_write_set_format_ustar(a);
	else if (strcmp(format, "v7") == 0)
		r = archive_write_set_format_v7tar(a);
	else
		goto out;
	if (r != ARCHIVE_OK || archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		goto out;
	for (char *line = script, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (!fz_script_member(a, e, line))
			break;
	}
	ok = archive_write_close(a) == ARCHIVE_OK;
out:
	if (e)
		archive_entry_free(e);
	if (a)
		archive_write_free(a);
	return ok;
}

/* Puts the archive the input stands for into fd, positioned at 0. */
static bool fz_extract_input(int fd, const uint8_t *data, size_t size)
{
	if (size > 1 && data[0] == '!' && memchr(data, '\n', size)) {
		char *text = fuzz_strndup(data, size), *nl;
		bool ok;

		if (!text)
			return false;
		nl = strchr(text, '\n');
		if (!nl) {
			free(text);   /* an embedded NUL before the newline */
			return false;
		}
		*nl = '\0';
		ok = fz_script_write(fd, text + 1, nl + 1);
		free(text);
		return ok && lseek(fd, 0, SEEK_SET) == 0;
	}
	for (size_t off = 0; off < size; ) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return lseek(fd, 0, SEEK_SET) == 0;
}

int fuzz_extract(const uint8_t *data, size_t size)
{
	static const char *const only_o1[] = { "o1", NULL };
	static const char *const only_o2[] = { "o2", NULL };
	static const char *const root_canary[] = { "root", "canary", NULL };
	static const char *const nothing[] = { NULL };
	const struct extract_limits lim = {
		.max_bytes = FZ_EXTRACT_MAX_BYTES,
		.max_entries = FZ_EXTRACT_MAX_ENTRIES,
	};
	struct extract_stats stats = { 0 };
	struct fz_tree *t = NULL;
	char tmpl[PATH_MAX], err[1024];
	const char *tmpdir = getenv("FUZZ_TMPDIR");
	int in = -1, base = -1, walk_fd, r;

	/* tmpfs if there is one: a deep tree is 1,000 mkdirs per input, and
	 * on a journalled disk that alone costs a quarter of a second. */
	if (!tmpdir || !*tmpdir)
		tmpdir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/cutover-fuzz-extract-XXXXXX", tmpdir) >= sizeof(tmpl) ||
	    !mkdtemp(tmpl))
		return 0;
	t = calloc(1, sizeof(*t));
	base = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	in = memfd_create("fuzz-extract", MFD_CLOEXEC);
	if (!t || base < 0 || in < 0 ||
	    mkdirat(base, "o1", 0755) < 0 || mkdirat(base, "o1/o2", 0755) < 0 ||
	    mkdirat(base, "o1/o2/root", 0755) < 0 || mkdirat(base, "o1/o2/canary", 0755) < 0)
		goto out;
	if (!fz_extract_input(in, data, size))
		goto out;
	t->root_fd = fz_open_beneath(base, "o1/o2/root", O_RDONLY | O_DIRECTORY,
				     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (t->root_fd < 0)
		goto out;

	err[0] = '\0';
	r = artifact_extract_fd(in, t->root_fd, &lim, &stats, err, sizeof(err));
	FUZZ_CHECK(fuzz_terminated(err, sizeof(err)));
	if (r < 0)
		FUZZ_CHECK(err[0] != '\0' || r == -ENOMEM);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "artifact_extract_fd: %d %s (files %llu dirs %llu symlinks %llu bytes %llu)\n",
			r, err, stats.files, stats.dirs, stats.symlinks, stats.bytes);

	/* Nothing outside root. */
	FUZZ_CHECK(fz_dir_is(base, "", only_o1));
	FUZZ_CHECK(fz_dir_is(base, "o1", only_o2));
	FUZZ_CHECK(fz_dir_is(base, "o1/o2", root_canary));
	FUZZ_CHECK(fz_dir_is(base, "o1/o2/canary", nothing));

	/* Inside root, only what the extractor promises; a partial tree too. */
	walk_fd = fcntl(t->root_fd, F_DUPFD_CLOEXEC, 3);
	if (walk_fd >= 0) {
		fz_check_tree(t, &walk_fd, 0);
		if (walk_fd >= 0)
			close(walk_fd);
	}
	FUZZ_CHECK(t->entries <= FZ_EXTRACT_MAX_ENTRIES);
	FUZZ_CHECK(t->bytes <= FZ_EXTRACT_MAX_BYTES);
	if (r == 0) {
		FUZZ_CHECK(stats.files == t->files);
		FUZZ_CHECK(stats.dirs == t->dirs);
		FUZZ_CHECK(stats.symlinks == t->symlinks);
		FUZZ_CHECK(stats.bytes == t->bytes);
	}
	close(t->root_fd);
out:
	if (base >= 0) {
		fz_rm_tree(&base);
		if (base >= 0)
			close(base);
		(void)rmdir(tmpl);
	}
	if (in >= 0)
		close(in);
	free(t);
	return 0;
}

FUZZ_ENTRY(fuzz_extract)
