/* SPDX-License-Identifier: MIT */
/*
 * The config parser on arbitrary text. The input is the file's content;
 * one with a NUL byte must be refused by config_parse_stream (a file read
 * from disk) and is not given to config_parse_string, which takes a C
 * string. Every other input goes through both, which must agree. After a
 * successful parse the config must satisfy what the helper relies on
 * without re-checking: paths normalised, names valid, lists bounded.
 */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>

#include "config.h"

static bool fz_config_abspath(const char *s)
{
	return s[0] == '/' && strlen(s) < 256 && config_relpath_valid(s + 1);
}

static bool fz_config_user_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_USER_MAX || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool fz_config_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void fz_config_check_list(char *const *v, size_t n, bool (*valid)(const char *))
{
	FUZZ_CHECK(n <= CONFIG_MAX_LIST);
	for (size_t i = 0; i < n && i < CONFIG_MAX_LIST; i++) {
		FUZZ_CHECK(v[i] != NULL);
		if (!v[i])
			continue;
		FUZZ_CHECK(strlen(v[i]) < CONFIG_MAX_VALUE);
		if (valid)
			FUZZ_CHECK(valid(v[i]));
	}
}

static void fz_config_check_unique(char *const *v, size_t n)
{
	for (size_t i = 0; i < n && i < CONFIG_MAX_LIST; i++)
		for (size_t j = i + 1; j < n && j < CONFIG_MAX_LIST; j++)
			FUZZ_CHECK(strcmp(v[i], v[j]) != 0);
}

