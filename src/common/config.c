/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "util.h"

/* inih (Debian 12, r55) is built with INI_MAX_LINE 200 and silently splits
 * longer lines; we reject them ourselves before it sees them. */
#define CONFIG_MAX_LINE 198
#define CONFIG_MAX_FILE (64 * 1024)

struct parse_state {
	struct config *c;
	char err[256];
	bool failed;
	bool seen_root, seen_user, seen_group, seen_web_group;
	bool notify_seen;
	/* "section.key" of every single-valued key seen, to refuse repeats. */
	char seen[96][40];
	size_t n_seen;
};

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->keep = 5;
	c->mode = PUBLISH_SYMLINK;
	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	c->web_gid = (gid_t)-1;
	c->operators_gid = (gid_t)-1;
	str_copy(c->docroot, sizeof(c->docroot), "public");
	c->build_timeout = 600;
	c->max_size = 4ULL << 30;
	c->max_files = 500000;
	c->max_procs = 1024;
	c->max_memory = 4ULL << 30;
	c->fpm.reload = FPM_RELOAD_GRACEFUL;
	c->fpm.max_inflight_ms = 500;
	c->fpm.timeout = 60;
	str_copy(c->fpm.user, sizeof(c->fpm.user), "www-data");
	c->fpm.keep_warm = 300;
	c->fpm.warm_requests = 4;
	c->health.expect_status = 200;
	c->health.timeout = 10;
	c->health.retries = 3;
	c->health.rollback = true;
	c->health.precheck = true;
	c->notify.format = NOTIFY_JSON;
	c->notify.timeout = 5;
	c->notify.retries = 2;
}

static void strv_free(char **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
}

void config_free(struct config *c)
{
	strv_free(c->before_switch, &c->n_before_switch);
	strv_free(c->after_switch, &c->n_after_switch);
	strv_free(c->on_failure, &c->n_on_failure);
	strv_free(c->after_rollback, &c->n_after_rollback);
	strv_free(c->notify.urls, &c->notify.n_urls);
	strv_free(c->fpm.warm_urls, &c->fpm.n_warm_urls);
	strv_free(c->allow_users, &c->n_allow_users);
	strv_free(c->shared_dirs, &c->n_shared_dirs);
	strv_free(c->shared_files, &c->n_shared_files);
	strv_free(c->build_run, &c->n_build_run);
	strv_free(c->build_env, &c->n_build_env);
}

bool config_relpath_valid(const char *s)
{
	const char *p = s;

	if (!s || !*s || *s == '/' || strlen(s) >= 256)
		return false;
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return false;   /* trailing slash */
	}
	return true;
}

/* An absolute, normalised path that is not "/": no "//", ".", "..". */
static bool abspath_valid(const char *s)
{
	return s && s[0] == '/' && strlen(s) < 256 &&
	       config_relpath_valid(s + 1);
}

