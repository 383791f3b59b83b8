/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/common/config.c: parsing and validation from memory
 * (config_parse_string), the trust checks on real files in a scratch
 * directory under /tmp (config_open_trusted, config_load), and the user and
 * group lookups (config_resolve_ids). The tests run as root: the trust
 * checks want root-owned files and the hostile cases chown to 65534.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* The smallest valid config: lines 1 to 5. */
#define APP_OK "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n"

/* ---- helpers -------------------------------------------------------- */

/* Parses text into a fresh config; the caller frees it. */
static int parse(struct config *c, const char *text, char *err, size_t errlen)
{
	config_init(c);
	err[0] = '\0';
	return config_parse_string(c, text, err, errlen);
}

/*
 * Expects text to be refused with "config:LINE: " (or "config: " when line
 * is 0, for problems of the whole file) and a reason containing reason.
 */
static void check_refused(const char *what, const char *text, int line,
			  const char *reason)
{
	struct config c;
	char err[512], prefix[32];
	int r;

	r = parse(&c, text, err, sizeof(err));
	config_free(&c);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "config:%d: ", line);
	else
		snprintf(prefix, sizeof(prefix), "config: ");
	if (r != -EINVAL)
		fail_msg("%s: config_parse_string returned %d, want -EINVAL (err '%s')", what, r, err);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("%s: error '%s' does not start with '%s'", what, err, prefix);
	if (!strstr(err, reason))
		fail_msg("%s: error '%s' does not say '%s'", what, err, reason);
}

/* ---- parsing: valid input ------------------------------------------- */

static void test_parse_full(void **state)
{
	static const char text[] =
		"# every key there is\n"
		"[app]\n"
		"root = /srv/shop\n"
		"user = nobody\n"
		"group = nogroup\n"
		"web_group = www-data\n"
		"keep = 7\n"
		"mode = symlink\n"
		"docroot = web/public\n"
		"allow_users = alice bob deploy-ci\n"
		"\n"
		"[shared]\n"
		"dirs = storage/app storage/logs var/cache\n"
		"files = .env config/local.php\n"
		"\n"
		"[build]\n"
		"run = composer install --no-dev\n"
		"run = php artisan config:cache\n"
		"run = npm ci && npm run build\n"
		"env = APP_ENV=production\n"
		"env = COMPOSER_HOME=/tmp/composer\n"
		"env = EMPTY=\n"
		"timeout = 900\n"
		"max_size = 2G\n"
		"max_files = 123456\n";
	static const char *const allow[] = { "alice", "bob", "deploy-ci" };
	static const char *const dirs[] = { "storage/app", "storage/logs", "var/cache" };
	static const char *const files[] = { ".env", "config/local.php" };
	static const char *const run[] = {
		"composer install --no-dev", "php artisan config:cache",
		"npm ci && npm run build",
	};
	static const char *const env[] = {
		"APP_ENV=production", "COMPOSER_HOME=/tmp/composer", "EMPTY=",
	};
	struct config c;
	char err[256];

	assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.root, "/srv/shop");
	assert_string_equal(c.user, "nobody");
	assert_string_equal(c.group, "nogroup");
	assert_string_equal(c.web_group, "www-data");
	assert_int_equal(c.keep, 7);
	assert_int_equal(c.mode, PUBLISH_SYMLINK);
	assert_string_equal(c.docroot, "web/public");

	assert_int_equal(c.n_allow_users, ELEMENTSOF(allow));
	for (size_t i = 0; i < ELEMENTSOF(allow); i++)
		assert_string_equal(c.allow_users[i], allow[i]);
	assert_int_equal(c.n_shared_dirs, ELEMENTSOF(dirs));
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		assert_string_equal(c.shared_dirs[i], dirs[i]);
	assert_int_equal(c.n_shared_files, ELEMENTSOF(files));
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		assert_string_equal(c.shared_files[i], files[i]);
	/* Build steps run in the order written. */
	assert_int_equal(c.n_build_run, ELEMENTSOF(run));
	for (size_t i = 0; i < ELEMENTSOF(run); i++)
		assert_string_equal(c.build_run[i], run[i]);
	assert_int_equal(c.n_build_env, ELEMENTSOF(env));
	for (size_t i = 0; i < ELEMENTSOF(env); i++)
		assert_string_equal(c.build_env[i], env[i]);

	assert_int_equal(c.build_timeout, 900);
	assert_int_equal(c.max_size, 2ULL << 30);
	assert_int_equal(c.max_files, 123456);
	/* Parsing does not look users up. */
	assert_int_equal(c.uid, (uid_t)-1);
	config_free(&c);
	assert_int_equal(c.n_build_run, 0);
	assert_int_equal(c.n_shared_dirs, 0);
}

static void test_parse_defaults(void **state)
{
	struct config c;
	char err[256];

	assert_int_equal(parse(&c, APP_OK, err, sizeof(err)), 0);
	assert_int_equal(c.keep, 5);
	assert_int_equal(c.mode, PUBLISH_SYMLINK);
	assert_string_equal(c.docroot, "public");
	assert_int_equal(c.build_timeout, 600);
	assert_int_equal(c.max_size, 4ULL << 30);
	assert_int_equal(c.max_files, 500000);
	assert_int_equal(c.n_allow_users, 0);
	assert_int_equal(c.n_shared_dirs, 0);
	assert_int_equal(c.n_shared_files, 0);
	assert_int_equal(c.n_build_run, 0);
	assert_int_equal(c.n_build_env, 0);
	config_free(&c);
}

/* Sizes, separators, comments and the boundaries that must still pass. */
static void test_parse_valid_variants(void **state)
{
	struct config c;
	char err[256];

	assert_int_equal(parse(&c, APP_OK "keep = 1\n[shared]\ndirs = a,b\tc\n"
			       "[build]\ntimeout = 86400\nmax_size = 1M\nmax_files = 100000000\n",
			       err, sizeof(err)), 0);
	assert_int_equal(c.keep, 1);
	assert_int_equal(c.n_shared_dirs, 3);
	assert_string_equal(c.shared_dirs[2], "c");
	assert_int_equal(c.build_timeout, 86400);
	assert_int_equal(c.max_size, 1ULL << 20);
	assert_int_equal(c.max_files, 100000000);
	config_free(&c);

	/* Sections in another order, repeated, and shared lists over lines. */
	assert_int_equal(parse(&c, "; comment\n[build]\nrun = make\n[shared]\ndirs = a\n"
			       "[app]\nkeep = 1000\n" APP_OK "[shared]\ndirs = b\n",
			       err, sizeof(err)), 0);
	assert_int_equal(c.keep, 1000);
	assert_int_equal(c.n_shared_dirs, 2);
	assert_string_equal(c.shared_dirs[0], "a");
	assert_string_equal(c.shared_dirs[1], "b");
	config_free(&c);

	/* 64 run steps is the limit, not an error. */
	{
		char text[8192];
		size_t o = str_copy(text, sizeof(text), APP_OK "[build]\n") == 0 ? strlen(text) : 0;

		for (int i = 0; i < CONFIG_MAX_LIST; i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "run = step %d\n", i);
		assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
		assert_int_equal(c.n_build_run, CONFIG_MAX_LIST);
		assert_string_equal(c.build_run[63], "step 63");
		config_free(&c);
	}
}