static bool fz_config_env_entry(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (const char *p = s; p < eq; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", *p))
			return false;
	return true;
}

static bool fz_config_nonempty(const char *s)
{
	return s[0] != '\0';
}

/* What a successfully parsed config promises. */
static void fz_config_check(const struct config *c)
{
	FUZZ_CHECK(fuzz_terminated(c->root, sizeof(c->root)));
	FUZZ_CHECK(fuzz_terminated(c->user, sizeof(c->user)));
	FUZZ_CHECK(fuzz_terminated(c->group, sizeof(c->group)));
	FUZZ_CHECK(fuzz_terminated(c->web_group, sizeof(c->web_group)));
	FUZZ_CHECK(fuzz_terminated(c->docroot, sizeof(c->docroot)));

	/* root: absolute, normalised, not "/" itself. */
	FUZZ_CHECK(fz_config_abspath(c->root));
	FUZZ_CHECK(!fuzz_has_component(c->root + 1, "..") &&
		   !fuzz_has_component(c->root + 1, ".") &&
		   !strstr(c->root, "//"));
	FUZZ_CHECK(fz_config_user_name(c->user));
	FUZZ_CHECK(fz_config_user_name(c->group));
	FUZZ_CHECK(fz_config_user_name(c->web_group));
	FUZZ_CHECK(config_relpath_valid(c->docroot));
	FUZZ_CHECK(c->keep >= 1 && c->keep <= 1000);
	FUZZ_CHECK(c->mode == PUBLISH_SYMLINK);

	fz_config_check_list(c->allow_users, c->n_allow_users, fz_config_user_name);
	fz_config_check_list(c->shared_dirs, c->n_shared_dirs, config_relpath_valid);
	fz_config_check_list(c->shared_files, c->n_shared_files, config_relpath_valid);
	fz_config_check_list(c->build_run, c->n_build_run, fz_config_nonempty);
	fz_config_check_list(c->build_env, c->n_build_env, fz_config_env_entry);
	fz_config_check_unique(c->allow_users, c->n_allow_users);
	fz_config_check_unique(c->shared_dirs, c->n_shared_dirs);
	fz_config_check_unique(c->shared_files, c->n_shared_files);
	for (size_t i = 0; i < c->n_shared_dirs && i < CONFIG_MAX_LIST; i++)
		FUZZ_CHECK(!fuzz_has_component(c->shared_dirs[i], "..") &&
			   c->shared_dirs[i][0] != '/');
	for (size_t i = 0; i < c->n_shared_files && i < CONFIG_MAX_LIST; i++)
		FUZZ_CHECK(!fuzz_has_component(c->shared_files[i], "..") &&
			   c->shared_files[i][0] != '/');

	FUZZ_CHECK(c->build_timeout >= 1 && c->build_timeout <= 86400);
	FUZZ_CHECK(c->max_size >= (1ULL << 20));
	FUZZ_CHECK(c->max_files >= 1 && c->max_files <= 100000000);
	FUZZ_CHECK(c->max_procs >= 16 && c->max_procs <= 1000000);
	FUZZ_CHECK(c->max_memory >= (64ULL << 20));

	/* [hooks] and [migrate]: commands, never empty; a migration that
	 * cannot be vetted needs the explicit opt-out. */
	fz_config_check_list(c->before_switch, c->n_before_switch, fz_config_nonempty);
	fz_config_check_list(c->after_switch, c->n_after_switch, fz_config_nonempty);
	FUZZ_CHECK(fuzz_terminated(c->migrate.run, sizeof(c->migrate.run)));
	FUZZ_CHECK(fuzz_terminated(c->migrate.pretend, sizeof(c->migrate.pretend)));
	if (c->migrate.run[0])
		FUZZ_CHECK(c->migrate.pretend[0] || c->migrate.allow_destructive);
	FUZZ_CHECK(c->preset == PRESET_NONE || c->preset == PRESET_LARAVEL);
	if (c->preset == PRESET_LARAVEL) {
		/* What the preset fills in where the config is silent. */
		FUZZ_CHECK(c->n_shared_dirs > 0 && c->n_shared_files > 0 && c->n_build_run > 0 &&
			   c->n_after_switch > 0);
		FUZZ_CHECK(c->migrate.run[0] && c->migrate.pretend[0]);
	}
	if (c->laravel_storage) {
		bool storage = false;

		for (size_t i = 0; i < c->n_shared_dirs && i < CONFIG_MAX_LIST; i++)
			storage |= strcmp(c->shared_dirs[i], "storage") == 0;
		FUZZ_CHECK(c->preset == PRESET_LARAVEL && storage);
	}

	FUZZ_CHECK(fuzz_terminated(c->fpm.pid_file, sizeof(c->fpm.pid_file)));
	FUZZ_CHECK(fuzz_terminated(c->fpm.socket, sizeof(c->fpm.socket)));
	FUZZ_CHECK(fuzz_terminated(c->fpm.status_path, sizeof(c->fpm.status_path)));
	FUZZ_CHECK(!c->fpm.pid_file[0] || fz_config_abspath(c->fpm.pid_file));
	FUZZ_CHECK(fz_config_printable(c->fpm.socket));
	FUZZ_CHECK(!c->fpm.status_path[0] ||
		   (c->fpm.status_path[0] == '/' && fz_config_printable(c->fpm.status_path) &&
		    !strpbrk(c->fpm.status_path, "?# ")));
	FUZZ_CHECK(c->fpm.n_warm_urls <= FPM_WARM_URLS_MAX);
	if (c->fpm.enabled && c->fpm.reload == FPM_RELOAD_GRACEFUL)
		FUZZ_CHECK(c->fpm.pid_file[0] != '\0');
	if (c->fpm.enabled && c->fpm.reload == FPM_RELOAD_OPCACHE_RESET)
		FUZZ_CHECK(c->fpm.socket[0] != '\0');
	FUZZ_CHECK(c->fpm.max_inflight_ms <= 600000);
	FUZZ_CHECK(c->fpm.timeout >= 1 && c->fpm.timeout <= 3600);

	FUZZ_CHECK(fuzz_terminated(c->health.url, sizeof(c->health.url)));
	FUZZ_CHECK(fuzz_terminated(c->health.host, sizeof(c->health.host)));
	FUZZ_CHECK(fuzz_terminated(c->health.expect_body, sizeof(c->health.expect_body)));
	if (c->health.enabled)
		FUZZ_CHECK(strncmp(c->health.url, "http://", 7) == 0 ||
			   strncmp(c->health.url, "https://", 8) == 0);
	FUZZ_CHECK(fz_config_printable(c->health.url) && !strchr(c->health.url, ' '));
	FUZZ_CHECK(fz_config_printable(c->health.host) && !strpbrk(c->health.host, " /"));
	FUZZ_CHECK(fz_config_printable(c->health.expect_body));
	FUZZ_CHECK(c->health.expect_status >= 100 && c->health.expect_status <= 599);
	FUZZ_CHECK(c->health.timeout >= 1 && c->health.timeout <= 300);
	FUZZ_CHECK(c->health.retries >= 1 && c->health.retries <= 100);
}

/* The two parses of one text must produce the same config. */
static void fz_config_check_same(const struct config *a, const struct config *b)
{
	FUZZ_CHECK(strcmp(a->root, b->root) == 0);
	FUZZ_CHECK(strcmp(a->user, b->user) == 0);
	FUZZ_CHECK(strcmp(a->docroot, b->docroot) == 0);
	FUZZ_CHECK(a->n_shared_dirs == b->n_shared_dirs);
	FUZZ_CHECK(a->n_shared_files == b->n_shared_files);
	FUZZ_CHECK(a->n_build_run == b->n_build_run);
	FUZZ_CHECK(a->n_build_env == b->n_build_env);
	FUZZ_CHECK(a->n_allow_users == b->n_allow_users);
	FUZZ_CHECK(a->keep == b->keep && a->max_size == b->max_size);
	FUZZ_CHECK(a->fpm.enabled == b->fpm.enabled && a->health.enabled == b->health.enabled);
	FUZZ_CHECK(a->preset == b->preset && a->n_after_switch == b->n_after_switch &&
		   a->n_before_switch == b->n_before_switch);
	FUZZ_CHECK(strcmp(a->migrate.run, b->migrate.run) == 0);
}

int fuzz_config(const uint8_t *data, size_t size)
{
	/* Heap, not stack: struct config holds a PATH_MAX array. */
	struct config *c1 = NULL, *c2 = NULL;
	char err1[512], err2[512];
	char *text = NULL;
	FILE *f = NULL;
	int r1, r2 = 0;
	bool has_nul;

	/* config_parse_stream reads at most 64 KiB + 1. */
	if (size > 64 * 1024)
		return 0;
	has_nul = size > 0 && memchr(data, '\0', size) != NULL;
	c1 = calloc(1, sizeof(*c1));
	c2 = calloc(1, sizeof(*c2));
	text = fuzz_strndup(data, size);
	if (!c1 || !c2 || !text)
		goto out;

	/* glibc >= 2.22 accepts size 0: an empty file is a real input. */
	f = fmemopen(text, size, "r");
	if (!f)
		goto out;
	config_init(c1);
	err1[0] = '\0';
	r1 = config_parse_stream(c1, f, "config", err1, sizeof(err1));
	FUZZ_CHECK(r1 == 0 || r1 == -EINVAL || r1 == -ENOMEM);
	FUZZ_CHECK(fuzz_terminated(err1, sizeof(err1)));
	if (has_nul)
		FUZZ_CHECK(r1 == -EINVAL);
	if (r1 == 0)
		fz_config_check(c1);
	else
		FUZZ_CHECK(err1[0] != '\0');

	if (!has_nul) {
		config_init(c2);
		err2[0] = '\0';
		r2 = config_parse_string(c2, text, err2, sizeof(err2));
		FUZZ_CHECK(r2 == r1);
		FUZZ_CHECK(fuzz_terminated(err2, sizeof(err2)));
		if (r2 == 0) {
			fz_config_check(c2);
			if (r1 == 0)
				fz_config_check_same(c1, c2);
		}
		config_free(c2);
	}
	config_free(c1);
out:
	if (f)
		fclose(f);
	free(text);
	free(c1);
	free(c2);
	return 0;
}

FUZZ_ENTRY(fuzz_config)