static bool user_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_USER_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static bool env_entry_valid(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (const char *p = s; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

static int fail(struct parse_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (!st->failed) {
		va_start(ap, fmt);
		vsnprintf(st->err, sizeof(st->err), fmt, ap);
		va_end(ap);
		st->failed = true;
	}
	return 0;   /* tells inih this line is an error */
}

static int set_string(struct parse_state *st, char *dst, size_t n,
		      const char *key, const char *value)
{
	if (!*value)
		return fail(st, "%s needs a value", key);
	if (str_copy(dst, n, value) < 0)
		return fail(st, "%s is too long", key);
	return 1;
}

/* Appends VALUE to V, which has room for MAX entries. */
static int list_add(struct parse_state *st, char **v, size_t *n, size_t max,
		    const char *key, const char *value)
{
	if (*n >= max)
		return fail(st, "too many %s entries (at most %zu)", key, max);
	if (strlen(value) >= CONFIG_MAX_VALUE)
		return fail(st, "%s is too long", key);
	v[*n] = strdup(value);
	if (!v[*n])
		return fail(st, "out of memory");
	(*n)++;
	return 1;
}

/* Splits a whitespace-separated value into list entries, validating each. */
static int list_add_words(struct parse_state *st, char **v, size_t *n,
			  size_t max, const char *key, const char *value,
			  bool (*valid)(const char *))
{
	char buf[CONFIG_MAX_VALUE];
	char *save = NULL;

	if (str_copy(buf, sizeof(buf), value) < 0)
		return fail(st, "%s is too long", key);
	for (char *w = strtok_r(buf, " \t,", &save); w;
	     w = strtok_r(NULL, " \t,", &save)) {
		if (!valid(w))
			return fail(st, "%s: '%s' is not a valid entry", key, w);
		for (size_t i = 0; i < *n; i++)
			if (strcmp(v[i], w) == 0)
				return fail(st, "%s: '%s' is listed twice", key, w);
		if (!list_add(st, v, n, max, key, w))
			return 0;
	}
	return 1;
}

static int handle_app(struct parse_state *st, const char *name,
		      const char *value)
{
	struct config *c = st->c;
	unsigned long long v;

	if (strcmp(name, "root") == 0) {
		if (!abspath_valid(value))
			return fail(st, "root = '%s' must be an absolute path without '.', '..', '//' or a trailing '/'", value);
		st->seen_root = true;
		return set_string(st, c->root, sizeof(c->root), name, value);
	}
	if (strcmp(name, "user") == 0 || strcmp(name, "group") == 0 ||
	    strcmp(name, "web_group") == 0) {
		char *dst = name[0] == 'u' ? c->user :
			    name[0] == 'g' ? c->group : c->web_group;
		if (!user_name_valid(value))
			return fail(st, "%s = '%s' is not a valid user or group name", name, value);
		if (name[0] == 'u') st->seen_user = true;
		else if (name[0] == 'g') st->seen_group = true;
		else st->seen_web_group = true;
		return set_string(st, dst, CONFIG_USER_MAX + 1, name, value);
	}
	if (strcmp(name, "operators") == 0) {
		/* none: the history stays root's alone (the default). */
		if (strcmp(value, "none") != 0 && !user_name_valid(value))
			return fail(st, "operators = '%s' is not a valid group name (or none)", value);
		if (strcmp(value, "none") == 0) {
			c->operators[0] = '\0';
			return 1;
		}
		return set_string(st, c->operators, sizeof(c->operators), name, value);
	}
	if (strcmp(name, "keep") == 0) {
		if (parse_uint(value, 1, 1000, &v) < 0)
			return fail(st, "keep = '%s' must be a number from 1 to 1000", value);
		c->keep = (unsigned)v;
		return 1;
	}
	if (strcmp(name, "mode") == 0) {
		if (strcmp(value, "symlink") == 0)
			c->mode = PUBLISH_SYMLINK;
		else if (strcmp(value, "bind") == 0)
			c->mode = PUBLISH_BIND;
		else
			return fail(st, "mode = '%s' must be symlink or bind", value);
		return 1;
	}
	if (strcmp(name, "live") == 0) {
		/* Where it sits relative to root is checked once both are known. */
		if (!abspath_valid(value))
			return fail(st, "live = '%s' must be an absolute path without '.', '..', '//' or a trailing '/'", value);
		return set_string(st, c->live, sizeof(c->live), name, value);
	}
	if (strcmp(name, "docroot") == 0) {
		if (!config_relpath_valid(value))
			return fail(st, "docroot = '%s' must be a relative path inside the release", value);
		return set_string(st, c->docroot, sizeof(c->docroot), name, value);
	}
	if (strcmp(name, "allow_users") == 0)
		return list_add_words(st, c->allow_users, &c->n_allow_users, CONFIG_MAX_LIST,
				      name, value, user_name_valid);
	if (strcmp(name, "preset") == 0) {
		if (strcmp(value, "laravel") == 0)
			c->preset = PRESET_LARAVEL;
		else if (strcmp(value, "none") == 0)
			c->preset = PRESET_NONE;
		else
			return fail(st, "preset = '%s' must be laravel or none", value);
		return 1;
	}
	return fail(st, "unknown key '%s' in [app]", name);
}

static int handle_shared(struct parse_state *st, const char *name,
			 const char *value)
{
	struct config *c = st->c;

	if (strcmp(name, "dirs") == 0)
		return list_add_words(st, c->shared_dirs, &c->n_shared_dirs, CONFIG_MAX_LIST,
				      name, value, config_relpath_valid);
	if (strcmp(name, "files") == 0)
		return list_add_words(st, c->shared_files, &c->n_shared_files, CONFIG_MAX_LIST,
				      name, value, config_relpath_valid);
	return fail(st, "unknown key '%s' in [shared]", name);
}

static int handle_build(struct parse_state *st, const char *name,
			const char *value)
{
	struct config *c = st->c;
	unsigned long long v;

	if (strcmp(name, "run") == 0) {
		if (!*value)
			return fail(st, "run needs a command");
		return list_add(st, c->build_run, &c->n_build_run, CONFIG_MAX_LIST, name, value);
	}
	if (strcmp(name, "env") == 0) {
		if (!env_entry_valid(value))
			return fail(st, "env = '%s' must be NAME=VALUE", value);
		return list_add(st, c->build_env, &c->n_build_env, CONFIG_MAX_LIST, name, value);
	}
	if (strcmp(name, "timeout") == 0) {
		if (parse_uint(value, 1, 86400, &v) < 0)
			return fail(st, "timeout = '%s' must be seconds from 1 to 86400", value);
		c->build_timeout = (unsigned)v;
		return 1;
	}
	if (strcmp(name, "max_size") == 0) {
		if (parse_size(value, &v) < 0 || v < (1ULL << 20))
			return fail(st, "max_size = '%s' must be a size of at least 1M (e.g. 2G)", value);
		c->max_size = v;
		return 1;
	}
	if (strcmp(name, "max_files") == 0) {
		if (parse_uint(value, 1, 100000000, &v) < 0)
			return fail(st, "max_files = '%s' must be a number from 1 to 100000000", value);
		c->max_files = v;
		return 1;
	}
	if (strcmp(name, "max_procs") == 0) {
		if (parse_uint(value, 16, 1000000, &v) < 0)
			return fail(st, "max_procs = '%s' must be a number from 16 to 1000000", value);
		c->max_procs = (unsigned)v;
		return 1;
	}
	if (strcmp(name, "ssh_key") == 0 || strcmp(name, "ssh_known_hosts") == 0) {
		/* Also a word of the ssh command git runs: no shell or ssh
		 * metacharacters ('%', '~', spaces). */
		if (!abspath_valid(value) || value[strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-")])
			return fail(st, "%s = '%s' must be an absolute path of letters, digits, '.', '_', '-' and '/'", name, value);
		if (strcmp(name, "ssh_key") == 0)
			return set_string(st, c->ssh_key, sizeof(c->ssh_key), name, value);
		return set_string(st, c->ssh_known_hosts, sizeof(c->ssh_known_hosts), name, value);
	}
	if (strcmp(name, "git_user") == 0) {
		if (!user_name_valid(value))
			return fail(st, "%s = '%s' is not a valid user name", name, value);
		return set_string(st, c->git_user, sizeof(c->git_user), name, value);
	}
	if (strcmp(name, "max_memory") == 0) {
		if (parse_size(value, &v) < 0 || v < (64ULL << 20))
			return fail(st, "max_memory = '%s' must be a size of at least 64M (e.g. 4G)", value);
		c->max_memory = v;
		return 1;
	}
	return fail(st, "unknown key '%s' in [build]", name);
}

static int parse_bool(struct parse_state *st, const char *name, const char *value, bool *ret)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "on") == 0)
		*ret = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "off") == 0)
		*ret = false;
	else
		return fail(st, "%s = '%s' must be yes or no", name, value);
	return 1;
}