/* ---- parsing: invalid input ----------------------------------------- */

struct bad_case {
	const char *what;
	const char *text;
	int line;             /* 0: the whole file */
	const char *reason;
};

static void run_bad_cases(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_refused(cases[i].what, cases[i].text, cases[i].line, cases[i].reason);
}

static void test_parse_bad_structure(void **state)
{
	static const struct bad_case cases[] = {
		{ "unknown section with keys", APP_OK "[bogus]\nx = 1\n", 6, "unknown section [bogus]" },
		{ "unknown section, empty", APP_OK "[bogus]\n", 6, "unknown section [bogus]" },
		{ "unknown section, empty, in the middle",
		  APP_OK "[nope]\n[build]\nrun = make\n", 6, "unknown section [nope]" },
		{ "misspelt section", APP_OK "[Build]\nrun = make\n", 6, "unknown section [Build]" },
		{ "unclosed section", APP_OK "[build\nrun = make\n", 6, "unknown section" },
		{ "key outside any section", "keep = 3\n" APP_OK, 1, "key 'keep' is outside any section" },
		{ "unknown key in [app]", APP_OK "colour = red\n", 6, "unknown key 'colour' in [app]" },
		{ "unknown key in [shared]", APP_OK "[shared]\nfolders = a\n", 7, "unknown key 'folders' in [shared]" },
		{ "unknown key in [build]", APP_OK "[build]\ncmd = make\n", 7, "unknown key 'cmd' in [build]" },
		{ "[app] key in [build]", APP_OK "[build]\nkeep = 3\n", 7, "unknown key 'keep' in [build]" },
		{ "syntax error", APP_OK "this is not a key\n", 6, "syntax error" },
		{ "missing root", "[app]\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n", 0, "missing the required key 'root'" },
		{ "missing user", "[app]\nroot = /srv/shop\ngroup = nogroup\nweb_group = www-data\n", 0, "missing the required key 'user'" },
		{ "missing group", "[app]\nroot = /srv/shop\nuser = nobody\nweb_group = www-data\n", 0, "missing the required key 'group'" },
		{ "missing web_group", "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\n", 0, "missing the required key 'web_group'" },
		{ "empty file", "", 0, "missing the required key 'root'" },
	};

	run_bad_cases(cases, ELEMENTSOF(cases));
}

#define WITH_ROOT(r) "[app]\nroot = " r "\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n"
#define WITH_USERS(u, g, w) "[app]\nroot = /srv/shop\nuser = " u "\ngroup = " g "\nweb_group = " w "\n"

static void test_parse_bad_app_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "relative root", WITH_ROOT("srv/shop"), 2, "root = 'srv/shop' must be an absolute path" },
		{ "root /", WITH_ROOT("/"), 2, "root = '/' must be" },
		{ "root with ..", WITH_ROOT("/srv/../etc"), 2, "root = '/srv/../etc' must be" },
		{ "root with .", WITH_ROOT("/srv/./shop"), 2, "root = '/srv/./shop' must be" },
		{ "root with //", WITH_ROOT("/srv//shop"), 2, "root = '/srv//shop' must be" },
		{ "root with trailing /", WITH_ROOT("/srv/shop/"), 2, "root = '/srv/shop/' must be" },
		{ "root with a control character", WITH_ROOT("/srv/sh\x1bop"), 2, "must be an absolute path" },
		{ "empty root", WITH_ROOT(""), 2, "root = '' must be" },
		{ "user with a space", WITH_USERS("a b", "nogroup", "www-data"), 3, "user = 'a b' is not a valid user" },
		{ "user like an option", WITH_USERS("-x", "nogroup", "www-data"), 3, "user = '-x' is not a valid user" },
		{ "group with a slash", WITH_USERS("nobody", "a/b", "www-data"), 4, "group = 'a/b' is not a valid" },
		{ "web_group too long", WITH_USERS("nobody", "nogroup", "abcdefghijabcdefghijabcdefghijabc"), 5, "web_group = " },
		{ "keep 0", APP_OK "keep = 0\n", 6, "keep = '0' must be a number from 1 to 1000" },
		{ "keep 1001", APP_OK "keep = 1001\n", 6, "keep = '1001' must be" },
		{ "keep abc", APP_OK "keep = abc\n", 6, "keep = 'abc' must be" },
		{ "keep -1", APP_OK "keep = -1\n", 6, "keep = '-1' must be" },
		{ "keep 5x", APP_OK "keep = 5x\n", 6, "keep = '5x' must be" },
		{ "keep empty", APP_OK "keep =\n", 6, "keep = '' must be" },
		{ "mode bind without live", APP_OK "mode = bind\n", 0, "mode = bind needs live" },
		{ "mode other", APP_OK "mode = other\n", 6, "mode = 'other' must be symlink or bind" },
		{ "docroot ..", APP_OK "docroot = ..\n", 6, "docroot = '..' must be a relative path" },
		{ "docroot ../x", APP_OK "docroot = ../x\n", 6, "docroot = '../x' must be" },
		{ "docroot a/../../etc", APP_OK "docroot = a/../../etc\n", 6, "docroot = 'a/../../etc' must be" },
		{ "docroot absolute", APP_OK "docroot = /var/www\n", 6, "docroot = '/var/www' must be" },
		{ "docroot trailing /", APP_OK "docroot = public/\n", 6, "docroot = 'public/' must be" },
		{ "allow_users bad entry", APP_OK "allow_users = alice -bob\n", 6, "allow_users: '-bob' is not a valid entry" },
		{ "allow_users twice", APP_OK "allow_users = alice alice\n", 6, "allow_users: 'alice' is listed twice" },
		{ "operators like an option", APP_OK "operators = -adm\n", 6, "operators = '-adm' is not a valid group name" },
		{ "operators two words", APP_OK "operators = adm staff\n", 6, "operators = 'adm staff' is not" },
	};

	run_bad_cases(cases, ELEMENTSOF(cases));
}

