/* SPDX-License-Identifier: MIT */
#include "fpm_slot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

bool fpm_slot_valid(char slot)
{
	return slot == 'a' || slot == 'b';
}

char fpm_slot_other(char slot)
{
	return slot == 'a' ? 'b' : 'a';
}

int fpm_slot_parse_instance(const char *instance, char app[APP_NAME_MAX + 1], char *ret_slot)
{
	const char *colon = instance ? strrchr(instance, ':') : NULL;
	size_t len;

	if (!colon || !fpm_slot_valid(colon[1]) || colon[2] != '\0')
		return -EINVAL;
	len = (size_t)(colon - instance);
	if (len == 0 || len > APP_NAME_MAX)
		return -EINVAL;
	memcpy(app, instance, len);
	app[len] = '\0';
	if (!app_name_valid(app))
		return -EINVAL;
	*ret_slot = colon[1];
	return 0;
}

int fpm_slot_name(char *buf, size_t n, const char *app, char slot)
{
	if (!app_name_valid(app) || !fpm_slot_valid(slot))
		return -EINVAL;
	return str_printf(buf, n, "%s:%c", app, slot);
}

int fpm_slot_dir_name(char *buf, size_t n, const char *app, char slot)
{
	if (!app_name_valid(app) || !fpm_slot_valid(slot))
		return -EINVAL;
	return str_printf(buf, n, "%s.%c", app, slot);
}

int fpm_slot_path(char *buf, size_t n, const char *app, char slot, const char *file)
{
	if (!app_name_valid(app) || !fpm_slot_valid(slot))
		return -EINVAL;
	if (!file)
		return str_printf(buf, n, FPM_SWAP_DIR "/%s.%c", app, slot);
	return str_printf(buf, n, FPM_SWAP_DIR "/%s.%c/%s", app, slot, file);
}

int fpm_slot_unit(char *buf, size_t n, const char *app, char slot)
{
	if (!app_name_valid(app) || !fpm_slot_valid(slot))
		return -EINVAL;
	return str_printf(buf, n, "cutover-fpm@%s:%c.service", app, slot);
}

/* php-fpm, or php-fpm followed by a version: digits and dots only. */
static bool binary_name(const char *s)
{
	if (strncmp(s, "php-fpm", 7) != 0)
		return false;
	s += 7;
	if (!*s)
		return true;
	if (*s < '0' || *s > '9')
		return false;
	return strspn(s, "0123456789.") == strlen(s);
}

int fpm_slot_binary(const struct fpm_config *f, char *buf, size_t n)
{
	_cleanup_closedir_ DIR *d = NULL;
	char found[64] = "";
	struct dirent *e;

	if (f->binary[0])
		return str_copy(buf, n, f->binary);
	d = opendir("/usr/sbin");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!binary_name(e->d_name))
			continue;
		if (found[0])
			return -ENOTUNIQ;
		if (str_copy(found, sizeof(found), e->d_name) < 0)
			return -ENAMETOOLONG;
	}
	if (!found[0])
		return -ENOENT;
	return str_printf(buf, n, "/usr/sbin/%s", found);
}

const char *fpm_slot_template_forbidden(const char *text, size_t len)
{
	static const char *const forbidden[] = { "include", "prefix", "chroot" };
	const char *p = text, *end = text + len;

	/* php-fpm reads past what a C string shows, and ends a line at a
	 * lone CR too: such a file is not checked, it is refused (review 14b). */
	if (memchr(text, '\0', len))
		return "a NUL byte";
	for (const char *q = text; q < end; q++)
		if (*q == '\r' && (q + 1 == end || q[1] != '\n'))
			return "a carriage return that ends no line";
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
			size_t kl = strlen(forbidden[i]);

			/* php-fpm's ini parser takes keys case-insensitively */
			if ((size_t)(end - p) > kl && strncasecmp(p, forbidden[i], kl) == 0 &&
			    (p[kl] == ' ' || p[kl] == '\t' || p[kl] == '='))
				return forbidden[i];
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

int fpm_slot_template_read(const char *path, char **ret_text, size_t *ret_len, char *why, size_t wn)
{
	_cleanup_free_ char *text = malloc(FPM_SLOT_TEMPLATE_MAX + 2);
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;
	ssize_t got;

	if (!text)
		return snprintf(why, wn, "out of memory"), -ENOMEM;
	fd = path_open_trusted(path, false, why, wn);
	if (fd < 0)
		return fd;
	/* One byte more than the limit tells a longer file. */
	while (len <= FPM_SLOT_TEMPLATE_MAX && (got = read(fd, text + len, FPM_SLOT_TEMPLATE_MAX + 1 - len)) > 0)
		len += (size_t)got;
	if (got < 0 && len <= FPM_SLOT_TEMPLATE_MAX) {
		int r = -errno;

		return snprintf(why, wn, "cannot read %s: %s", path, strerror(-r)), r;
	}
	if (len > FPM_SLOT_TEMPLATE_MAX)
		return snprintf(why, wn, "%s is larger than %d KiB", path, FPM_SLOT_TEMPLATE_MAX / 1024), -EFBIG;
	text[len] = '\0';
	*ret_text = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}
