/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/artifact.c. Archives are built here with libarchive's
 * write API (or byte by byte where libarchive refuses to write the hostile
 * thing), extracted into a scratch directory and the result inspected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "artifact.h"
#include "util.h"

#define MTIME_SEC 1700000000
#define MTIME_NSEC 123456789
#define BIG (1ULL << 40)

struct fixture {
	char dir[64];
	char archive[PATH_MAX];   /* where a test writes its archive */
	int cases;                /* counter for fresh output directories */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_artifact.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->archive, sizeof(f->archive), "%s/archive", f->dir);
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	r = nftw(f->dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* f->dir/NAME as a path, in one of four rotating buffers: use it at once. */
static const char *at(struct fixture *f, const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, name);
	return buf[i];
}

/* Makes a new empty directory in the scratch dir and returns its fd;
 * ret_path (optional) receives its path. */
static int fresh_dir(struct fixture *f, char *ret_path, size_t n)
{
	char name[32];
	const char *path;
	int fd;

	snprintf(name, sizeof(name), "out%d", f->cases++);
	path = at(f, name);
	assert_int_equal(mkdir(path, 0755), 0);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (ret_path)
		assert_int_equal(str_copy(ret_path, n, path), 0);
	return fd;
}

/* ---- building archives ---------------------------------------------- */

enum mtype { M_FILE, M_DIR, M_SYMLINK, M_HARDLINK, M_CHR, M_BLK, M_FIFO };
enum filter { F_NONE, F_GZIP, F_ZSTD, F_XZ };

struct member {
	enum mtype type;
	const char *path;
	const char *data;          /* file contents or link target */
	mode_t perm;               /* 0: 0644 for files, 0755 for dirs */
	const char *xattr;         /* name of an xattr to attach */
	unsigned long long zeros;  /* M_FILE: this many zero bytes instead */
};

static void write_archive(const char *path, enum filter filter,
			  const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	static char zeros[65536];

	assert_non_null(a);
	/* Full pax, so that xattrs are written as SCHILY.xattr records. */
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	switch (filter) {
	case F_NONE: assert_int_equal(archive_write_add_filter_none(a), ARCHIVE_OK); break;
	case F_GZIP: assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK); break;
	case F_ZSTD: assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK); break;
	case F_XZ: assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK); break;
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);

	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		mode_t perm = m[i].perm;
		unsigned long long size = 0;

		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_mtime(e, MTIME_SEC, MTIME_NSEC);
		switch (m[i].type) {
		case M_FILE:
			archive_entry_set_filetype(e, AE_IFREG);
			size = m[i].zeros ? m[i].zeros : m[i].data ? strlen(m[i].data) : 0;
			perm = perm ? perm : 0644;
			break;
		case M_DIR:
			archive_entry_set_filetype(e, AE_IFDIR);
			perm = perm ? perm : 0755;
			break;
		case M_SYMLINK:
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, m[i].data);
			perm = 0777;
			break;
		case M_HARDLINK:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, m[i].data);
			perm = perm ? perm : 0644;
			break;
		case M_CHR:
		case M_BLK:
			archive_entry_set_filetype(e, m[i].type == M_CHR ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdev(e, makedev(1, 3));
			perm = 0666;
			break;
		case M_FIFO:
			archive_entry_set_filetype(e, AE_IFIFO);
			perm = 0644;
			break;
		}
		archive_entry_set_perm(e, perm);
		archive_entry_set_size(e, (la_int64_t)size);
		if (m[i].xattr)
			archive_entry_xattr_add_entry(e, m[i].xattr, "\x01\x00\x00\x02\x20\x00\x00\x00", 8);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].type == M_FILE && m[i].zeros) {
			for (unsigned long long done = 0; done < size; ) {
				size_t k = size - done < sizeof(zeros) ? size - done : sizeof(zeros);
				assert_int_equal(archive_write_data(a, zeros, k), (la_ssize_t)k);
				done += k;
			}
		} else if (m[i].type == M_FILE && size) {
			assert_int_equal(archive_write_data(a, m[i].data, size), (la_ssize_t)size);
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* One ustar header plus data, by hand: for names libarchive won't write. */
static void write_raw_tar(const char *path, const char *name, char type,
			  const char *data)
{
	unsigned char block[512] = {0};
	size_t len = data ? strlen(data) : 0;
	unsigned sum = 0;
	int fd;

	memcpy(block, name, strlen(name));
	memcpy(block + 100, "0000644", 8);
	memcpy(block + 108, "0000000", 8);
	memcpy(block + 116, "0000000", 8);
	snprintf((char *)block + 124, 12, "%011zo", len);
	memcpy(block + 136, "14544176000", 12);
	block[156] = (unsigned char)type;
	memcpy(block + 257, "ustar", 6);
	memcpy(block + 263, "00", 2);
	memset(block + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(block); i++)
		sum += block[i];
	snprintf((char *)block + 148, 8, "%06o", sum);

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, block, sizeof(block)), 0);
	if (len) {
		unsigned char pad[512] = {0};
		memcpy(pad, data, len);
		assert_int_equal(write_all(fd, pad, sizeof(pad)), 0);
	}
	memset(block, 0, sizeof(block));
	assert_int_equal(write_all(fd, block, sizeof(block)), 0);
	assert_int_equal(write_all(fd, block, sizeof(block)), 0);
	close(fd);
}