/* [app] operators: none (the default) or a group, resolved at load. */
static void test_parse_operators(void **state)
{
	struct config c;
	char err[512];

	assert_int_equal(parse(&c, APP_OK, err, sizeof(err)), 0);
	assert_string_equal(c.operators, "");
	assert_true(c.operators_gid == (gid_t)-1);
	config_free(&c);
	assert_int_equal(parse(&c, APP_OK "operators = none\n", err, sizeof(err)), 0);
	assert_string_equal(c.operators, "");
	config_free(&c);
	assert_int_equal(parse(&c, APP_OK "operators = adm\n", err, sizeof(err)), 0);
	assert_string_equal(c.operators, "adm");
	assert_true(c.operators_gid == (gid_t)-1);   /* until config_resolve_ids */
	config_free(&c);
}

static void test_parse_bad_shared_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "dirs with ..", APP_OK "[shared]\ndirs = storage ../x\n", 7, "dirs: '../x' is not a valid entry" },
		{ "dirs inner ..", APP_OK "[shared]\ndirs = storage/../../x\n", 7, "dirs: 'storage/../../x' is not" },
		{ "dirs ..", APP_OK "[shared]\ndirs = ..\n", 7, "dirs: '..' is not" },
		{ "dirs .", APP_OK "[shared]\ndirs = .\n", 7, "dirs: '.' is not" },
		{ "dirs absolute", APP_OK "[shared]\ndirs = /etc\n", 7, "dirs: '/etc' is not" },
		{ "dirs a//b", APP_OK "[shared]\ndirs = a//b\n", 7, "dirs: 'a//b' is not" },
		{ "dirs duplicate", APP_OK "[shared]\ndirs = storage logs storage\n", 7, "dirs: 'storage' is listed twice" },
		{ "dirs duplicate over two lines", APP_OK "[shared]\ndirs = storage\ndirs = storage\n", 8, "dirs: 'storage' is listed twice" },
		{ "files with ..", APP_OK "[shared]\nfiles = .env ../../etc/shadow\n", 7, "files: '../../etc/shadow' is not" },
		{ "files absolute", APP_OK "[shared]\nfiles = /etc/passwd\n", 7, "files: '/etc/passwd' is not" },
		{ "files duplicate", APP_OK "[shared]\nfiles = .env .env\n", 7, "files: '.env' is listed twice" },
	};

	run_bad_cases(cases, ELEMENTSOF(cases));
}

static void test_parse_bad_build_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "run empty", APP_OK "[build]\nrun =\n", 7, "run needs a command" },
		{ "env without =", APP_OK "[build]\nenv = NOVALUE\n", 7, "env = 'NOVALUE' must be NAME=VALUE" },
		{ "env with empty name", APP_OK "[build]\nenv = =x\n", 7, "env = '=x' must be" },
		{ "env name starting with a digit", APP_OK "[build]\nenv = 1X=y\n", 7, "env = '1X=y' must be" },
		{ "env name with a dash", APP_OK "[build]\nenv = A-B=c\n", 7, "env = 'A-B=c' must be" },
		{ "env name with a space", APP_OK "[build]\nenv = A B=c\n", 7, "env = 'A B=c' must be" },
		{ "timeout 0", APP_OK "[build]\ntimeout = 0\n", 7, "timeout = '0' must be seconds from 1 to 86400" },
		{ "timeout 86401", APP_OK "[build]\ntimeout = 86401\n", 7, "timeout = '86401' must be" },
		{ "timeout 1m", APP_OK "[build]\ntimeout = 1m\n", 7, "timeout = '1m' must be" },
		{ "max_size 1K", APP_OK "[build]\nmax_size = 1K\n", 7, "max_size = '1K' must be a size of at least 1M" },
		{ "max_size just under 1M", APP_OK "[build]\nmax_size = 1048575\n", 7, "max_size = '1048575' must be" },
		{ "max_size x", APP_OK "[build]\nmax_size = x\n", 7, "max_size = 'x' must be" },
		{ "max_size overflow", APP_OK "[build]\nmax_size = 99999999999T\n", 7, "max_size = '99999999999T' must be" },
		{ "max_files 0", APP_OK "[build]\nmax_files = 0\n", 7, "max_files = '0' must be" },
		{ "max_files too many", APP_OK "[build]\nmax_files = 100000001\n", 7, "max_files = '100000001' must be" },		{ "fpm config relative", APP_OK "[fpm]\nconfig = php-fpm.conf\n", 7, "config = 'php-fpm.conf' must be an absolute path" },
	};

	run_bad_cases(cases, ELEMENTSOF(cases));
}

/* A line of exactly len characters (without the newline): "run = aaa...". */
static void append_run_line(char *text, size_t n, size_t len)
{
	size_t o = strlen(text);

	assert_true(o + len + 2 < n);
	memcpy(text + o, "run = ", 6);
	memset(text + o + 6, 'a', len - 6);
	text[o + len] = '\n';
	text[o + len + 1] = '\0';
}

#define SWAP_OK "[fpm]\nreload = swap\nconfig = /etc/cutover/fpm/shop.conf\n"