static int parse_num(struct parse_state *st, const char *name, const char *value,
		     unsigned min, unsigned max, unsigned *ret)
{
	unsigned long long v;

	if (parse_uint(value, min, max, &v) < 0)
		return fail(st, "%s = '%s' must be a number from %u to %u", name, value, min, max);
	*ret = (unsigned)v;
	return 1;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A warm-up request: a path and query, no scheme or host (the pool is
 * asked directly, not through the web server). */
static bool warm_url_valid(const char *s)
{
	return s[0] == '/' && strlen(s) < 256 && printable(s) && !strpbrk(s, " #");
}

/* The keys of reload = swap (docs/POOLSWAP.md). */
static int handle_fpm_swap(struct parse_state *st, struct fpm_config *f, const char *name, const char *value)
{
	unsigned long long v;

	if (strcmp(name, "live_socket") == 0) {
		if (!abspath_valid(value) || strlen(value) >= 108)
			return fail(st, "live_socket = '%s' must be an absolute path shorter than 108 bytes", value);
		return set_string(st, f->live_socket, sizeof(f->live_socket), name, value);
	}
	if (strcmp(name, "binary") == 0) {
		if (!abspath_valid(value))
			return fail(st, "binary = '%s' must be an absolute path such as /usr/sbin/php-fpm8.2", value);
		return set_string(st, f->binary, sizeof(f->binary), name, value);
	}
	if (strcmp(name, "user") == 0 || strcmp(name, "group") == 0) {
		bool user = name[0] == 'u';

		if (!user_name_valid(value))
			return fail(st, "%s = '%s' is not a valid %s name", name, value, name);
		if (user)
			f->user_given = true;
		return set_string(st, user ? f->user : f->group, user ? sizeof(f->user) : sizeof(f->group),
				  name, value);
	}
	if (strcmp(name, "keep_warm") == 0)
		return parse_num(st, name, value, 0, 86400, &f->keep_warm);
	if (strcmp(name, "max_memory") == 0) {
		if (parse_size(value, &v) < 0 || (v != 0 && v < (16ULL << 20)))
			return fail(st, "max_memory = '%s' must be 0 or a size of at least 16M (e.g. 2G)", value);
		f->max_memory = v;
		return 1;
	}
	if (strcmp(name, "warm_urls") == 0) {
		return list_add_words(st, f->warm_urls, &f->n_warm_urls,
				      FPM_WARM_URLS_MAX, name, value, warm_url_valid);
	}
	if (strcmp(name, "warm_requests") == 0)
		return parse_num(st, name, value, 1, 64, &f->warm_requests);
	if (strcmp(name, "preload") == 0) {
		if (!config_relpath_valid(value))
			return fail(st, "preload = '%s' must be a path inside the release, such as config/preload.php", value);
		return set_string(st, f->preload, sizeof(f->preload), name, value);
	}
	return fail(st, "unknown key '%s' in [fpm]", name);
}

static int handle_fpm(struct parse_state *st, const char *name, const char *value)
{
	struct fpm_config *f = &st->c->fpm;

	f->enabled = true;
	if (strcmp(name, "pid_file") == 0) {
		if (!abspath_valid(value))
			return fail(st, "pid_file = '%s' must be an absolute path", value);
		return set_string(st, f->pid_file, sizeof(f->pid_file), name, value);
	}
	if (strcmp(name, "config") == 0) {
		if (!abspath_valid(value))
			return fail(st, "config = '%s' must be an absolute path", value);
		return set_string(st, f->config, sizeof(f->config), name, value);
	}
	if (strcmp(name, "reload") == 0) {
		if (strcmp(value, "graceful") == 0)
			f->reload = FPM_RELOAD_GRACEFUL;
		else if (strcmp(value, "opcache-reset") == 0)
			f->reload = FPM_RELOAD_OPCACHE_RESET;
		else if (strcmp(value, "none") == 0)
			f->reload = FPM_RELOAD_NONE;
		else if (strcmp(value, "swap") == 0)
			f->reload = FPM_RELOAD_SWAP;
		else
			return fail(st, "reload = '%s' must be graceful, swap, opcache-reset or none", value);
		return 1;
	}
	if (strcmp(name, "socket") == 0) {
		const char *colon = strrchr(value, ':');
		bool unix_path = abspath_valid(strncmp(value, "unix:", 5) == 0 ? value + 5 : value);
		bool tcp = !unix_path && colon && colon != value && colon[1] && printable(value) &&
			   strspn(colon + 1, "0123456789") == strlen(colon + 1);
		if (!unix_path && !tcp)
			return fail(st, "socket = '%s' must be an absolute socket path or HOST:PORT", value);
		return set_string(st, f->socket, sizeof(f->socket), name, value);
	}
	if (strcmp(name, "status_path") == 0) {
		if (value[0] != '/' || !printable(value) || strpbrk(value, "?# "))
			return fail(st, "status_path = '%s' must be a path such as /fpm-status", value);
		return set_string(st, f->status_path, sizeof(f->status_path), name, value);
	}
	if (strcmp(name, "max_inflight_ms") == 0)
		return parse_num(st, name, value, 0, 600000, &f->max_inflight_ms);
	if (strcmp(name, "timeout") == 0)
		return parse_num(st, name, value, 1, 3600, &f->timeout);
	return handle_fpm_swap(st, f, name, value);
}

static int handle_health(struct parse_state *st, const char *name, const char *value)
{
	struct health_config *h = &st->c->health;

	h->enabled = true;
	if (strcmp(name, "url") == 0) {
		if ((strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) ||
		    !printable(value) || strchr(value, ' '))
			return fail(st, "url = '%s' must be an http:// or https:// URL", value);
		return set_string(st, h->url, sizeof(h->url), name, value);
	}
	if (strcmp(name, "host") == 0) {
		if (!printable(value) || strpbrk(value, " /"))
			return fail(st, "host = '%s' must be a host name", value);
		return set_string(st, h->host, sizeof(h->host), name, value);
	}
	if (strcmp(name, "expect_status") == 0)
		return parse_num(st, name, value, 100, 599, &h->expect_status);
	if (strcmp(name, "expect_body") == 0) {
		if (!printable(value))
			return fail(st, "expect_body must be printable text");
		return set_string(st, h->expect_body, sizeof(h->expect_body), name, value);
	}
	if (strcmp(name, "timeout") == 0)
		return parse_num(st, name, value, 1, 300, &h->timeout);
	if (strcmp(name, "retries") == 0)
		return parse_num(st, name, value, 1, 100, &h->retries);
	if (strcmp(name, "rollback") == 0)
		return parse_bool(st, name, value, &h->rollback);
	if (strcmp(name, "precheck") == 0)
		return parse_bool(st, name, value, &h->precheck);
	return fail(st, "unknown key '%s' in [health]", name);
}

static bool repeatable(const char *section, const char *name)
{
	return (strcmp(section, "build") == 0 && (strcmp(name, "run") == 0 || strcmp(name, "env") == 0)) ||
	       strcmp(section, "hooks") == 0 ||
	       (strcmp(section, "notify") == 0 && strcmp(name, "url") == 0) ||
	       (strcmp(section, "shared") == 0 && (strcmp(name, "dirs") == 0 || strcmp(name, "files") == 0)) ||
	       (strcmp(section, "app") == 0 && strcmp(name, "allow_users") == 0);
}

static int handle_migrate(struct parse_state *st, const char *name, const char *value)
{
	struct migrate_config *m = &st->c->migrate;

	if (strcmp(name, "run") == 0)
		return set_string(st, m->run, sizeof(m->run), name, value);
	if (strcmp(name, "pretend") == 0)
		return set_string(st, m->pretend, sizeof(m->pretend), name, value);
	if (strcmp(name, "allow_destructive") == 0)
		return parse_bool(st, name, value, &m->allow_destructive);
	return fail(st, "unknown key '%s' in [migrate]", name);
}

static int handle_hooks(struct parse_state *st, const char *name, const char *value)
{
	struct config *c = st->c;

	if (!*value)
		return fail(st, "%s needs a command", name);
	if (strcmp(name, "before_switch") == 0)
		return list_add(st, c->before_switch, &c->n_before_switch, CONFIG_MAX_LIST, name, value);
	if (strcmp(name, "after_switch") == 0)
		return list_add(st, c->after_switch, &c->n_after_switch, CONFIG_MAX_LIST, name, value);
	if (strcmp(name, "on_failure") == 0)
		return list_add(st, c->on_failure, &c->n_on_failure, CONFIG_MAX_LIST, name, value);
	if (strcmp(name, "after_rollback") == 0)
		return list_add(st, c->after_rollback, &c->n_after_rollback, CONFIG_MAX_LIST, name, value);
	return fail(st, "unknown key '%s' in [hooks]", name);
}

bool config_notify_url_valid(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	/* A host, not "http:///x" or "http://?x"; the quotes and backslashes
	 * have no business in a webhook URL and would need escaping wherever
	 * it is shown. */
	return strlen(url) < 512 && *host && !strchr("/?#:@", *host) &&
	       printable(url) && !strpbrk(url, " \\\"'<>`");
}

char *const *config_hooks(const struct config *c, enum hook_kind kind, size_t *ret_n)
{
	switch (kind) {
	case HOOK_BEFORE_SWITCH: *ret_n = c->n_before_switch; return c->before_switch;
	case HOOK_AFTER_SWITCH: *ret_n = c->n_after_switch; return c->after_switch;
	case HOOK_ON_FAILURE: *ret_n = c->n_on_failure; return c->on_failure;
	case HOOK_AFTER_ROLLBACK: *ret_n = c->n_after_rollback; return c->after_rollback;
	default: *ret_n = 0; return NULL;
	}
}

const char *config_hook_name(enum hook_kind kind)
{
	static const char *const names[HOOK_KIND_MAX] = {
		"before_switch", "after_switch", "on_failure", "after_rollback",
	};

	return (unsigned)kind < HOOK_KIND_MAX ? names[kind] : "";
}

static int handle_notify(struct parse_state *st, const char *name, const char *value)
{
	struct notify_config *n = &st->c->notify;
	char buf[CONFIG_MAX_VALUE], *save = NULL;

	st->notify_seen = true;
	if (strcmp(name, "url") == 0) {
		/* One URL a line, or several on one line separated by spaces. */
		if (str_copy(buf, sizeof(buf), value) < 0)
			return fail(st, "url is too long");
		if (!*value)
			return fail(st, "url needs a value");
		for (char *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
			if (!config_notify_url_valid(w))
				return fail(st, "url = '%s' must be an http:// or https:// URL", w);
			if (n->n_urls >= NOTIFY_MAX_URLS)
				return fail(st, "too many url entries in [notify] (at most %d)", NOTIFY_MAX_URLS);
			n->urls[n->n_urls] = strdup(w);
			if (!n->urls[n->n_urls])
				return fail(st, "out of memory");
			n->n_urls++;
		}
		return 1;
	}
	if (strcmp(name, "format") == 0) {
		if (strcmp(value, "json") == 0)
			n->format = NOTIFY_JSON;
		else if (strcmp(value, "slack") == 0)
			n->format = NOTIFY_SLACK;
		else
			return fail(st, "format = '%s' must be json or slack", value);
		return 1;
	}
	if (strcmp(name, "timeout") == 0)
		return parse_num(st, name, value, 1, 60, &n->timeout);
	if (strcmp(name, "retries") == 0)
		return parse_num(st, name, value, 0, 10, &n->retries);
	return fail(st, "unknown key '%s' in [notify]", name);
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_state *st = user;
	char key[40];

	if (st->failed)
		return 1;   /* keep the first error only */
	if (!repeatable(section, name)) {
		snprintf(key, sizeof(key), "%s.%s", section, name);
		for (size_t i = 0; i < st->n_seen; i++)
			if (strcmp(st->seen[i], key) == 0)
				return fail(st, "%s is set twice in [%s]", name, section);
		/* Never full with known keys: fail closed if it ever is. */
		if (st->n_seen >= ELEMENTSOF(st->seen))
			return fail(st, "too many settings");
		str_copy(st->seen[st->n_seen++], sizeof(st->seen[0]), key);
	}
	if (strcmp(section, "app") == 0)
		return handle_app(st, name, value);
	if (strcmp(section, "shared") == 0)
		return handle_shared(st, name, value);
	if (strcmp(section, "build") == 0)
		return handle_build(st, name, value);
	if (strcmp(section, "fpm") == 0)
		return handle_fpm(st, name, value);
	if (strcmp(section, "health") == 0)
		return handle_health(st, name, value);
	if (strcmp(section, "migrate") == 0)
		return handle_migrate(st, name, value);
	if (strcmp(section, "hooks") == 0)
		return handle_hooks(st, name, value);
	if (strcmp(section, "notify") == 0)
		return handle_notify(st, name, value);
	if (!*section)
		return fail(st, "key '%s' is outside any section", name);
	return fail(st, "unknown section [%s]", section);
}

/* inih only calls the handler for key lines, so an empty or misspelt
 * section header would pass unnoticed; check headers ourselves. */
static int check_lines(const char *text, int *ret_line, char *why, size_t n)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *s = p;

		if (len > CONFIG_MAX_LINE) {
			*ret_line = line;
			snprintf(why, n, "line is longer than %d characters", CONFIG_MAX_LINE);
			return -EINVAL;
		}
		while (s < p + len && isspace((unsigned char)*s))
			s++;
		if (s < p + len && *s == '[') {
			static const char *const known[] = {
				"[app]", "[shared]", "[build]", "[fpm]", "[health]",
				"[migrate]", "[hooks]", "[notify]",
			};
			bool ok = false;
			size_t l = (size_t)(p + len - s);

			while (l > 0 && isspace((unsigned char)s[l - 1]))
				l--;
			for (size_t i = 0; i < ELEMENTSOF(known); i++)
				if (l == strlen(known[i]) && memcmp(s, known[i], l) == 0)
					ok = true;
			if (!ok) {
				*ret_line = line;
				snprintf(why, n, "unknown section %.*s", (int)(l > 40 ? 40 : l), s);
				return -EINVAL;
			}
		} else if (s < p + len && *s != ';' && *s != '#' &&
			   !memchr(s, '=', (size_t)(p + len - s)) &&
			   !memchr(s, ':', (size_t)(p + len - s))) {
			*ret_line = line;
			snprintf(why, n, "syntax error (expected 'key = value' or '[section]')");
			return -EINVAL;
		} else if (s < p + len && s > p && *s != ';' && *s != '#') {
			/* inih would take an indented line as a continuation of
			 * the previous value; nobody means that in this file. */
			*ret_line = line;
			snprintf(why, n, "indented line; start keys and sections in the first column");
			return -EINVAL;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* The steps a Laravel deploy needs, in order. Compiled views go inside
 * the release (VIEW_COMPILED_PATH): view:cache begins with view:clear, which
 * in a shared storage would wipe the live release's views. */
static const char *const laravel_build[] = {
	"if [ -f composer.json ] && command -v composer >/dev/null 2>&1; then "
	"composer install --no-dev --optimize-autoloader --no-interaction --no-progress; "
	"elif [ ! -f vendor/autoload.php ]; then "
	"echo 'vendor/ is missing and composer is not installed: install composer or ship vendor/ in the artifact' >&2; exit 1; fi",
	"mkdir -p bootstrap/cache/views && VIEW_COMPILED_PATH=\"$PWD/bootstrap/cache/views\" php artisan config:cache",
	"php artisan route:cache",
	"php artisan view:cache",
	"php artisan event:cache",
};

static int strv_set_default(char **v, size_t *n, const char *const *def, size_t n_def)
{
	if (*n > 0)
		return 0;   /* the config says otherwise */
	for (size_t i = 0; i < n_def; i++) {
		v[i] = strdup(def[i]);
		if (!v[i])
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

int config_apply_laravel(struct config *c)
{
	static const char *const dirs[] = { "storage" };
	static const char *const files[] = { ".env" };
	static const char *const after[] = { "php artisan queue:restart" };
	int r;

	r = strv_set_default(c->shared_dirs, &c->n_shared_dirs, dirs, ELEMENTSOF(dirs));
	if (r == 0)
		r = strv_set_default(c->shared_files, &c->n_shared_files, files, ELEMENTSOF(files));
	if (r == 0)
		r = strv_set_default(c->build_run, &c->n_build_run, laravel_build, ELEMENTSOF(laravel_build));
	if (r == 0)
		r = strv_set_default(c->after_switch, &c->n_after_switch, after, ELEMENTSOF(after));
	if (r < 0)
		return r;
	if (!c->migrate.run[0])
		str_copy(c->migrate.run, sizeof(c->migrate.run), "php artisan migrate --force");
	if (!c->migrate.pretend[0])
		str_copy(c->migrate.pretend, sizeof(c->migrate.pretend), "php artisan migrate --pretend --force");
	for (size_t i = 0; i < c->n_shared_dirs; i++)
		c->laravel_storage |= strcmp(c->shared_dirs[i], "storage") == 0;
	return 0;
}

/*
 * mode = bind: live must be a direct child of root with a name of its own.
 * One component below the pinned ROOT fd is all the helper ever resolves
 * (with O_NOFOLLOW), ROOT's trust check covers it, ROOT's shared mount is
 * its parent (so the swap propagates), and the build sandbox finds it
 * wherever it puts ROOT. docs/BIND.md explains the choice.
 */
static int check_bind(const struct config *c, const char *name, char *err, size_t errlen)
{
	static const char *const reserved[] = { "releases", "shared", "current", ".cutover", ".current.new" };
	size_t rl = strlen(c->root);
	const char *base;

	if (c->mode != PUBLISH_BIND) {
		if (c->live[0]) {
			snprintf(err, errlen, "%s: live is only used with mode = bind; remove it or set mode = bind", name);
			return -EINVAL;
		}
		return 0;
	}
	if (!c->live[0]) {
		snprintf(err, errlen, "%s: mode = bind needs live = ROOT/NAME in [app] (the path the web server serves)", name);
		return -EINVAL;
	}
	if (strncmp(c->live, c->root, rl) != 0 || c->live[rl] != '/' || strchr(c->live + rl + 1, '/')) {
		snprintf(err, errlen, "%s: live = %s must be directly inside root = %s (for example %s/live)",
			 name, c->live, c->root, c->root);
		return -EINVAL;
	}
	base = c->live + rl + 1;
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
		if (strcmp(base, reserved[i]) == 0) {
			snprintf(err, errlen, "%s: live = %s is a name cutover uses itself; choose another (for example %s/live)",
				 name, c->live, c->root);
			return -EINVAL;
		}
	}
	/* The path never changes, so nothing but a reload makes PHP-FPM's
	 * OPcache drop the old release's code. */
	if (c->fpm.enabled && c->fpm.reload == FPM_RELOAD_NONE) {
		snprintf(err, errlen, "%s: [fpm] reload = none cannot be used with mode = bind: the live path never changes, "
			 "so OPcache would keep serving the old code; use reload = graceful or opcache-reset", name);
		return -EINVAL;
	}
	return 0;
}

bool kernel_release_at_least(const char *release, unsigned major, unsigned minor)
{
	unsigned long maj, min;
	char *end;

	if (!release || !isdigit((unsigned char)release[0]))
		return false;
	errno = 0;
	maj = strtoul(release, &end, 10);
	if (errno || *end != '.' || !isdigit((unsigned char)end[1]))
		return false;
	min = strtoul(end + 1, &end, 10);
	if (errno)
		return false;
	return maj > major || (maj == major && min >= minor);
}

int config_check_kernel(const struct config *c, const char *release, char *err, size_t errlen)
{
	if (c->mode != PUBLISH_BIND ||
	    kernel_release_at_least(release, BIND_KERNEL_MAJOR, BIND_KERNEL_MINOR))
		return 0;
	snprintf(err, errlen, "%s: mode = bind needs Linux %d.%d or later (MOVE_MOUNT_BENEATH); this kernel is %.64s: "
		 "use mode = symlink", c->path[0] ? c->path : "config", BIND_KERNEL_MAJOR, BIND_KERNEL_MINOR, release);
	return -EOPNOTSUPP;
}

/* reload = swap: cutover runs the masters from the app's pool file, and
 * the web server connects to live_socket (docs/POOLSWAP.md). */
static int check_swap(struct config *c, const char *name, char *err, size_t errlen)
{
	struct fpm_config *f = &c->fpm;

	if (!f->enabled || f->reload != FPM_RELOAD_SWAP)
		return 0;
	if (!f->config[0]) {
		snprintf(err, errlen, "%s: [fpm] reload = swap needs config = the app's php-fpm pool file "
			 "(for example /etc/cutover/fpm/%s.conf)", name, c->app[0] ? c->app : "APP");
		return -EINVAL;
	}
	if (c->mode == PUBLISH_BIND) {
		snprintf(err, errlen, "%s: [fpm] reload = swap cannot be used with mode = bind yet (docs/POOLSWAP.md); "
			 "use reload = graceful", name);
		return -EINVAL;
	}
	if (strcmp(f->user, "root") == 0 || strcmp(f->group, "root") == 0) {
		snprintf(err, errlen, "%s: [fpm] user and group must not be root: PHP code would run as root", name);
		return -EINVAL;
	}
	if (strcmp(f->user, c->user) == 0 && !f->user_given) {
		snprintf(err, errlen, "%s: [fpm] user defaults to www-data, which is the deploy user here; "
			 "set [fpm] user = %s explicitly to run PHP as the deploy user", name, c->user);
		return -EINVAL;
	}
	if (!f->live_socket[0] && c->app[0] &&
	    snprintf(f->live_socket, sizeof(f->live_socket), FPM_SWAP_DIR "/%s.sock", c->app) < 0)
		return -EINVAL;
	return 0;
}

static int parse_text(struct config *c, const char *text, const char *name,
		      char *err, size_t errlen)
{
	struct parse_state st = { .c = c };
	char why[128];
	int line = 0, r;

	r = check_lines(text, &line, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "%s:%d: %s", name, line, why);
		return r;
	}
	r = ini_parse_string(text, handler, &st);
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: %s", name, r,
			 st.failed ? st.err : "syntax error (expected 'key = value' or '[section]')");
		return -EINVAL;
	}
	if (c->preset == PRESET_LARAVEL) {
		r = config_apply_laravel(c);
		if (r < 0) {
			snprintf(err, errlen, "%s: out of memory applying preset = laravel", name);
			return r;
		}
	}
	if (c->migrate.run[0] && !c->migrate.pretend[0] && !c->migrate.allow_destructive) {
		snprintf(err, errlen, "%s: [migrate] needs pretend (the command that prints the SQL run would execute), "
			 "or allow_destructive = yes", name);
		return -EINVAL;
	}
	if (c->fpm.enabled && c->fpm.reload == FPM_RELOAD_GRACEFUL && !c->fpm.pid_file[0]) {
		snprintf(err, errlen, "%s: [fpm] reload = graceful needs pid_file (or set reload = none)", name);
		return -EINVAL;
	}
	r = check_swap(c, name, err, errlen);
	if (r < 0)
		return r;
	if (c->fpm.enabled && c->fpm.reload == FPM_RELOAD_OPCACHE_RESET && !c->fpm.socket[0]) {
		snprintf(err, errlen, "%s: [fpm] reload = opcache-reset needs socket", name);
		return -EINVAL;
	}
	if (st.notify_seen && c->notify.n_urls == 0) {
		snprintf(err, errlen, "%s: [notify] needs url", name);
		return -EINVAL;
	}
	if (c->health.enabled && !c->health.url[0]) {
		snprintf(err, errlen, "%s: [health] needs url", name);
		return -EINVAL;
	}
	if (!st.seen_root || !st.seen_user || !st.seen_group || !st.seen_web_group) {
		snprintf(err, errlen, "%s: [app] is missing the required key '%s'", name,
			 !st.seen_root ? "root" : !st.seen_user ? "user" :
			 !st.seen_group ? "group" : "web_group");
		return -EINVAL;
	}
	return check_bind(c, name, err, errlen);
}