static int extract_file_at(const char *archive, int dirfd,
			   unsigned long long max_bytes,
			   unsigned long long max_entries,
			   struct extract_stats *stats, char *err, size_t errlen)
{
	struct extract_limits lim = { .max_bytes = max_bytes, .max_entries = max_entries };
	int in, r;

	in = open(archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	err[0] = '\0';
	r = artifact_extract_fd(in, dirfd, &lim, stats, err, errlen);
	close(in);
	return r;
}

static void assert_file(int dirfd, const char *path, const char *content,
			mode_t perm)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, perm);
	assert_int_equal(st.st_nlink, 1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, content);
}

static void assert_symlink(int dirfd, const char *path, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);

	if (n < 0)
		fail_msg("%s: %s", path, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void assert_dir(int dirfd, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
}

/* ---- valid archives ------------------------------------------------- */

static const struct member valid_tree[] = {
	/* Parents app/, app/src/, app/src/lib/ are never listed. */
	{ M_FILE, "app/src/lib/a.php", "<?php echo 'a';\n", 0600, NULL, 0 },
	{ M_FILE, "app/bin/run", "#!/bin/sh\necho run\n", 0700, NULL, 0 },
	/* Listed after it was created implicitly: fine. */
	{ M_DIR, "app/bin", NULL, 0, NULL, 0 },
	{ M_DIR, "app/empty/", NULL, 0700, NULL, 0 },
	{ M_SYMLINK, "app/current", "src/lib", 0, NULL, 0 },
	{ M_SYMLINK, "app/bin/a.php", "../src/lib/a.php", 0, NULL, 0 },
	{ M_HARDLINK, "app/copy.php", "app/src/lib/a.php", 0, NULL, 0 },
	{ M_FILE, "app/index.php", "<?php phpinfo();\n", 0664, NULL, 0 },
	{ M_FILE, "app/group-exec", "x", 0610, NULL, 0 },
	{ M_FILE, "app/empty.txt", "", 0644, NULL, 0 },
};

static void check_valid_tree(void **state, enum filter filter)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	struct extract_stats stats = {0};
	struct stat a, c;
	char err[512];
	mode_t old;
	int dirfd, r;

	write_archive(archive, filter, valid_tree, ELEMENTSOF(valid_tree));
	dirfd = fresh_dir(f, NULL, 0);
	/* The modes must not depend on the extracting process's umask. */
	old = umask(077);
	r = extract_file_at(archive, dirfd, BIG, 1000, &stats, err, sizeof(err));
	umask(old);
	if (r < 0)
		fail_msg("extract: %d %s", r, err);

	assert_file(dirfd, "app/src/lib/a.php", "<?php echo 'a';\n", 0644);
	assert_file(dirfd, "app/bin/run", "#!/bin/sh\necho run\n", 0755);
	assert_file(dirfd, "app/index.php", "<?php phpinfo();\n", 0644);
	assert_file(dirfd, "app/group-exec", "x", 0755);
	assert_file(dirfd, "app/empty.txt", "", 0644);
	assert_file(dirfd, "app/copy.php", "<?php echo 'a';\n", 0644);
	assert_dir(dirfd, "app");
	assert_dir(dirfd, "app/src");
	assert_dir(dirfd, "app/src/lib");
	assert_dir(dirfd, "app/bin");
	assert_dir(dirfd, "app/empty");
	assert_symlink(dirfd, "app/current", "src/lib");
	assert_symlink(dirfd, "app/bin/a.php", "../src/lib/a.php");

	/* The hard link is a copy: its own inode, link count 1 each. */
	assert_int_equal(fstatat(dirfd, "app/src/lib/a.php", &a, 0), 0);
	assert_int_equal(fstatat(dirfd, "app/copy.php", &c, 0), 0);
	assert_true(a.st_ino != c.st_ino);
	assert_int_equal(a.st_nlink, 1);
	assert_int_equal(c.st_nlink, 1);
	assert_int_equal(a.st_mtim.tv_sec, MTIME_SEC);
	assert_int_equal(a.st_mtim.tv_nsec, MTIME_NSEC);

	assert_int_equal(stats.files, 6);
	assert_int_equal(stats.dirs, 5);
	assert_int_equal(stats.symlinks, 2);
	assert_int_equal(stats.bytes, 16 + 19 + 16 + 17 + 1 + 0);
	close(dirfd);
}

static void test_extract_valid_none(void **state) { check_valid_tree(state, F_NONE); }
static void test_extract_valid_gzip(void **state) { check_valid_tree(state, F_GZIP); }
static void test_extract_valid_zstd(void **state) { check_valid_tree(state, F_ZSTD); }
static void test_extract_valid_xz(void **state) { check_valid_tree(state, F_XZ); }

/* What "tar -C dir -cf x.tar ." produces: "." and "./"-prefixed names. */
static void test_extract_dot_prefix(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	const struct member m[] = {
		{ M_DIR, "./", NULL, 0, NULL, 0 },
		{ M_DIR, "./app/", NULL, 0, NULL, 0 },
		{ M_FILE, "./app/x.php", "x", 0, NULL, 0 },
		{ M_HARDLINK, "./app/y.php", "./app/x.php", 0, NULL, 0 },
	};
	struct extract_stats stats = {0};
	char err[512];
	int dirfd, r;

	write_archive(archive, F_NONE, m, ELEMENTSOF(m));
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 100, &stats, err, sizeof(err));
	if (r < 0)
		fail_msg("extract: %d %s", r, err);
	assert_file(dirfd, "app/x.php", "x", 0644);
	assert_file(dirfd, "app/y.php", "x", 0644);
	assert_int_equal(stats.dirs, 1);
	assert_int_equal(stats.files, 2);
	close(dirfd);
}