/* reload = swap: its keys, their defaults, and what it refuses. */
static void test_parse_fpm_swap(void **state)
{
	static const struct bad_case cases[] = {
		{ "swap without config", APP_OK "[fpm]\nreload = swap\n", 0, "reload = swap needs config" },
		{ "swap with bind", "[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n"
		  "mode = bind\nlive = /srv/shop/live\n" SWAP_OK, 0, "cannot be used with mode = bind" },
		{ "pool user root", APP_OK SWAP_OK "user = root\n", 0, "must not be root" },
		{ "pool group root", APP_OK SWAP_OK "group = root\n", 0, "must not be root" },
		{ "live_socket relative", APP_OK SWAP_OK "live_socket = shop.sock\n", 9, "must be an absolute path" },
		{ "live_socket too long for sun_path", APP_OK SWAP_OK "live_socket = /run/"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
		  9, "shorter than 108 bytes" },
		{ "keep_warm too long", APP_OK SWAP_OK "keep_warm = 86401\n", 9, "keep_warm = '86401' must be" },
		{ "max_memory too small", APP_OK SWAP_OK "max_memory = 1M\n", 9, "at least 16M" },
		{ "warm url without slash", APP_OK SWAP_OK "warm_urls = index.php\n", 9, "'index.php' is not a valid entry" },
		{ "nine warm urls on one line", APP_OK SWAP_OK "warm_urls = /1 /2 /3 /4 /5 /6 /7 /8 /9\n", 9,
		  "too many warm_urls entries (at most 8)" },
		{ "preload absolute", APP_OK SWAP_OK "preload = /etc/passwd\n", 9, "must be a path inside the release" },
		{ "preload escaping", APP_OK SWAP_OK "preload = ../x.php\n", 9, "must be a path inside the release" },
		{ "bad reload", APP_OK "[fpm]\nreload = swapp\n", 7, "must be graceful, swap, opcache-reset or none" },
	};
	struct config c;
	char err[512];

	(void)state;
	run_bad_cases(cases, ELEMENTSOF(cases));
	/* Defaults. */
	assert_int_equal(parse(&c, APP_OK SWAP_OK, err, sizeof(err)), 0);
	assert_int_equal(c.fpm.reload, FPM_RELOAD_SWAP);
	assert_string_equal(c.fpm.user, "www-data");
	assert_string_equal(c.fpm.group, "");
	assert_int_equal(c.fpm.keep_warm, 300);
	assert_int_equal(c.fpm.warm_requests, 4);
	assert_int_equal(c.fpm.n_warm_urls, 0);
	config_free(&c);
	/* Everything given. */
	assert_int_equal(parse(&c, APP_OK SWAP_OK "live_socket = /run/cutover/fpm/shop.sock\nbinary = /usr/sbin/php-fpm8.2\n"
			       "user = web\ngroup = web\nkeep_warm = 0\nmax_memory = 512M\n"
			       "warm_urls = / /health?x=1\nwarm_requests = 8\npreload = config/preload.php\n",
			       err, sizeof(err)), 0);
	assert_string_equal(c.fpm.live_socket, "/run/cutover/fpm/shop.sock");
	assert_string_equal(c.fpm.binary, "/usr/sbin/php-fpm8.2");
	assert_string_equal(c.fpm.user, "web");
	assert_string_equal(c.fpm.group, "web");
	assert_int_equal(c.fpm.keep_warm, 0);
	assert_int_equal(c.fpm.max_memory, 512ULL << 20);
	assert_int_equal(c.fpm.n_warm_urls, 2);
	assert_string_equal(c.fpm.warm_urls[1], "/health?x=1");
	assert_int_equal(c.fpm.warm_requests, 8);
	assert_string_equal(c.fpm.preload, "config/preload.php");
	config_free(&c);
	/* The deploy user as the pool's user only when said explicitly. */
	assert_int_equal(parse(&c, "[app]\nroot = /srv/shop\nuser = www-data\ngroup = www-data\nweb_group = www-data\n"
			       SWAP_OK, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "set [fpm] user = www-data explicitly"));
	config_free(&c);
	assert_int_equal(parse(&c, "[app]\nroot = /srv/shop\nuser = www-data\ngroup = www-data\nweb_group = www-data\n"
			       SWAP_OK "user = www-data\n", err, sizeof(err)), 0);
	config_free(&c);
}

/* [fpm] config: the master's php-fpm.conf, kept as given. */
static void test_parse_fpm_config(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, APP_OK "[fpm]\npid_file = /run/php/php8.2-fpm.pid\nconfig = /etc/php/8.2/fpm/php-fpm.conf\n",
			       err, sizeof(err)), 0);
	assert_string_equal(c.fpm.config, "/etc/php/8.2/fpm/php-fpm.conf");
	assert_int_equal(parse(&c, APP_OK "[fpm]\npid_file = /run/php/php8.2-fpm.pid\n", err, sizeof(err)), 0);
	assert_string_equal(c.fpm.config, "");
}

static void test_parse_long_line(void **state)
{
	char text[1024];
	struct config c;
	char err[256];

	/* Line 7 has 200 characters: inih would split it into two lines. */
	strcpy(text, APP_OK "[build]\n");
	append_run_line(text, sizeof(text), 200);
	strcat(text, "run = make\n");
	check_refused("200-character line", text, 7, "line is longer than");

	/* The same with no newline at the end of the file. */
	strcpy(text, APP_OK "[build]\n");
	append_run_line(text, sizeof(text), 250);
	text[strlen(text) - 1] = '\0';
	check_refused("250-character last line", text, 7, "line is longer than");

	/* A long comment is a long line too. */
	strcpy(text, "#");
	memset(text + 1, '#', 300);
	strcpy(text + 301, "\n" APP_OK);
	check_refused("301-character comment", text, 1, "line is longer than");

	/* A root over 255 characters cannot even be written on one line. */
	strcpy(text, "[app]\nroot = /");
	memset(text + strlen(text), 'r', 256);
	strcpy(text + 14 + 256, "\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n");
	check_refused("root longer than 255", text, 2, "longer than");

	/* Well under the limit is fine and kept whole. */
	strcpy(text, APP_OK "[build]\n");
	append_run_line(text, sizeof(text), 150);
	assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.n_build_run, 1);
	assert_int_equal(strlen(c.build_run[0]), 150 - 6);
	config_free(&c);
}

/*
 * BUG (src/common/config.c:18): inih keeps a 200-byte line buffer, which must hold
 * the line, its '\n' and the NUL (inih's own ini.h: "3 more than the longest
 * line", counting '\r'). A line of 199 characters passes check_lines, inih
 * reads it without its '\n', counts that '\n' as one more line, and every
 * later error is reported one line too far down.
 */
static void test_parse_line_number_after_199_char_line(void **state)
{
	char text[1024];
	struct config c;
	char err[256];
	int r;

	strcpy(text, APP_OK "[build]\n");
	append_run_line(text, sizeof(text), 199);     /* line 7 */
	strcat(text, "bogus\n");                      /* line 8 */
	r = parse(&c, text, err, sizeof(err));
	config_free(&c);
	assert_int_equal(r, -EINVAL);
	/* Either the long line is refused, or the error is on line 8. */
	if (strncmp(err, "config:7: line is longer", 24) != 0 &&
	    strncmp(err, "config:8: ", 10) != 0)
		fail_msg("error on line 8 reported as '%s'", err);
}

/*
 * BUG (src/common/config.c:348-351): inih goes on after a syntax error and reports
 * the first error's line, but the reason printed is the first *handler*
 * error, which may be on a later line: "config:2: keep = '0' must be ..."
 * when line 2 is the syntax error and keep is on line 3.
 */
static void test_parse_syntax_error_then_bad_value(void **state)
{
	check_refused("syntax error before a bad value",
		      "[app]\ngarbage\nkeep = 0\nroot = /srv/shop\nuser = nobody\n"
		      "group = nogroup\nweb_group = www-data\n",
		      2, "syntax error");
}

/*
 * " ;" starts an inline comment (the documented config uses them:
 * "root = /srv/shop   ; holds releases/"), so it also ends a build
 * command; docs/cutover.8 says to write "make clean; make" (no space before
 * ';') or "make clean && make". Pin that behaviour down.
 */
