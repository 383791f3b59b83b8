/* SPDX-License-Identifier: MIT */
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops.h"
#include "helper.h"
#include "manifest.h"
#include "store.h"
#include "util.h"

#define VERIFY_MAX_DEPTH 1024
#define MANIFEST_MAX_READ (256ull * 1024 * 1024)
#define HASH_BUF (256 * 1024)

/* Called for every entry below the top; returns < 0 to stop, 1 not to
 * descend into a directory, 0 to go on. */
typedef int (*tree_fn)(void *ctx, int dirfd, const char *name, const char *path, const struct stat *st);

static int tree_walk(int dirfd, const char *path, unsigned depth, tree_fn fn, void *ctx)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r = 0;

	r = fs_opendir(dirfd, &d);
	if (r < 0)
		return r;
	if (depth > VERIFY_MAX_DEPTH)
		return -ELOOP;
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		_cleanup_close_ int sub = -EBADF;
		char sp[4096];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		r = *path ? str_printf(sp, sizeof(sp), "%s/%s", path, de->d_name) :
			    str_copy(sp, sizeof(sp), de->d_name);
		if (r < 0)
			return r;
		r = fn(ctx, dirfd, de->d_name, sp, &st);
		if (r != 0 || !S_ISDIR(st.st_mode))
			continue;
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return -errno;
		r = tree_walk(sub, sp, depth + 1, fn, ctx);
	}
	if (r >= 0 && errno)
		r = -errno;
	return r < 0 ? r : 0;
}

/* ---- sealed: before every switch and rollback ---------------------- */

struct sealed_ctx {
	bool want_links;
	char *bad;
	size_t n;
};

static int sealed_entry(void *ctx, int dirfd, const char *name, const char *path, const struct stat *st)
{
	struct sealed_ctx *c = ctx;
	bool ok = st->st_uid == 0;

	if (S_ISREG(st->st_mode))
		ok = ok && !(st->st_mode & 06222) && (!c->want_links || st->st_nlink >= 2);
	else if (S_ISDIR(st->st_mode))
		ok = ok && !(st->st_mode & 07222);
	else if (!S_ISLNK(st->st_mode))
		ok = false;
	if (ok)
		return 0;
	str_copy(c->bad, c->n, path);
	return -EUCLEAN;
}

int verify_sealed(int dirfd, bool want_links, char *bad, size_t n)
{
	struct sealed_ctx c = { .want_links = want_links, .bad = bad, .n = n };

	bad[0] = '\0';
	return tree_walk(dirfd, "", 0, sealed_entry, &c);
}

/* ---- usage: list ----------------------------------------------------- */

struct usage_ctx {
	uint64_t own, shared;
};

static int usage_entry(void *ctx, int dirfd, const char *name, const char *path, const struct stat *st)
{
	struct usage_ctx *u = ctx;

	if (S_ISREG(st->st_mode)) {
		if (st->st_nlink == 2)
			u->own += (uint64_t)st->st_size;
		else
			u->shared += (uint64_t)st->st_size;
	}
	return 0;
}

int verify_usage(int dirfd, uint64_t *ret_own, uint64_t *ret_shared)
{
	struct usage_ctx u = { 0 };
	int r = tree_walk(dirfd, "", 0, usage_entry, &u);

	*ret_own = u.own;
	*ret_shared = u.shared;
	return r;
}

/* ---- cutover verify ------------------------------------------------ */

struct verify_ctx {
	struct helper *h;
	int objects_fd;
	struct manifest_entry *v;   /* sorted by path */
	bool *seen;
	size_t n;
	uint64_t differences, files;
	unsigned char *buf;
	EVP_MD_CTX *md;
};

static int cmp_entry_path(const void *a, const void *b)
{
	return strcmp(((const struct manifest_entry *)a)->path, ((const struct manifest_entry *)b)->path);
}

/* One difference: an ENTRY to the front end, which words it. */
static int verify_report(struct verify_ctx *c, const char *path, enum verify_kind kind,
			 uint64_t expected, uint64_t found)
{
	struct proto_msg e;

	c->differences++;
	proto_init(&e, OP_ENTRY);
	str_copy(e.text, sizeof(e.text), path);
	e.arg[0] = kind;
	e.arg[1] = expected;
	e.arg[2] = found;
	return helper_send(c->h, &e, -1) < 0 ? -EPIPE : 0;
}