/* ---- hostile archives ----------------------------------------------- */

struct hostile {
	const char *name;
	struct member m[4];
	size_t n;
	const char *expect;     /* substring of the message */
};

static const struct hostile hostile_cases[] = {
	{ "absolute path", { { M_FILE, "/etc/passwd", "x", 0, NULL, 0 } }, 1,
	  "member /etc/passwd: absolute path" },
	{ "dotdot", { { M_FILE, "a/../../x", "x", 0, NULL, 0 } }, 1,
	  "member a/../../x: '..' path component" },
	{ "leading dotdot", { { M_FILE, "../x", "x", 0, NULL, 0 } }, 1,
	  "member ../x: '..' path component" },
	{ "dot inside", { { M_FILE, "a/./b", "x", 0, NULL, 0 } }, 1,
	  "member a/./b: '.' path component" },
	{ "empty component", { { M_FILE, "a//b", "x", 0, NULL, 0 } }, 1,
	  "member a//b: empty path component" },
	{ "through absolute symlink",
	  { { M_SYMLINK, "lnk", "/etc", 0, NULL, 0 },
	    { M_FILE, "lnk/passwd", "root::0:0::/:/bin/sh\n", 0, NULL, 0 } }, 2,
	  "member lnk: symlink target is absolute" },
	{ "through inside symlink",
	  { { M_DIR, "sub", NULL, 0, NULL, 0 },
	    { M_SYMLINK, "lnk", "sub", 0, NULL, 0 },
	    { M_FILE, "lnk/passwd", "x", 0, NULL, 0 } }, 3,
	  "member lnk/passwd: path passes through a symlink" },
	{ "through symlink, deeper",
	  { { M_SYMLINK, "a/lnk", ".", 0, NULL, 0 },
	    { M_DIR, "a/lnk/b", NULL, 0, NULL, 0 } }, 2,
	  /* libarchive writes directory names with a trailing '/'. */
	  "member a/lnk/b/: path passes through a symlink (a/lnk)" },
	{ "symlink escapes",
	  { { M_SYMLINK, "a/b", "../../x", 0, NULL, 0 } }, 1,
	  "member a/b: symlink target points outside the release" },
	{ "symlink dotdot after a name",
	  { { M_SYMLINK, "a/b/c", "../..", 0, NULL, 0 },
	    { M_SYMLINK, "x", "a/b/c/..", 0, NULL, 0 } }, 2,
	  "member x: symlink target has '..' after a directory name" },
	{ "hardlink absolute",
	  { { M_HARDLINK, "x", "/etc/shadow", 0, NULL, 0 } }, 1,
	  "member x: hard link target /etc/shadow: absolute path" },
	{ "hardlink dotdot",
	  { { M_HARDLINK, "x", "../outside", 0, NULL, 0 } }, 1,
	  "member x: hard link target ../outside: '..' path component" },
	{ "hardlink to nothing",
	  { { M_HARDLINK, "x", "later", 0, NULL, 0 },
	    { M_FILE, "later", "x", 0, NULL, 0 } }, 2,
	  "member x: hard link target later is not an earlier member" },
	{ "hardlink to a directory",
	  { { M_DIR, "d", NULL, 0, NULL, 0 },
	    { M_HARDLINK, "x", "d", 0, NULL, 0 } }, 2,
	  "member x: hard link target d is not a regular file" },
	{ "hardlink to a symlink",
	  { { M_FILE, "f", "x", 0, NULL, 0 },
	    { M_SYMLINK, "l", "f", 0, NULL, 0 },
	    { M_HARDLINK, "x", "l", 0, NULL, 0 } }, 3,
	  "member x: hard link target l is or passes through a symlink" },
	{ "hardlink through a symlink",
	  { { M_FILE, "d/f", "x", 0, NULL, 0 },
	    { M_SYMLINK, "l", "d", 0, NULL, 0 },
	    { M_HARDLINK, "x", "l/f", 0, NULL, 0 } }, 3,
	  "member x: hard link target l/f is or passes through a symlink" },
	{ "char device", { { M_CHR, "dev/null", NULL, 0, NULL, 0 } }, 1,
	  "member dev/null: character device" },
	{ "block device", { { M_BLK, "sda", NULL, 0, NULL, 0 } }, 1,
	  "member sda: block device" },
	{ "fifo", { { M_FIFO, "pipe", NULL, 0, NULL, 0 } }, 1,
	  "member pipe: fifo" },
	{ "setuid", { { M_FILE, "bin/su", "x", 04755, NULL, 0 } }, 1,
	  "member bin/su: setuid bit set" },
	{ "setgid dir", { { M_DIR, "shared", NULL, 02755, NULL, 0 } }, 1,
	  "member shared/: setgid bit set" },
	{ "file capability",
	  { { M_FILE, "ping", "x", 0755, "security.capability", 0 } }, 1,
	  "member ping: carries file capabilities" },
	{ "duplicate file",
	  { { M_FILE, "a", "1", 0, NULL, 0 }, { M_FILE, "a", "2", 0, NULL, 0 } }, 2,
	  "member a: duplicate member" },
	{ "file over directory",
	  { { M_DIR, "a", NULL, 0, NULL, 0 }, { M_FILE, "a", "2", 0, NULL, 0 } }, 2,
	  "member a: duplicate member" },
	{ "directory over file",
	  { { M_FILE, "a", "1", 0, NULL, 0 }, { M_DIR, "a", NULL, 0, NULL, 0 } }, 2,
	  "member a/: duplicate member" },
	{ "directory over symlink",
	  { { M_DIR, "b", NULL, 0, NULL, 0 }, { M_SYMLINK, "a", "b", 0, NULL, 0 },
	    { M_DIR, "a", NULL, 0, NULL, 0 } }, 3,
	  "member a/: duplicate member" },
	{ "symlink over file",
	  { { M_FILE, "a", "1", 0, NULL, 0 }, { M_SYMLINK, "a", "b", 0, NULL, 0 } }, 2,
	  "member a: duplicate member" },
	{ "file as a parent",
	  { { M_FILE, "a", "1", 0, NULL, 0 }, { M_FILE, "a/b", "2", 0, NULL, 0 } }, 2,
	  "member a/b: a parent (a) is not a directory" },
	{ "hostile name is escaped",
	  { { M_FIFO, "evil\n\x1b[31mname\\", NULL, 0, NULL, 0 } }, 1,
	  "member evil\\n\\x1b[31mname\\\\: fifo" },
};