static void test_parse_repeated_key_refused(void **state)
{
	check_refused("repeated root", "[app]\nroot = /srv/a\nuser = nobody\nroot = /srv/b\n"
		      "group = nogroup\nweb_group = www-data\n", 4, "root is set twice");
}

/*
 * Every key that may be set once, set once, then the last one again: the
 * repeat is still refused (the record of keys seen once is not full).
 */
static void test_parse_every_key_then_repeat(void **state)
{
	static const char text[] =
		"[app]\nroot = /srv/shop\nuser = nobody\ngroup = nogroup\nweb_group = www-data\n"
		"keep = 7\nmode = symlink\ndocroot = public\noperators = adm\nlive = /srv/shop/live\n"
		"preset = laravel\n"
		"[build]\ngit_user = nobody\nmax_files = 1000\nmax_memory = 1G\nmax_procs = 64\n"
		"max_size = 1G\nssh_key = /etc/cutover/key\nssh_known_hosts = /etc/cutover/known\n"
		"timeout = 60\n"
		"[fpm]\nbinary = /usr/sbin/php-fpm8.2\nconfig = /etc/php/8.2/fpm/pool.d/shop.conf\n"
		"group = www-data\nkeep_warm = 60\nlive_socket = /run/cutover/fpm/shop.sock\n"
		"max_inflight_ms = 100\nmax_memory = 512M\npid_file = /run/php/php8.2-fpm.pid\n"
		"preload = config/preload.php\nreload = swap\nsocket = /run/php/shop.sock\n"
		"status_path = /fpm-status\ntimeout = 10\nuser = www-data\nwarm_requests = 2\n"
		"warm_urls = /\n"
		"[health]\nexpect_body = ok\nexpect_status = 200\nhost = shop.example\n"
		"precheck = yes\nretries = 3\nrollback = yes\ntimeout = 5\nurl = http://127.0.0.1/up\n"
		"[migrate]\nallow_destructive = false\npretend = php artisan migrate --pretend --force\n"
		"run = php artisan migrate --force\n"
		"[notify]\nformat = json\nretries = 2\ntimeout = 5\n"
		"retries = 3\n";
	int line = 1;

	(void)state;
	for (const char *p = text; *p; p++)
		line += *p == '\n';
	check_refused("every key, then one again", text, line - 1, "retries is set twice");
}

static void test_parse_run_inline_comment(void **state)
{
	struct config c;
	char err[256], got[2][256] = { "", "" };
	size_t n;
	int r;

	r = parse(&c, APP_OK "[build]\nrun = make clean ; make\nrun = make clean; make\n", err, sizeof(err));
	n = c.n_build_run;
	if (r == 0 && n == 2) {
		snprintf(got[0], sizeof(got[0]), "%s", c.build_run[0]);
		snprintf(got[1], sizeof(got[1]), "%s", c.build_run[1]);
	}
	config_free(&c);
	assert_int_equal(r, 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], "make clean");
	assert_string_equal(got[1], "make clean; make");
}

/*
 * BUG (src/common/config.c:297-334 check_lines / :348; inih's INI_ALLOW_MULTILINE): an
 * indented line without '=' is taken as a second value for the key above
 * it, so "root = /srv/shop" followed by "  /srv/other" silently sets root
 * to /srv/other. It must be refused like any other line that is not
 * "key = value" or "[section]".
 */
static void test_parse_indented_line_refused(void **state)
{
	check_refused("indented continuation line",
		      "[app]\nroot = /srv/shop\n  /srv/other\nuser = nobody\n"
		      "group = nogroup\nweb_group = www-data\n",
		      3, "");
}

static void test_parse_too_many_runs(void **state)
{
	char text[8192];
	size_t o;

	strcpy(text, APP_OK "[build]\n");
	o = strlen(text);
	for (int i = 0; i < CONFIG_MAX_LIST + 1; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "run = step %d\n", i);
	/* The 65th run is on line 6 + 65. */
	check_refused("65 run entries", text, 6 + CONFIG_MAX_LIST + 1, "too many run entries");

	strcpy(text, APP_OK "[build]\n");
	o = strlen(text);
	for (int i = 0; i < CONFIG_MAX_LIST + 1; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "env = V%d=%d\n", i, i);
	check_refused("65 env entries", text, 6 + CONFIG_MAX_LIST + 1, "too many env entries");
}

/* The first error is reported, not the last. */
static void test_parse_first_error_kept(void **state)
{
	check_refused("two bad values", APP_OK "keep = 0\nmode = bind\n", 6, "keep = '0'");
}

static void test_relpath_valid(void **state)
{
	static const struct {
		const char *path;
		bool valid;
	} cases[] = {
		{ "public", true }, { "web/public", true }, { ".env", true },
		{ "a..b", true }, { "...", true },
		{ "", false }, { "/", false }, { "/a", false }, { ".", false },
		{ "..", false }, { "../a", false }, { "a/..", false }, { "a/./b", false },
		{ "a//b", false }, { "a/", false }, { "a\nb", false }, { "a\x7f", false },
	};
	char longp[300];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		if (config_relpath_valid(cases[i].path) != cases[i].valid)
			fail_msg("config_relpath_valid(\"%s\") != %d", cases[i].path, cases[i].valid);
	assert_false(config_relpath_valid(NULL));
	memset(longp, 'a', 255);
	longp[255] = '\0';
	assert_true(config_relpath_valid(longp));
	longp[255] = 'a';
	longp[256] = '\0';
	assert_false(config_relpath_valid(longp));
}

static void test_default_path(void **state)
{
	char p[PATH_MAX];

	assert_int_equal(config_default_path(p, sizeof(p), "shop"), 0);
	assert_string_equal(p, "/etc/cutover/shop.conf");
	assert_int_equal(config_default_path(p, sizeof(p), "../x"), -EINVAL);
	assert_int_equal(config_default_path(p, sizeof(p), "Shop"), -EINVAL);
	assert_int_equal(config_default_path(p, 10, "shop"), -ENAMETOOLONG);
}

/* ---- files: trust checks --------------------------------------------- */

