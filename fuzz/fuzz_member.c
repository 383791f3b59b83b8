/* SPDX-License-Identifier: MIT */
/*
 * artifact_check_member(), the rule every archive member and every file of
 * a git checkout must pass before it is written. Input layout:
 *
 *   byte 0  bits 0-3 file type (see fz_member_types), bit 4 setuid,
 *           bit 5 setgid, bit 6 hard link, bit 7 no link target (NULL)
 *   byte 1  permission bits
 *   byte 2  error buffer size / 3 (0: no buffer)
 *   rest    PATH, then after the first NUL the link target
 *
 * When the check accepts, the member must be safe by our own reckoning:
 * a relative path with no ".", ".." or empty component, a plain type, no
 * set-id bit, and a symlink whose target, resolved lexically from the
 * member's directory, stays inside the release.
 */
#include "fuzz.h"

#include <errno.h>
#include <sys/stat.h>

#include "artifact.h"

static const mode_t fz_member_types[16] = {
	0, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
	S_IFLNK, S_IFLNK, S_IFLNK, S_IFLNK, S_IFREG, S_IFDIR,
	0030000, 0170000,   /* not a type at all */
};

/* The path rules of artifact.h, independently: relative, short, and no
 * empty, "." or ".." component, no component of 256 bytes or more. */
static bool fz_member_path_ok(const char *path)
{
	if (!path || !*path || path[0] == '/' || strlen(path) >= 4096)
		return false;
	for (const char *p = path; ; ) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || len >= 256 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* ".." only before the first name: after a name, the name may be a symlink
 * and the kernel would climb from where it points, not from here. */
static bool fz_member_dotdot_leading(const char *target)
{
	bool seen_name = false;

	for (const char *p = target; ; ) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (seen_name)
				return false;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			seen_name = true;
		}
		if (!slash)
			return true;
		p = slash + 1;
	}
}

int fuzz_member(const uint8_t *data, size_t size)
{
	char *buf = NULL, *err = NULL;
	const char *path, *target = NULL;
	mode_t mode;
	bool hardlink;
	size_t errlen, plen;
	int r;

	if (size < 3)
		return 0;
	mode = fz_member_types[data[0] & 0x0f] | data[1];
	if (data[0] & 0x10)
		mode |= S_ISUID;
	if (data[0] & 0x20)
		mode |= S_ISGID;
	hardlink = data[0] & 0x40;
	errlen = (size_t)data[2] * 3;

	buf = fuzz_strndup(data + 3, size - 3);
	if (!buf)
		return 0;
	path = buf;
	plen = strlen(path);
	if (!(data[0] & 0x80))
		target = plen < size - 3 ? path + plen + 1 : "";
	/* Exact-size error buffer, so that an overrun is caught. */
	if (errlen > 0) {
		err = malloc(errlen);
		if (!err) {
			free(buf);
			return 0;
		}
		memset(err, 'x', errlen);
	}

	r = artifact_check_member(path, mode, target, hardlink, err, errlen);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		/* The reason is always a whole C string, cut to fit. */
		if (err)
			FUZZ_CHECK(fuzz_terminated(err, errlen));
		if (err && errlen > 8)
			FUZZ_CHECK(strncmp(err, "member ", 7) == 0);
		goto out;
	}

	FUZZ_CHECK(fz_member_path_ok(path));
	FUZZ_CHECK(!fuzz_has_component(path, "..") && path[0] != '/');
	FUZZ_CHECK(!(mode & (S_ISUID | S_ISGID)));
	if (hardlink) {
		FUZZ_CHECK(S_ISREG(mode) || (mode & S_IFMT) == 0);
		FUZZ_CHECK(fz_member_path_ok(target));
	} else {
		FUZZ_CHECK(S_ISREG(mode) || S_ISDIR(mode) || S_ISLNK(mode));
	}
	if (!hardlink && S_ISLNK(mode)) {
		FUZZ_CHECK(target != NULL && target[0] != '\0');
		if (target && target[0]) {
			FUZZ_CHECK(target[0] != '/' && strlen(target) < 4096);
			FUZZ_CHECK(fuzz_symlink_stays_inside(path, target));
			FUZZ_CHECK(fz_member_dotdot_leading(target));
		}
	}
out:
	free(err);
	free(buf);
	return 0;
}

FUZZ_ENTRY(fuzz_member)