static void test_extract_hostile(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(hostile_cases); i++) {
		const struct hostile *h = &hostile_cases[i];
		const char *archive = f->archive;
		struct extract_stats stats = { .files = 12345 };
		char err[512];
		int dirfd, r;

		write_archive(archive, F_GZIP, h->m, h->n);
		dirfd = fresh_dir(f, NULL, 0);
		r = extract_file_at(archive, dirfd, BIG, 100, &stats, err, sizeof(err));
		close(dirfd);
		if (r != -EINVAL || !strstr(err, h->expect) || strchr(err, '\n') ||
		    strchr(err, '\x1b'))
			fail_msg("case '%s': r=%d err='%s', expected -EINVAL and '%s'",
				 h->name, r, err, h->expect);
		/* Statistics are an output: untouched on failure. */
		assert_int_equal(stats.files, 12345);
	}
}

/* Nothing lands outside the staging dir, even with a victim next door. */
static void test_extract_nothing_outside(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	const struct member m[] = {
		{ M_SYMLINK, "lnk", "../victim", 0, NULL, 0 },
		{ M_FILE, "lnk/owned", "x", 0, NULL, 0 },
	};
	struct stat st;
	char err[512];
	int dirfd, r;

	assert_int_equal(mkdir(at(f, "victim"), 0755), 0);
	write_archive(archive, F_NONE, m, ELEMENTSOF(m));
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 100, NULL, err, sizeof(err));
	close(dirfd);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "member lnk: symlink target points outside"));
	assert_int_equal(stat(at(f, "victim/owned"), &st), -1);
}

static void test_extract_empty_name(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	char err[512];
	int dirfd, r;

	write_raw_tar(archive, "", '0', "x");
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 100, NULL, err, sizeof(err));
	close(dirfd);
	assert_int_equal(r, -EINVAL);
	assert_true(err[0] != '\0');
}

static void test_extract_not_an_archive(void **state)
{
	struct fixture *f = *state;
	static const char junk[] = "PK\x03\x04 this is not a tarball at all";
	const char *path = f->archive;
	char err[512];
	int fd, dirfd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, junk, sizeof(junk) - 1), 0);
	close(fd);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(path, dirfd, BIG, 100, NULL, err, sizeof(err));
	close(dirfd);
	assert_int_equal(r, -EINVAL);
	assert_true(err[0] != '\0');
}

static void test_extract_requires_limits(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(artifact_extract_fd(0, AT_FDCWD, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "limits"));
}

/* 64 MiB of zeros compress to a few KiB; the budget must stop it. */
static void test_extract_bomb(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	const struct member m[] = {
		{ M_FILE, "ok.php", "<?php\n", 0, NULL, 0 },
		{ M_FILE, "bomb", NULL, 0, NULL, 64ULL << 20 },
	};
	struct stat st;
	char err[512];
	int dirfd, r;

	write_archive(archive, F_ZSTD, m, ELEMENTSOF(m));
	assert_int_equal(stat(archive, &st), 0);
	assert_true(st.st_size < (1 << 20));
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, 1 << 20, 100, NULL, err, sizeof(err));
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(err, "member bomb: "));
	assert_non_null(strstr(err, "size limit"));
	/* Nothing beyond the budget was written. */
	if (fstatat(dirfd, "bomb", &st, 0) == 0)
		assert_true(st.st_size <= (1 << 20));
	close(dirfd);
}

/* The budget is for the whole release, hard-link copies included. */
static void test_extract_budget_total(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	const struct member m[] = {
		{ M_FILE, "a", NULL, 0, NULL, 400 << 10 },
		{ M_HARDLINK, "b", "a", 0, NULL, 0 },
		{ M_HARDLINK, "c", "a", 0, NULL, 0 },
	};
	struct extract_stats stats;
	char err[512];
	int dirfd, r;

	write_archive(archive, F_NONE, m, ELEMENTSOF(m));
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, 1 << 20, 100, NULL, err, sizeof(err));
	close(dirfd);
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(err, "member c: "));

	/* Exactly at the budget passes. */
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, 3 * (400 << 10), 100, &stats, err, sizeof(err));
	close(dirfd);
	if (r < 0)
		fail_msg("%d %s", r, err);
	assert_int_equal(stats.bytes, 3 * (400 << 10));
	assert_int_equal(stats.files, 3);
}