int config_parse_string(struct config *c, const char *text, char *err,
			size_t errlen)
{
	return parse_text(c, text, "config", err, errlen);
}

int config_parse_stream(struct config *c, FILE *f, const char *name,
			char *err, size_t errlen)
{
	_cleanup_free_ char *buf = malloc(CONFIG_MAX_FILE + 1);
	size_t n;

	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno));
		return -EIO;
	}
	if (n > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s: file is larger than 64 KiB", name);
		return -EFBIG;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s: file contains a NUL byte", name);
		return -EINVAL;
	}
	return parse_text(c, buf, name, err, errlen);
}

/* Checks one opened path component: root-owned, and either not writable by
 * group/others or a directory with the sticky bit. */
static int check_trusted(int fd, const char *shown, bool is_last, bool want_dir,
			 char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", shown, strerror(errno));
		return -errno;
	}
	if (is_last && !want_dir && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", shown);
		return -EPERM;
	}
	if (is_last && want_dir && !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", shown);
		return -ENOTDIR;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen, "%s must be owned by root (owner uid is %u)", shown, (unsigned)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "%s must not be writable by group or others (mode %04o)", shown, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int path_open_trusted(const char *path, bool want_dir, char *err, size_t errlen)
{
	_cleanup_close_ int dirfd = -EBADF;
	char buf[PATH_MAX], shown[PATH_MAX];
	char *save = NULL, *comp, *next;
	size_t shown_len = 0;
	int r;

	if (!path || path[0] != '/' || str_copy(buf, sizeof(buf), path) < 0) {
		snprintf(err, errlen, "%s: path must be absolute", path ? path : "(null)");
		return -EINVAL;
	}
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = check_trusted(dirfd, "/", false, want_dir, err, errlen);
	if (r < 0)
		return r;
	shown[0] = '\0';
	comp = strtok_r(buf, "/", &save);
	while (comp) {
		struct open_how how = {
			.flags = O_PATH | O_CLOEXEC | O_DIRECTORY,
			.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				   RESOLVE_BENEATH,
		};
		int fd;

		next = strtok_r(NULL, "/", &save);
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			snprintf(err, errlen, "%s: path must not contain '.' or '..'", path);
			return -EINVAL;
		}
		shown_len += (size_t)snprintf(shown + shown_len, sizeof(shown) - shown_len, "/%s", comp);
		if (shown_len >= sizeof(shown))
			return -ENAMETOOLONG;
		if (!next)
			how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
				    (want_dir ? O_DIRECTORY : 0);
		fd = (int)syscall(SYS_openat2, dirfd, comp, &how, sizeof(how));
		if (fd < 0) {
			r = -errno;
			if (r == -ELOOP || r == -EXDEV)
				snprintf(err, errlen, "%s is a symlink; this path and its directories must not be symlinks", shown);
			else if (r == -ENOENT)
				snprintf(err, errlen, "%s does not exist", shown);
			else
				snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(-r));
			return r;
		}
		closep(&dirfd);
		dirfd = fd;
		r = check_trusted(dirfd, shown, next == NULL, want_dir, err, errlen);
		if (r < 0)
			return r;
		comp = next;
	}
	/* O_NONBLOCK only guarded against a FIFO; reads are regular. */
	if (fcntl(dirfd, F_SETFL, 0) < 0)
		return -errno;
	return TAKE_FD(dirfd);
}