struct fixture {
	char dir[64];
	char path[PATH_MAX];     /* scratch for at() */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(f->dir) || chmod(f->dir, 0755) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	r = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

static const char *at(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* Writes f->dir/name with the given mode and owner; returns its path. */
static const char *write_file(struct fixture *f, const char *name, const char *text,
			      mode_t mode, uid_t uid)
{
	const char *p = at(f, name);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(fchown(fd, uid, 0), 0);
	return p;
}

static void make_dir(struct fixture *f, const char *name, mode_t mode, uid_t uid)
{
	const char *p = at(f, name);

	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
	assert_int_equal(chown(p, uid, 0), 0);
}

/* Expects config_load(path) to fail with r and an error starting with
 * "SHOWN " or "SHOWN:" and containing reason. */
static void check_load_refused(const char *path, int r, const char *shown,
			       const char *reason)
{
	struct config c;
	char err[PATH_MAX + 256] = "";
	size_t n = strlen(shown);
	int got;

	got = config_load(&c, path, "shop", err, sizeof(err));
	config_free(&c);
	if (got != r)
		fail_msg("config_load(%s) = %d, want %d (err '%s')", path, got, r, err);
	if (strncmp(err, shown, n) != 0 || (err[n] != ' ' && err[n] != ':'))
		fail_msg("error '%s' does not name '%s'", err, shown);
	if (!strstr(err, reason))
		fail_msg("error '%s' does not say '%s'", err, reason);
}

static void test_load_trusted(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], err[PATH_MAX + 256] = "";
	struct config c;
	struct passwd *pw;
	struct group *gr;

	snprintf(path, sizeof(path), "%s", write_file(f, "shop.conf", APP_OK "keep = 9\n", 0644, 0));
	assert_int_equal(config_load(&c, path, "shop", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.path, path);
	assert_string_equal(c.app, "shop");
	assert_string_equal(c.root, "/srv/shop");
	assert_int_equal(c.keep, 9);
	pw = getpwnam("nobody");
	assert_non_null(pw);
	assert_int_equal(c.uid, pw->pw_uid);
	gr = getgrnam("nogroup");
	assert_non_null(gr);
	assert_int_equal(c.gid, gr->gr_gid);
	gr = getgrnam("www-data");
	assert_non_null(gr);
	assert_int_equal(c.web_gid, gr->gr_gid);
	config_free(&c);
}

/* config_open_trusted hands back an fd that reads the file itself. */
static void test_open_trusted_reads_file(void **state)
{
	struct fixture *f = *state;
	char err[PATH_MAX + 256] = "", buf[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	fd = config_open_trusted(write_file(f, "a.conf", "hello\n", 0600, 0), err, sizeof(err));
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "hello\n", 6);
	/* O_NONBLOCK was only for the open. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}

static void test_load_group_writable_file(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", write_file(f, "shop.conf", APP_OK, 0664, 0));
	check_load_refused(path, -EPERM, path, "must not be writable by group or others");
	snprintf(path, sizeof(path), "%s", write_file(f, "other.conf", APP_OK, 0646, 0));
	check_load_refused(path, -EPERM, path, "must not be writable");
}

static void test_load_group_writable_dir(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];

	make_dir(f, "etc", 0775, 0);
	snprintf(dir, sizeof(dir), "%s", at(f, "etc"));
	snprintf(path, sizeof(path), "%s", write_file(f, "etc/shop.conf", APP_OK, 0644, 0));
	check_load_refused(path, -EPERM, dir, "must not be writable by group or others (mode 0775)");
}

/* An other-writable directory passes only with the sticky bit (like /tmp). */
static void test_load_sticky_dir(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], path[PATH_MAX], err[PATH_MAX + 256];
	struct config c;

	make_dir(f, "sticky", 01777, 0);
	snprintf(path, sizeof(path), "%s", write_file(f, "sticky/shop.conf", APP_OK, 0644, 0));
	assert_int_equal(config_load(&c, path, "shop", err, sizeof(err)), 0);
	config_free(&c);

	make_dir(f, "open", 0777, 0);
	snprintf(dir, sizeof(dir), "%s", at(f, "open"));
	snprintf(path, sizeof(path), "%s", write_file(f, "open/shop.conf", APP_OK, 0644, 0));
	check_load_refused(path, -EPERM, dir, "must not be writable");
}

static void test_load_not_root_owned(void **state)
{
	struct fixture *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", write_file(f, "shop.conf", APP_OK, 0644, 65534));
	check_load_refused(path, -EPERM, path, "must be owned by root (owner uid is 65534)");

	make_dir(f, "theirs", 0755, 65534);
	snprintf(dir, sizeof(dir), "%s", at(f, "theirs"));
	snprintf(path, sizeof(path), "%s", write_file(f, "theirs/shop.conf", APP_OK, 0644, 0));
	check_load_refused(path, -EPERM, dir, "must be owned by root");
}

static void test_load_symlink(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	write_file(f, "real.conf", APP_OK, 0644, 0);
	snprintf(path, sizeof(path), "%s", at(f, "shop.conf"));
	assert_int_equal(symlink("real.conf", path), 0);
	check_load_refused(path, -ELOOP, path, "is a symlink");

	/* An absolute symlink to a trusted file is refused just the same. */
	snprintf(path, sizeof(path), "%s", at(f, "abs.conf"));
	assert_int_equal(symlink(at(f, "real.conf"), path), 0);
	check_load_refused(path, -ELOOP, path, "is a symlink");
}

static void test_load_symlink_in_dir_path(void **state)
{
	struct fixture *f = *state;
	char link[128], path[PATH_MAX], err[PATH_MAX + 256] = "";
	struct config c;
	int r;

	make_dir(f, "real", 0755, 0);
	write_file(f, "real/shop.conf", APP_OK, 0644, 0);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink("real", link), 0);
	snprintf(path, sizeof(path), "%s/shop.conf", link);
	r = config_load(&c, path, "shop", err, sizeof(err));
	config_free(&c);
	assert_true(r < 0);
	/* Refused at the symlink, which the message names. */
	assert_true(strncmp(err, link, strlen(link)) == 0 && err[strlen(link)] == ' ');
}

/*
 * BUG (src/common/config.c:447): intermediate components are opened with
 * O_PATH | O_NOFOLLOW, and openat2 then returns an fd for the symlink
 * itself instead of failing with ELOOP (openat2(2): "If the trailing
 * component ... is a symbolic link, how.resolve contains
 * RESOLVE_NO_SYMLINKS, and how.flags contains both O_PATH and O_NOFOLLOW,
 * then an O_PATH file descriptor referencing the symbolic link will be
 * returned"). The path is still refused, but only because a symlink's mode
 * is 0777: "link must not be writable by group or others (mode 0777)",
 * -EPERM, which sends the admin to chmod instead of saying "is a symlink".
 */
static void test_load_symlink_in_dir_path_reason(void **state)
{
	struct fixture *f = *state;
	char link[128], path[PATH_MAX];

	make_dir(f, "real", 0755, 0);
	write_file(f, "real/shop.conf", APP_OK, 0644, 0);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink("real", link), 0);
	snprintf(path, sizeof(path), "%s/shop.conf", link);
	check_load_refused(path, -ELOOP, link, "is a symlink");
}

static void test_load_fifo(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", at(f, "shop.conf"));
	assert_int_equal(mkfifo(path, 0644), 0);
	/* Must not block on open: no writer will ever come. */
	check_load_refused(path, -EPERM, path, "is not a regular file");
}