static void test_extract_max_entries(void **state)
{
	struct fixture *f = *state;
	const char *archive = f->archive;
	enum { N = 20000 };
	struct member *m = calloc(N, sizeof(*m));
	char (*names)[16] = calloc(N, sizeof(*names));
	struct extract_stats stats;
	char err[512];
	uint64_t t0;
	int dirfd, r;

	assert_non_null(m);
	assert_non_null(names);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "e%05d", i);
		m[i] = (struct member) { M_FILE, names[i], "", 0, NULL, 0 };
	}
	write_archive(archive, F_ZSTD, m, N);

	dirfd = fresh_dir(f, NULL, 0);
	t0 = now_ns();
	r = extract_file_at(archive, dirfd, BIG, 1000, NULL, err, sizeof(err));
	close(dirfd);
	assert_int_equal(r, -EFBIG);
	/* The 1001st member is refused: it stopped early, not at the end. */
	assert_non_null(strstr(err, "member e01000: "));
	assert_true(now_ns() - t0 < 5000000000ULL);

	/* A limit equal to the count passes. */
	write_archive(archive, F_NONE, m, 10);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 10, &stats, err, sizeof(err));
	assert_int_equal(r, 0);
	assert_int_equal(stats.files, 10);
	close(dirfd);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 9, &stats, err, sizeof(err));
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(err, "member e00009: "));
	close(dirfd);

	/* Parents a member implies are entries too: one deep name must not
	 * create thousands of directories under a small limit. */
	m[0] = (struct member) { M_FILE, "a/b/c/d/e/f/g/h", "", 0, NULL, 0 };
	write_archive(archive, F_NONE, m, 1);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 5, &stats, err, sizeof(err));
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(err, "member a/b/c/d/e/f/g/h: "));
	close(dirfd);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(archive, dirfd, BIG, 8, &stats, err, sizeof(err));
	assert_int_equal(r, 0);
	assert_int_equal(stats.dirs, 7);
	close(dirfd);
	free(m);
	free(names);
}

/* ---- artifact_check_member ------------------------------------------ */

static void test_check_member_table(void **state)
{
	static char long_component[300], long_path[4200], ok_path[4000];
	const struct {
		const char *path;
		mode_t mode;
		const char *target;
		bool hardlink;
		int expect;
		const char *reason;
	} t[] = {
		{ "index.php", S_IFREG | 0644, NULL, false, 0, NULL },
		{ "a/b/c.php", S_IFREG | 0755, NULL, false, 0, NULL },
		{ "a/b", S_IFDIR | 0755, NULL, false, 0, NULL },
		{ ".htaccess", S_IFREG | 0644, NULL, false, 0, NULL },
		{ "..foo", S_IFREG | 0644, NULL, false, 0, NULL },
		{ "a/...", S_IFREG | 0644, NULL, false, 0, NULL },
		{ "", S_IFREG | 0644, NULL, false, -EINVAL, "empty path" },
		{ NULL, S_IFREG | 0644, NULL, false, -EINVAL, "empty path" },
		{ "/abs", S_IFREG | 0644, NULL, false, -EINVAL, "absolute" },
		{ "a/../b", S_IFREG | 0644, NULL, false, -EINVAL, "'..'" },
		{ "..", S_IFDIR | 0755, NULL, false, -EINVAL, "'..'" },
		{ ".", S_IFDIR | 0755, NULL, false, -EINVAL, "'.'" },
		{ "a/", S_IFDIR | 0755, NULL, false, -EINVAL, "empty path component" },
		{ "a//b", S_IFREG | 0644, NULL, false, -EINVAL, "empty path component" },
		{ long_component, S_IFREG | 0644, NULL, false, -EINVAL, "longer than 255" },
		{ long_path, S_IFREG | 0644, NULL, false, -EINVAL, "longer than 4095" },
		{ ok_path, S_IFREG | 0644, NULL, false, 0, NULL },
		{ "dev", S_IFCHR | 0644, NULL, false, -EINVAL, "character device" },
		{ "dev", S_IFBLK | 0644, NULL, false, -EINVAL, "block device" },
		{ "p", S_IFIFO | 0644, NULL, false, -EINVAL, "fifo" },
		{ "s", S_IFSOCK | 0755, NULL, false, -EINVAL, "socket" },
		{ "su", S_IFREG | 04755, NULL, false, -EINVAL, "setuid" },
		{ "sg", S_IFREG | 02755, NULL, false, -EINVAL, "setgid" },
		{ "sticky", S_IFDIR | 01777, NULL, false, 0, NULL },
		{ "l", S_IFLNK | 0777, "target", false, 0, NULL },
		{ "a/b/l", S_IFLNK | 0777, "../../x", false, 0, NULL },
		{ "a/b/l", S_IFLNK | 0777, "./../.././x/./y", false, 0, NULL },
		{ "a/b/l", S_IFLNK | 0777, "../../..", false, -EINVAL, "outside" },
		{ "l", S_IFLNK | 0777, "..", false, -EINVAL, "outside" },
		{ "l", S_IFLNK | 0777, "/etc/passwd", false, -EINVAL, "absolute" },
		{ "l", S_IFLNK | 0777, "", false, -EINVAL, "empty target" },
		{ "l", S_IFLNK | 0777, NULL, false, -EINVAL, "empty target" },
		{ "l", S_IFLNK | 0777, "a/../b", false, -EINVAL, "after a directory name" },
		{ "a/l", S_IFLNK | 0777, "../b/..", false, -EINVAL, "after a directory name" },
		{ "h", S_IFREG | 0644, "a/b", true, 0, NULL },
		{ "h", 0644, "a/b", true, 0, NULL },
		{ "h", S_IFREG | 0644, "/etc/shadow", true, -EINVAL, "absolute" },
		{ "h", S_IFREG | 0644, "../x", true, -EINVAL, "'..'" },
		{ "h", S_IFREG | 0644, "", true, -EINVAL, "empty path" },
		{ "h", S_IFREG | 0644, NULL, true, -EINVAL, "empty path" },
		{ "h", S_IFDIR | 0755, "d", true, -EINVAL, "hard link" },
		{ "h", S_IFREG | 04755, "a", true, -EINVAL, "setuid" },
		{ "x\x1b]0;pwned\x07", S_IFIFO | 0644, NULL, false, -EINVAL,
		  "member x\\x1b]0;pwned\\x07: fifo" },
	};

	(void)state;
	memset(long_component, 'c', sizeof(long_component) - 1);
	for (size_t i = 0; i < sizeof(long_path) - 1; i++)
		long_path[i] = i % 100 == 99 ? '/' : 'p';
	for (size_t i = 0; i < sizeof(ok_path) - 1; i++)
		ok_path[i] = i % 200 == 199 ? '/' : 'o';

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		char err[1024] = "";
		int r = artifact_check_member(t[i].path, t[i].mode, t[i].target,
					      t[i].hardlink, err, sizeof(err));

		if (r != t[i].expect || (t[i].reason && !strstr(err, t[i].reason)) ||
		    strchr(err, '\n') || strchr(err, '\x1b'))
			fail_msg("row %zu (%.40s): r=%d err='%s', expected %d '%s'",
				 i, t[i].path ? t[i].path : "(null)", r, err,
				 t[i].expect, t[i].reason ? t[i].reason : "");
		if (r < 0)
			assert_int_equal(strncmp(err, "member ", 7), 0);
	}
}