int config_open_trusted(const char *path, char *err, size_t errlen)
{
	return path_open_trusted(path, false, err, errlen);
}

int config_default_path(char *dst, size_t n, const char *app)
{
	if (!app_name_valid(app))
		return -EINVAL;
	return str_printf(dst, n, "%s/%s.conf", CONFIG_DIR, app);
}

int config_load(struct config *c, const char *path, const char *app,
		char *err, size_t errlen)
{
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	config_init(c);
	if (str_copy(c->app, sizeof(c->app), app) < 0 ||
	    str_copy(c->path, sizeof(c->path), path) < 0)
		return -ENAMETOOLONG;
	fd = config_open_trusted(path, err, errlen);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	r = config_parse_stream(c, f, path, err, errlen);
	if (r == 0) {
		struct utsname u;

		r = uname(&u) < 0 ? -errno : config_check_kernel(c, u.release, err, errlen);
	}
	if (r < 0) {
		config_free(c);
		return r;
	}
	return config_resolve_ids(c, err, errlen);
}

/* [build] git_user: a user of its own. Any other process with its uid
 * could reach the repository cache through /proc/PID/cwd of a fetch. */
static int git_user_resolve(struct config *c, char *err, size_t errlen)
{
	struct passwd *pw;

	if (!c->git_user[0])
		return 0;
	pw = getpwnam(c->git_user);
	if (!pw) {
		snprintf(err, errlen, "%s: git_user '%s' does not exist; create it or fix git_user =", c->path, c->git_user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_uid == c->uid) {
		snprintf(err, errlen, "%s: git_user = %s must be a user of its own, neither root nor the deploy user",
			 c->path, c->git_user);
		return -EPERM;
	}
	c->git_uid = pw->pw_uid;
	return 0;
}

int config_resolve_ids(struct config *c, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	pw = getpwnam(c->user);
	if (!pw) {
		snprintf(err, errlen, "%s: user '%s' does not exist; create it or fix user =", c->path, c->user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "%s: user = %s has uid 0; build steps must run as an unprivileged user", c->path, c->user);
		return -EPERM;
	}
	c->uid = pw->pw_uid;
	gr = getgrnam(c->group);
	if (!gr) {
		snprintf(err, errlen, "%s: group '%s' does not exist; create it or fix group =", c->path, c->group);
		return -ENOENT;
	}
	if (gr->gr_gid == 0) {
		snprintf(err, errlen, "%s: group = %s has gid 0; use an unprivileged group", c->path, c->group);
		return -EPERM;
	}
	c->gid = gr->gr_gid;
	gr = getgrnam(c->web_group);
	if (!gr) {
		snprintf(err, errlen, "%s: web_group '%s' does not exist; create it or fix web_group =", c->path, c->web_group);
		return -ENOENT;
	}
	if (gr->gr_gid == 0) {
		snprintf(err, errlen, "%s: web_group = %s has gid 0; use the web server's group", c->path, c->web_group);
		return -EPERM;
	}
	c->web_gid = gr->gr_gid;
	if (c->operators[0]) {
		gr = getgrnam(c->operators);
		if (!gr) {
			snprintf(err, errlen, "%s: operators group '%s' does not exist; create it or fix operators =", c->path, c->operators);
			return -ENOENT;
		}
		c->operators_gid = gr->gr_gid;
	}
	return git_user_resolve(c, err, errlen);
}

bool config_user_allowed(const struct config *cfg, const char *user)
{
	if (cfg->n_allow_users == 0)
		return true;
	for (size_t i = 0; i < cfg->n_allow_users; i++)
		if (strcmp(cfg->allow_users[i], user) == 0)
			return true;
	return false;
}

const char *config_live_name(const struct config *cfg)
{
	const char *slash = strrchr(cfg->live, '/');

	return slash ? slash + 1 : cfg->live;
}