static void test_load_directory(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	make_dir(f, "shop.conf", 0755, 0);
	snprintf(path, sizeof(path), "%s", at(f, "shop.conf"));
	check_load_refused(path, -EPERM, path, "is not a regular file");
}

static void test_load_missing(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", at(f, "nope.conf"));
	check_load_refused(path, -ENOENT, path, "does not exist");
	snprintf(path, sizeof(path), "%s", at(f, "nodir/shop.conf"));
	check_load_refused(path, -ENOENT, at(f, "nodir"), "does not exist");
}

static void test_load_bad_paths(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	write_file(f, "shop.conf", APP_OK, 0644, 0);
	check_load_refused("shop.conf", -EINVAL, "shop.conf", "must be absolute");
	snprintf(path, sizeof(path), "%s/../%s/shop.conf", f->dir, f->dir + 5);
	check_load_refused(path, -EINVAL, path, "must not contain '.' or '..'");
	snprintf(path, sizeof(path), "%s/./shop.conf", f->dir);
	check_load_refused(path, -EINVAL, path, "must not contain '.' or '..'");
}

/* A parse error in a file names the file and the line. */
static void test_load_parse_error(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], want[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s", write_file(f, "shop.conf", APP_OK "keep = 0\n", 0644, 0));
	snprintf(want, sizeof(want), "%s:6", path);
	check_load_refused(path, -EINVAL, want, "keep = '0'");
}

static void test_load_nul_and_size(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	_cleanup_free_ char *big = malloc(70000);
	int fd;

	snprintf(path, sizeof(path), "%s", at(f, "nul.conf"));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, APP_OK "\0keep = 3\n", sizeof(APP_OK) + 9), 0);
	close(fd);
	check_load_refused(path, -EINVAL, path, "NUL byte");

	/* More than 64 KiB of comments. */
	assert_non_null(big);
	for (size_t i = 0; i < 70000 - 1; i++)
		big[i] = (i % 100 == 99) ? '\n' : '#';
	big[70000 - 1] = '\0';
	snprintf(path, sizeof(path), "%s", write_file(f, "big.conf", big, 0644, 0));
	check_load_refused(path, -EFBIG, path, "larger than 64 KiB");
}

static void test_path_open_trusted_dir(void **state)
{
	struct fixture *f = *state;
	char err[PATH_MAX + 256], path[PATH_MAX];
	struct stat st;
	_cleanup_close_ int fd = -EBADF;

	fd = path_open_trusted(f->dir, true, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	snprintf(path, sizeof(path), "%s", write_file(f, "file", "x", 0644, 0));
	assert_int_equal(path_open_trusted(path, true, err, sizeof(err)), -ENOTDIR);
	assert_true(strncmp(err, path, strlen(path)) == 0);

	/* And the reverse: a directory where a file is wanted. */
	assert_int_equal(path_open_trusted(f->dir, false, err, sizeof(err)), -EPERM);
	assert_true(strstr(err, "is not a regular file") != NULL);
}

/* ---- user and group lookup ------------------------------------------ */

static void set_ids(struct config *c, const char *user, const char *group,
		    const char *web_group)
{
	config_init(c);
	strcpy(c->path, "/etc/cutover/shop.conf");
	strcpy(c->user, user);
	strcpy(c->group, group);
	strcpy(c->web_group, web_group);
}

static void test_resolve_ids(void **state)
{
	struct config c;
	char err[512] = "";
	struct passwd *pw;
	struct group *gr;

	set_ids(&c, "nobody", "nogroup", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), 0);
	pw = getpwnam("nobody");
	assert_non_null(pw);
	assert_int_equal(c.uid, pw->pw_uid);
	assert_true(c.uid != 0);
	gr = getgrnam("nogroup");
	assert_non_null(gr);
	assert_int_equal(c.gid, gr->gr_gid);
	gr = getgrnam("www-data");
	assert_non_null(gr);
	assert_int_equal(c.web_gid, gr->gr_gid);
}

/* [build] git_user: a user of its own, neither root nor the deploy user. */
static void test_resolve_git_user(void **state)
{
	struct config c;
	char err[512] = "";
	struct passwd *pw;

	set_ids(&c, "nobody", "nogroup", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), 0);
	assert_string_equal(c.git_user, "");

	set_ids(&c, "nobody", "nogroup", "www-data");
	strcpy(c.git_user, "daemon");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), 0);
	pw = getpwnam("daemon");
	assert_non_null(pw);
	assert_int_equal(c.git_uid, pw->pw_uid);

	for (int i = 0; i < 2; i++) {
		set_ids(&c, "nobody", "nogroup", "www-data");
		strcpy(c.git_user, i == 0 ? "root" : "nobody");
		assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -EPERM);
		assert_true(strstr(err, "must be a user of its own, neither root nor the deploy user") != NULL);
	}

	set_ids(&c, "nobody", "nogroup", "www-data");
	strcpy(c.git_user, "no-such-user-cutover");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "git_user 'no-such-user-cutover' does not exist") != NULL);
}

static void test_resolve_ids_errors(void **state)
{
	struct config c;
	char err[512];

	set_ids(&c, "no-such-user-cutover", "nogroup", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "/etc/cutover/shop.conf: user 'no-such-user-cutover' does not exist") == err);

	set_ids(&c, "root", "nogroup", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -EPERM);
	assert_true(strstr(err, "user = root has uid 0") != NULL);
	assert_int_equal(c.uid, (uid_t)-1);

	set_ids(&c, "nobody", "no-such-group-cutover", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "group 'no-such-group-cutover' does not exist") != NULL);

	set_ids(&c, "nobody", "root", "www-data");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -EPERM);
	assert_true(strstr(err, "group = root has gid 0") != NULL);

	set_ids(&c, "nobody", "nogroup", "no-such-group-cutover");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "web_group 'no-such-group-cutover' does not exist") != NULL);

	set_ids(&c, "nobody", "nogroup", "root");
	assert_int_equal(config_resolve_ids(&c, err, sizeof(err)), -EPERM);
	assert_true(strstr(err, "web_group = root has gid 0") != NULL);
}

/* A config that parses but names a user that does not exist fails to load. */
static void test_load_unknown_user(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", write_file(f, "shop.conf",
		 "[app]\nroot = /srv/shop\nuser = no-such-user-cutover\ngroup = nogroup\nweb_group = www-data\n",
		 0644, 0));
	check_load_refused(path, -ENOENT, path, "user 'no-such-user-cutover' does not exist");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- [notify] and the hooks of failures and rollbacks ------------------ */