/* ---- source_detect / source_git_split ------------------------------- */

static void test_source_detect_table(void **state)
{
	const struct {
		const char *from;
		int expect;
		enum source_kind kind;
	} t[] = {
		{ "/srv/build/shop", 0, SOURCE_DIR },
		{ "./build", 0, SOURCE_DIR },
		{ "relative/dir.v2", 0, SOURCE_DIR },
		{ "/srv/app.tar/", 0, SOURCE_DIR },
		{ "/srv/release-1.2.tar", 0, SOURCE_TARBALL },
		{ "release.tar.gz", 0, SOURCE_TARBALL },
		{ "release.tgz", 0, SOURCE_TARBALL },
		{ "release.tar.zst", 0, SOURCE_TARBALL },
		{ "release.tar.xz", 0, SOURCE_TARBALL },
		{ "RELEASE.TAR.GZ", 0, SOURCE_TARBALL },
		{ "release.zip", -EINVAL, 0 },
		{ "release.rar", -EINVAL, 0 },
		{ "release.7z", -EINVAL, 0 },
		{ "release.tar.bz2", -EINVAL, 0 },
		{ "release.tar.bz3", -EINVAL, 0 },
		{ "release.gz", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ NULL, -EINVAL, 0 },
		{ "git+https://example.com/shop.git#v1.2", 0, SOURCE_GIT },
		{ "git+file:///srv/repo#main", 0, SOURCE_GIT },
		{ "git+ssh://git@example.com/shop.git#feature/x", 0, SOURCE_GIT },
		{ "git+https://example.com/shop.git#0123456789abcdef0123456789abcdef01234567", 0, SOURCE_GIT },
		{ "git+https://example.com/shop.git", -EINVAL, 0 },
		{ "git+https://example.com/shop.git#", -EINVAL, 0 },
		{ "git+#main", -EINVAL, 0 },
		{ "git+-oProxyCommand=x#a", -EINVAL, 0 },
		{ "git+--upload-pack=touch /tmp/x#a", -EINVAL, 0 },
		{ "git+https://example.com/r#--upload-pack=x", -EINVAL, 0 },
		{ "git+https://example.com/r#-b", -EINVAL, 0 },
		{ "git+https://example.com/r#a:refs/heads/b", -EINVAL, 0 },
		{ "git+https://example.com/r#+main", -EINVAL, 0 },
		{ "git+https://example.com/\nr#main", -EINVAL, 0 },
		{ "git+https://example.com/r#ma\x1bin", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		enum source_kind kind = 0;
		char err[512] = "";
		int r = source_detect(t[i].from, &kind, err, sizeof(err));

		if (r != t[i].expect || (r == 0 && kind != t[i].kind))
			fail_msg("row %zu: r=%d kind=%d err='%s'", i, r, kind, err);
		if (r < 0 && (err[0] == '\0' || strchr(err, '\n') || strchr(err, '\x1b')))
			fail_msg("row %zu: bad message '%s'", i, err);
	}
}

static void test_source_detect_messages(void **state)
{
	enum source_kind kind;
	char err[512];

	(void)state;
	assert_int_equal(source_detect("x.zip", &kind, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "x.zip"));
	assert_int_equal(source_detect("git+https://h/r.git", &kind, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "#REF"));
	assert_int_equal(source_detect("git+-oProxyCommand=x#a", &kind, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'-'"));
}

static void test_source_git_split(void **state)
{
	char url[256], ref[64], tiny[8];

	(void)state;
	assert_int_equal(source_git_split("git+https://host/repo.git#v1.2", url, sizeof(url),
					  ref, sizeof(ref)), 0);
	assert_string_equal(url, "https://host/repo.git");
	assert_string_equal(ref, "v1.2");
	assert_int_equal(source_git_split("git+file:///srv/repo#main", url, sizeof(url),
					  ref, sizeof(ref)), 0);
	assert_string_equal(url, "file:///srv/repo");
	assert_string_equal(ref, "main");
	assert_int_equal(source_git_split("/srv/repo#main", url, sizeof(url), ref, sizeof(ref)),
			 -EINVAL);
	assert_int_equal(source_git_split("git+-oProxyCommand=x#a", url, sizeof(url),
					  ref, sizeof(ref)), -EINVAL);
	assert_int_equal(source_git_split("git+https://h/r#-x", url, sizeof(url),
					  ref, sizeof(ref)), -EINVAL);
	assert_int_equal(source_git_split("git+https://host/long#main", tiny, sizeof(tiny),
					  ref, sizeof(ref)), -ENAMETOOLONG);
}

/* ---- artifact_stream_dir -------------------------------------------- */

static void put_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A source tree with the awkward cases: nesting, an empty dir, exec bits,
 * a hard-linked pair, odd names, a file larger than one copy buffer. */
static void make_source_tree(const char *root)
{
	char p[PATH_MAX], q[PATH_MAX];
	char *big = malloc(3 << 20);

	assert_non_null(big);
	for (size_t i = 0; i < (3u << 20); i++)
		big[i] = (char)(i * 2654435761u >> 13);
	assert_int_equal(mkdir(root, 0750), 0);
	snprintf(p, sizeof(p), "%s/app", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/app/src", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/app/src/deep", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/app/empty", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/app/index.php", root);
	put_file(p, "<?php echo 1;\n", 14, 0600);
	snprintf(p, sizeof(p), "%s/app/src/deep/big.bin", root);
	put_file(p, big, 3 << 20, 0644);
	snprintf(p, sizeof(p), "%s/app/run.sh", root);
	put_file(p, "#!/bin/sh\n", 10, 0750);
	snprintf(p, sizeof(p), "%s/app/empty.txt", root);
	put_file(p, "", 0, 0644);
	snprintf(p, sizeof(p), "%s/app/caf\xc3\xa9.php", root);
	put_file(p, "utf8", 4, 0644);
	snprintf(p, sizeof(p), "%s/app/latin1-\xe9.php", root);
	put_file(p, "latin1", 6, 0644);
	snprintf(p, sizeof(p), "%s/app/index.php", root);
	snprintf(q, sizeof(q), "%s/app/link.php", root);
	assert_int_equal(link(p, q), 0);
	snprintf(p, sizeof(p), "%s/app/current", root);
	assert_int_equal(symlink("src/deep", p), 0);
	free(big);
}

/* Compares the tree at a (source) with b (extracted), both ways. */
static void compare_trees(const char *a, const char *b, int depth)
{
	DIR *d = opendir(a);
	struct dirent *de;
	size_t na = 0, nb = 0;

	assert_non_null(d);
	assert_true(depth < 16);
	while ((de = readdir(d))) {
		char pa[PATH_MAX], pb[PATH_MAX];
		struct stat sa, sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		na++;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		assert_int_equal(lstat(pa, &sa), 0);
		if (lstat(pb, &sb) < 0)
			fail_msg("missing after round trip: %s", pb);
		assert_int_equal(sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
		if (S_ISDIR(sa.st_mode)) {
			assert_int_equal(sb.st_mode & 07777, 0755);
			compare_trees(pa, pb, depth + 1);
		} else if (S_ISLNK(sa.st_mode)) {
			char ta[PATH_MAX], tb[PATH_MAX];
			ssize_t la = readlink(pa, ta, sizeof(ta));
			ssize_t lb = readlink(pb, tb, sizeof(tb));
			assert_int_equal(la, lb);
			assert_memory_equal(ta, tb, (size_t)la);
		} else {
			FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
			int ca, cb;

			assert_non_null(fa);
			assert_non_null(fb);
			assert_int_equal(sa.st_size, sb.st_size);
			assert_int_equal(sb.st_mode & 07777, (sa.st_mode & 0111) ? 0755 : 0644);
			assert_int_equal(sb.st_nlink, 1);
			assert_int_equal(sa.st_mtim.tv_sec, sb.st_mtim.tv_sec);
			do {
				ca = getc(fa);
				cb = getc(fb);
				assert_int_equal(ca, cb);
			} while (ca != EOF);
			fclose(fa);
			fclose(fb);
		}
	}
	closedir(d);
	d = opendir(b);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			nb++;
	closedir(d);
	assert_int_equal(na, nb);
}

static void test_stream_dir_file_roundtrip(void **state)
{
	struct fixture *f = *state;
	char out[PATH_MAX], err[512];
	struct extract_stats stats;
	int src, fd, dirfd, r;

	make_source_tree(at(f, "src"));
	src = open(at(f, "src"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(src >= 0);
	fd = open(at(f, "stream.tar"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	r = artifact_stream_dir(src, fd, err, sizeof(err));
	if (r < 0)
		fail_msg("stream: %d %s", r, err);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	dirfd = fresh_dir(f, out, sizeof(out));
	r = extract_file_at(at(f, "stream.tar"), dirfd, BIG, 1000, &stats, err, sizeof(err));
	if (r < 0)
		fail_msg("extract: %d %s", r, err);
	compare_trees(at(f, "src"), out, 0);
	assert_int_equal(stats.files, 7);
	assert_int_equal(stats.dirs, 4);
	assert_int_equal(stats.symlinks, 1);
	close(dirfd);
	close(fd);
	close(src);
}

static void test_stream_dir_pipe_roundtrip(void **state)
{
	struct fixture *f = *state;
	char out[PATH_MAX], err[512];
	int src, fds[2], dirfd, status, r;
	struct extract_limits lim = { BIG, 1000 };
	pid_t pid;

	make_source_tree(at(f, "src"));
	src = open(at(f, "src"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(src >= 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The source reader's side. */
		close(fds[0]);
		r = artifact_stream_dir(src, fds[1], err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "stream: %s\n", err);
		_exit(r < 0);
	}
	close(fds[1]);
	dirfd = fresh_dir(f, out, sizeof(out));
	r = artifact_extract_fd(fds[0], dirfd, &lim, NULL, err, sizeof(err));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (r < 0)
		fail_msg("extract: %d %s", r, err);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	compare_trees(at(f, "src"), out, 0);
	close(dirfd);
	close(src);
}

/* Special files go into the stream so the extractor names them. */
static void test_stream_dir_fifo_named(void **state)
{
	struct fixture *f = *state;
	char err[512];
	int src, fd, dirfd, r;

	assert_int_equal(mkdir(at(f, "src"), 0755), 0);
	assert_int_equal(mkdir(at(f, "src/x"), 0755), 0);
	assert_int_equal(mkfifo(at(f, "src/x/pipe"), 0644), 0);
	put_file(at(f, "src/x/a.php"), "a", 1, 0644);
	src = open(at(f, "src"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(at(f, "stream.tar"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(src >= 0 && fd >= 0);
	r = artifact_stream_dir(src, fd, err, sizeof(err));
	if (r < 0)
		fail_msg("stream: %d %s", r, err);
	dirfd = fresh_dir(f, NULL, 0);
	r = extract_file_at(at(f, "stream.tar"), dirfd, BIG, 1000, NULL, err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "member x/pipe: fifo"));
	close(dirfd);
	close(fd);
	close(src);
}

/* Tar cannot express a socket, so the reader refuses it by name. */
static void test_stream_dir_socket(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[512] = "";
	int src, sock, fd, r;

	assert_int_equal(mkdir(at(f, "src"), 0755), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", at(f, "src/php.sock"));
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	src = open(at(f, "src"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(at(f, "stream.tar"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	r = artifact_stream_dir(src, fd, err, sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, "php.sock"));
	assert_non_null(strstr(err, "socket"));
	close(sock);
	close(fd);
	close(src);
}

/* ---- artifact_check_tree (git checkouts) ----------------------------- */

/* A checkout made under umask 077 gets the release's modes. */
static void test_check_tree_normalises(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", dir[PATH_MAX], path[PATH_MAX + 16];
	int dirfd = fresh_dir(f, dir, sizeof(dir));

	assert_int_equal(mkdirat(dirfd, "lib", 0700), 0);
	assert_int_equal(fchmodat(dirfd, "lib", 0700, 0), 0);
	snprintf(path, sizeof(path), "%s/index.php", dir);
	put_file(path, "one\n", 4, 0600);
	snprintf(path, sizeof(path), "%s/lib/run", dir);
	put_file(path, "#!/bin/sh\n", 10, 0700);
	assert_int_equal(symlinkat("../index.php", dirfd, "lib/entry.php"), 0);
	if (artifact_check_tree(dirfd, err, sizeof(err)) < 0)
		fail_msg("check_tree: %s", err);
	assert_file(dirfd, "index.php", "one\n", 0644);
	assert_file(dirfd, "lib/run", "#!/bin/sh\n", 0755);
	assert_symlink(dirfd, "lib/entry.php", "../index.php");
	assert_dir(dirfd, "lib");
	close(dirfd);
}

/* git happily checks out "passwd -> /etc/passwd"; the release may not hold it. */
static void test_check_tree_hostile_symlink(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int dirfd = fresh_dir(f, NULL, 0);

	assert_int_equal(symlinkat("/etc/passwd", dirfd, "passwd"), 0);
	assert_int_equal(artifact_check_tree(dirfd, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "member passwd: symlink target is absolute"));
	close(dirfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_extract_valid_none),
		T(test_extract_valid_gzip),
		T(test_extract_valid_zstd),
		T(test_extract_valid_xz),
		T(test_extract_dot_prefix),
		T(test_extract_hostile),
		T(test_extract_nothing_outside),
		T(test_extract_empty_name),
		T(test_extract_not_an_archive),
		T(test_extract_requires_limits),
		T(test_extract_bomb),
		T(test_extract_budget_total),
		T(test_extract_max_entries),
		T(test_check_member_table),
		T(test_source_detect_table),
		T(test_source_detect_messages),
		T(test_source_git_split),
		T(test_stream_dir_file_roundtrip),
		T(test_stream_dir_pipe_roundtrip),
		T(test_stream_dir_fifo_named),
		T(test_stream_dir_socket),
		T(test_check_tree_normalises),
		T(test_check_tree_hostile_symlink),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