static char type_of(mode_t m)
{
	return S_ISDIR(m) ? 'd' : S_ISREG(m) ? 'f' : S_ISLNK(m) ? 'l' : '?';
}

/* The SHA-256 of the file dirfd/name as hex, read through our own fd. */
static int verify_hash(struct verify_ctx *c, int dirfd, const char *name, const struct stat *st, char *hex)
{
	_cleanup_close_ int fd = -EBADF;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	struct stat st2;
	ssize_t got;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st2) < 0)
		return -errno;
	if (st2.st_ino != st->st_ino || st2.st_dev != st->st_dev)
		return -ESTALE;
	if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	while ((got = read(fd, c->buf, HASH_BUF)) > 0)
		if (EVP_DigestUpdate(c->md, c->buf, (size_t)got) != 1)
			return -EIO;
	if (got < 0)
		return -errno;
	if (EVP_DigestFinal_ex(c->md, d, &dlen) != 1 || dlen != STORE_DIGEST_LEN)
		return -EIO;
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	c->files++;
	return 0;
}

/* Is the file st the object that manifest entry m names? */
static bool verify_linked(const struct verify_ctx *c, const struct manifest_entry *m, const struct stat *st)
{
	unsigned char d[STORE_DIGEST_LEN];
	char base[STORE_NAME_MAX], name[STORE_NAME_MAX];
	struct stat o;
	mode_t mode;

	if (c->objects_fd < 0 || snprintf(base, sizeof(base), "%s-%04o", m->value, (unsigned)m->mode) >= (int)sizeof(base) ||
	    store_object_parse(base, d, &mode) < 0 || store_object_name(name, sizeof(name), d, mode) < 0)
		return false;
	return fstatat(c->objects_fd, name, &o, AT_SYMLINK_NOFOLLOW) == 0 &&
	       o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

/* One entry of the release against its line of the manifest. */
static int verify_compare(struct verify_ctx *c, const struct manifest_entry *m, int dirfd,
			  const char *name, const char *path, const struct stat *st)
{
	uint64_t owner = (uint64_t)st->st_uid << 32 | st->st_gid;
	char got[4096];
	int r = 0;

	if (type_of(st->st_mode) != m->type)
		return verify_report(c, path, VERIFY_TYPE, (uint64_t)m->type, (uint64_t)type_of(st->st_mode));
	if (owner != ((uint64_t)m->uid << 32 | m->gid))
		r = verify_report(c, path, VERIFY_OWNER, (uint64_t)m->uid << 32 | m->gid, owner);
	if (r == 0 && m->type != 'l' && (st->st_mode & 07777) != m->mode)
		r = verify_report(c, path, VERIFY_MODE, m->mode, st->st_mode & 07777);
	if (r < 0 || m->type == 'd')
		return r;
	if (m->type == 'l') {
		ssize_t n = readlinkat(dirfd, name, got, sizeof(got) - 1);

		if (n < 0)
			return -errno;
		got[n] = '\0';
		return strcmp(got, m->value) == 0 ? 0 : verify_report(c, path, VERIFY_TARGET, 0, 0);
	}
	r = verify_hash(c, dirfd, name, st, got);
	if (r < 0)
		return r;
	if (strcmp(got, m->value) != 0)
		r = verify_report(c, path, VERIFY_CONTENT, 0, 0);
	if (r == 0 && !verify_linked(c, m, st))
		r = verify_report(c, path, VERIFY_NOT_LINKED, st->st_nlink, 0);
	return r;
}

static struct manifest_entry *verify_find(struct verify_ctx *c, const char *path)
{
	struct manifest_entry key = { .path = (char *)path };

	return bsearch(&key, c->v, c->n, sizeof(*c->v), cmp_entry_path);
}

static int verify_entry(void *ctx, int dirfd, const char *name, const char *path, const struct stat *st)
{
	struct verify_ctx *c = ctx;
	struct manifest_entry *m = verify_find(c, path);
	int r;

	if (!m) {
		r = verify_report(c, path, VERIFY_EXTRA, 0, (uint64_t)type_of(st->st_mode));
		return r < 0 ? r : 1;   /* what is below an extra directory is extra too */
	}
	c->seen[m - c->v] = true;
	r = verify_compare(c, m, dirfd, name, path, st);
	if (r < 0)
		return r;
	return m->type == 'd' ? 0 : 1;
}

/* Reads and parses the entries file of id into c (sorted by path). *ret_buf
 * holds the text the entries point into. */
static int verify_load(struct verify_ctx *c, const struct layout *l, const char *id, char **ret_buf)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	char name[RELEASE_ID_MAX + 16], *save = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	ssize_t got;

	snprintf(name, sizeof(name), "%s.manifest", id);
	fd = l->entries_fd < 0 ? -ENOENT : openat(l->entries_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fd == -ENOENT || errno == ENOENT ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > MANIFEST_MAX_READ)
		return -EFBIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (len < (size_t)st.st_size && (got = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (c->n == cap) {
			struct manifest_entry *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(c->v, cap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			c->v = nv;
		}
		if (manifest_parse_line(line, &c->v[c->n]) < 0)
			return -EBADMSG;
		c->n++;
	}
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_entry_path);
	c->seen = calloc(c->n ? c->n : 1, sizeof(*c->seen));
	if (!c->seen)
		return -ENOMEM;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/* Walks the release: the top, everything below, then what is missing. */
static int verify_run(struct verify_ctx *c, int fd)
{
	struct manifest_entry *top = verify_find(c, ".");
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!top)
		r = verify_report(c, ".", VERIFY_MISSING, 'd', 0);
	else {
		c->seen[top - c->v] = true;
		r = verify_compare(c, top, fd, ".", ".", &st);
	}
	if (r == 0)
		r = tree_walk(fd, "", 0, verify_entry, c);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if (!c->seen[i])
			r = verify_report(c, c->v[i].path, VERIFY_MISSING, (uint64_t)c->v[i].type, 0);
	return r;
}

/* Which release: the one named, else the current one. 0 or a reply. */
static int verify_pick(struct helper *h, const struct proto_msg *req, char *id, size_t n,
		       struct proto_msg *rep)
{
	struct release_info ri;

	if (req->id[0])
		str_copy(id, n, req->id);
	else if (h->absent || current_read(&h->l, id, n) < 0 || !id[0]) {
		reply_fail(rep, -ENOENT, ERR_NO_CURRENT, NULL);
		return 1;
	}
	if (h->absent || state_read(&h->l, id, &ri) < 0 || ri.state != RELEASE_FROZEN) {
		reply_fail(rep, -ENOENT, ERR_NOT_FROZEN, NULL);
		str_copy(rep->id, sizeof(rep->id), id);
		return 1;
	}
	return 0;
}

int op_verify(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct verify_ctx c = { .h = h, .objects_fd = h->l.objects_fd };
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	char id[RELEASE_ID_MAX + 1];
	int r;

	if (verify_pick(h, req, id, sizeof(id), rep))
		return 0;
	r = verify_load(&c, &h->l, id, &text);
	if (r == 0) {
		fd = fs_open_beneath(h->l.releases_fd, id, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0) {
			/* Its state says frozen, but the tree is gone (a prune
			 * killed halfway): not a missing manifest. */
			free(c.v);
			free(c.seen);
			reply_fail(rep, -ENOENT, ERR_NOT_FROZEN, NULL);
			str_copy(rep->id, sizeof(rep->id), id);
			return 0;
		}
		c.buf = malloc(HASH_BUF);
		c.md = EVP_MD_CTX_new();
		r = fd < 0 ? fd : !c.buf || !c.md ? -ENOMEM : verify_run(&c, fd);
	}
	free(c.v);
	free(c.seen);
	free(c.buf);
	EVP_MD_CTX_free(c.md);
	if (r == -ENOENT || r == -EBADMSG) {
		reply_fail(rep, r, ERR_NO_MANIFEST, NULL);
		str_copy(rep->id, sizeof(rep->id), id);
		return 0;
	}
	if (r < 0)
		return r;
	reply_init(rep, 0, NULL);
	str_copy(rep->id, sizeof(rep->id), id);
	rep->arg[0] = c.differences;
	rep->arg[1] = c.files;
	rep->arg[2] = c.n;
	return 0;
}