static void test_parse_notify(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	/* Defaults: no URL, json, 5 s, 2 retries. */
	assert_int_equal(parse(&c, APP_OK, err, sizeof(err)), 0);
	assert_int_equal(c.notify.n_urls, 0);
	assert_int_equal(c.notify.format, NOTIFY_JSON);
	assert_int_equal(c.notify.timeout, 5);
	assert_int_equal(c.notify.retries, 2);
	config_free(&c);

	/* url repeated, and several on one line */
	assert_int_equal(parse(&c, APP_OK "[notify]\nurl = http://127.0.0.1:8080/hook\n"
			       "url = https://hooks.example.com/a?b=c https://x.example/y\n"
			       "format = slack\ntimeout = 12\nretries = 0\n", err, sizeof(err)), 0);
	assert_int_equal(c.notify.n_urls, 3);
	assert_string_equal(c.notify.urls[0], "http://127.0.0.1:8080/hook");
	assert_string_equal(c.notify.urls[1], "https://hooks.example.com/a?b=c");
	assert_string_equal(c.notify.urls[2], "https://x.example/y");
	assert_int_equal(c.notify.format, NOTIFY_SLACK);
	assert_int_equal(c.notify.timeout, 12);
	assert_int_equal(c.notify.retries, 0);
	config_free(&c);
}

static void test_parse_notify_refused(void **state)
{
	(void)state;
	check_refused("ftp", APP_OK "[notify]\nurl = ftp://example.com/x\n", 7, "must be an http:// or https:// URL");
	check_refused("file", APP_OK "[notify]\nurl = file:///etc/passwd\n", 7, "must be an http:// or https:// URL");
	check_refused("no host", APP_OK "[notify]\nurl = http:///x\n", 7, "must be an http:// or https:// URL");
	check_refused("quote", APP_OK "[notify]\nurl = http://a/\"x\n", 7, "must be an http:// or https:// URL");
	check_refused("backslash", APP_OK "[notify]\nurl = http://a/\\x\n", 7, "must be an http:// or https:// URL");
	check_refused("second bad", APP_OK "[notify]\nurl = http://a/ gopher://b/\n", 7, "'gopher://b/'");
	check_refused("format", APP_OK "[notify]\nurl = http://a/\nformat = xml\n", 8, "must be json or slack");
	check_refused("timeout 0", APP_OK "[notify]\nurl = http://a/\ntimeout = 0\n", 8, "from 1 to 60");
	check_refused("retries", APP_OK "[notify]\nurl = http://a/\nretries = 11\n", 8, "from 0 to 10");
	check_refused("twice", APP_OK "[notify]\nurl = http://a/\nformat = json\nformat = json\n", 9, "set twice");
	check_refused("unknown", APP_OK "[notify]\nurl = http://a/\nmethod = PUT\n", 8, "unknown key 'method' in [notify]");
	check_refused("no url", APP_OK "[notify]\nformat = slack\n", 0, "[notify] needs url");
	check_refused("nine", APP_OK "[notify]\nurl = http://a/1 http://a/2 http://a/3 http://a/4 http://a/5\n"
		      "url = http://a/6 http://a/7 http://a/8 http://a/9\n", 8, "too many url entries");
}

static void test_parse_failure_hooks(void **state)
{
	struct config c;
	char err[512];
	char *const *v;
	size_t n;

	(void)state;
	assert_int_equal(parse(&c, APP_OK "[hooks]\non_failure = echo \"$CUTOVER_REASON\" >>/tmp/x\n"
			       "on_failure = true\nafter_rollback = php artisan up\nbefore_switch = a\nafter_switch = b\n",
			       err, sizeof(err)), 0);
	v = config_hooks(&c, HOOK_ON_FAILURE, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "echo \"$CUTOVER_REASON\" >>/tmp/x");
	assert_string_equal(v[1], "true");
	v = config_hooks(&c, HOOK_AFTER_ROLLBACK, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "php artisan up");
	v = config_hooks(&c, HOOK_BEFORE_SWITCH, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "a");
	v = config_hooks(&c, HOOK_AFTER_SWITCH, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "b");
	assert_null(config_hooks(&c, HOOK_KIND_MAX, &n));
	assert_int_equal(n, 0);
	assert_string_equal(config_hook_name(HOOK_ON_FAILURE), "on_failure");
	assert_string_equal(config_hook_name(HOOK_AFTER_ROLLBACK), "after_rollback");
	config_free(&c);
	check_refused("empty", APP_OK "[hooks]\non_failure =\n", 7, "on_failure needs a command");
	check_refused("unknown", APP_OK "[hooks]\non_error = x\n", 7, "unknown key 'on_error' in [hooks]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_valid_variants),
		cmocka_unit_test(test_parse_bad_structure),
		cmocka_unit_test(test_parse_bad_app_values),
		cmocka_unit_test(test_parse_operators),
		cmocka_unit_test(test_parse_bad_shared_values),
		cmocka_unit_test(test_parse_bad_build_values),
		cmocka_unit_test(test_parse_fpm_config),
		cmocka_unit_test(test_parse_fpm_swap),
		cmocka_unit_test(test_parse_long_line),
		cmocka_unit_test(test_parse_line_number_after_199_char_line),
		cmocka_unit_test(test_parse_syntax_error_then_bad_value),
		cmocka_unit_test(test_parse_run_inline_comment),
		cmocka_unit_test(test_parse_repeated_key_refused),
		cmocka_unit_test(test_parse_every_key_then_repeat),
		cmocka_unit_test(test_parse_indented_line_refused),
		cmocka_unit_test(test_parse_too_many_runs),
		cmocka_unit_test(test_parse_first_error_kept),
		cmocka_unit_test(test_relpath_valid),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_parse_notify),
		cmocka_unit_test(test_parse_notify_refused),
		cmocka_unit_test(test_parse_failure_hooks),
		T(test_load_trusted),
		T(test_open_trusted_reads_file),
		T(test_load_group_writable_file),
		T(test_load_group_writable_dir),
		T(test_load_sticky_dir),
		T(test_load_not_root_owned),
		T(test_load_symlink),
		T(test_load_symlink_in_dir_path),
		T(test_load_symlink_in_dir_path_reason),
		T(test_load_fifo),
		T(test_load_directory),
		T(test_load_missing),
		T(test_load_bad_paths),
		T(test_load_parse_error),
		T(test_load_nul_and_size),
		T(test_path_open_trusted_dir),
		cmocka_unit_test(test_resolve_ids),
		cmocka_unit_test(test_resolve_ids_errors),
		cmocka_unit_test(test_resolve_git_user),
		T(test_load_unknown_user),
	};

	/* A FIFO opened without O_NONBLOCK would hang the run; fail instead. */
	alarm(60);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
