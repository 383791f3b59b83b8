/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fpm_slot.h"
#include "names.h"
#include "util.h"

const char cli_usage[] =
	"usage: cutover [-c FILE] [-q] [--json] VERB APP [ARGS]\n"
	"       cutover help [VERB] | VERB --help | --help | --version\n"
	"\n"
	"  deploy   APP --from SOURCE [--label TEXT] [--dry-run]  stage, then switch, then prune\n"
	"  stage    APP --from SOURCE [--label TEXT]   build and freeze; print the new release id\n"
	"  switch   APP RELEASE                        publish a frozen release\n"
	"  rollback APP [RELEASE]                      back to the previous release (or the one named)\n"
	"  list     APP                                releases, newest first\n"
	"  status   APP                                current release, mode, last deploy, lock holder\n"
	"  prune    APP [--keep N]                     remove old releases\n"
	"  check    APP                                validate config and environment; change nothing\n"
	"  mount    APP                                mode = bind: mount the current release at live (boot, repair)\n"
	"  verify   APP [RELEASE]                      check a release (default: current) against its manifest\n"
	"  history  APP [-n N]                         every attempt (deploys, failures, rollbacks), newest first\n"
	"  log      APP RELEASE                        the build log of a release (kept for failed builds)\n"
	"  migrate  APP RELEASE [--pretend]            run a staged release's migrations without switching\n"
	"  fpm-start APP                               reload = swap: start the live release's php-fpm pool (root)\n"
	"\n"
	"SOURCE is a directory, a .tar, .tar.gz, .tgz, .tar.zst or .tar.xz file, or git+URL#REF.\n"
	"RELEASE (switch, rollback) is a release id, a unique prefix of one, or a unique label.\n"
	"Options: -c FILE (root only, not through sudo), -q quiet, --json one JSON document on stdout,\n"
	"  --wait SECONDS wait for a running deploy instead of failing, --keep-failed keep a failed build,\n"
	"  --allow-destructive (deploy) run migrations that drop, rename or retype tables and columns,\n"
	"  --dry-run (deploy) everything up to the switch, then stop; the live site is untouched.\n"
	"Exit codes: 0 success, 1 operation failed, 2 usage or configuration error,\n"
	"  3 deployed but unhealthy, rolled back.\n"
	"Run 'cutover help VERB' for one verb's options. See cutover(8), cutover.conf(5) and docs/ for details.\n";

static const struct {
	const char *name;
	enum verb verb;
} verb_names[] = {
	{ "deploy", VERB_DEPLOY }, { "stage", VERB_STAGE },
	{ "switch", VERB_SWITCH }, { "rollback", VERB_ROLLBACK },
	{ "list", VERB_LIST }, { "status", VERB_STATUS },
	{ "prune", VERB_PRUNE }, { "check", VERB_CHECK },
	{ "mount", VERB_MOUNT }, { "verify", VERB_VERIFY },
	{ "history", VERB_HISTORY }, { "log", VERB_LOG },
	{ "migrate", VERB_MIGRATE },
	{ "fpm-start", VERB_FPM_START },
};

enum verb verb_from_name(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verb_names); i++)
		if (strcmp(verb_names[i].name, name) == 0)
			return verb_names[i].verb;
	return VERB_NONE;
}

static int badf(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int badf(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* fmt holds one %s, for arg; arg comes from the caller's command line and
 * is escaped so it cannot put control characters into the error line. */
#define bad(err, n, fmt, arg) ({ \
	char _shown[80]; \
	const char *_a = (arg); \
	str_escape(_shown, sizeof(_shown), _a, strlen(_a)); \
	badf(err, n, fmt, _shown); })

/* Options valid anywhere: -q, --json. Returns 1 if consumed. */
static int anywhere_option(const char *a, struct cli *c)
{
	if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
		c->quiet = true;
		return 1;
	}
	if (strcmp(a, "--json") == 0) {
		c->json = true;
		return 1;
	}
	return 0;
}

static bool is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* cutover help [VERB]: i is the index of "help". */
static int parse_help_verb(int argc, char **argv, int i, struct cli *c, char *err, size_t n)
{
	c->help = true;
	for (i++; i < argc && anywhere_option(argv[i], c); i++)
		;
	if (i >= argc)
		return 0;
	if (verb_from_name(argv[i]) == VERB_NONE)
		return bad(err, n, "unknown verb '%s'; run 'cutover help'", argv[i]);
	c->help_verb = argv[i];
	for (i++; i < argc && anywhere_option(argv[i], c); i++)
		;
	if (i < argc)
		return bad(err, n, "unexpected argument '%s'; run 'cutover help'", argv[i]);
	return 0;
}

/* fpm-exec APP:S, the ExecStart of cutover-fpm@APP:S.service: not in
 * verb_names (no help, no helper); its one operand is a unit instance. */
static int parse_fpm_exec(int argc, char **argv, int i, struct cli *c, int *next, char *err, size_t n)
{
	char app[APP_NAME_MAX + 1], slot;

	c->verb = VERB_FPM_EXEC;
	c->verb_name = argv[i];
	for (i++; i < argc && anywhere_option(argv[i], c); i++)
		;
	if (i >= argc || fpm_slot_parse_instance(argv[i], app, &slot) < 0)
		return bad(err, n, "fpm-exec needs APP:a or APP:b, the unit's instance, not '%s'",
			   i < argc ? argv[i] : "");
	c->app = argv[i];
	*next = i + 1;
	return 0;
}

/* Parses global options and VERB APP; *next is the index after APP. */
static int parse_head(int argc, char **argv, struct cli *c, int *next, char *err, size_t n)
{
	int i = 1;

	memset(c, 0, sizeof(*c));
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (anywhere_option(a, c))
			continue;
		if (is_help(a)) {
			c->help = true;
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			c->version = true;
			return 0;
		}
		if (strcmp(a, "-c") == 0) {
			if (i + 1 >= argc)
				return bad(err, n, "option -c needs a FILE%s", "");
			c->config = argv[++i];
			continue;
		}
		if (a[0] == '-')
			return bad(err, n, "unknown option '%s'; run 'cutover --help'", a);
		break;
	}
	if (i >= argc)
		return bad(err, n, "no verb given; run 'cutover --help'%s", "");
	if (strcmp(argv[i], "help") == 0)
		return parse_help_verb(argc, argv, i, c, err, n);
	if (strcmp(argv[i], "fpm-exec") == 0)
		return parse_fpm_exec(argc, argv, i, c, next, err, n);
	c->verb_name = argv[i];
	c->verb = verb_from_name(argv[i]);
	if (c->verb == VERB_NONE)
		return bad(err, n, "unknown verb '%s'; run 'cutover --help'", argv[i]);
	for (i++; i < argc && anywhere_option(argv[i], c); i++)
		;
	/* cutover VERB --help: the verb's help, no APP needed. */
	if (i < argc && is_help(argv[i])) {
		c->help = true;
		c->help_verb = c->verb_name;
		return 0;
	}
	if (i >= argc)
		return bad(err, n, "%s needs an APP name", c->verb_name);
	if (!app_name_valid(argv[i]))
		return bad(err, n, "'%s' is not a valid app name (lowercase letters, digits, '_' and '-', at most 63, starting with a letter or digit)", argv[i]);
	c->app = argv[i];
	*next = i + 1;
	return 0;
}

int cli_pick(int argc, char **argv, struct cli *ret, char *err, size_t errlen)
{
	int next;

	return parse_head(argc, argv, ret, &next, err, errlen);
}

static int take_value(int argc, char **argv, int *i, const char *name,
		      const char **ret, char *err, size_t n)
{
	const char *a = argv[*i];
	size_t len = strlen(name);

	if (strncmp(a, name, len) == 0 && a[len] == '=') {
		*ret = a + len + 1;
		return 1;
	}
	if (strcmp(a, name) != 0)
		return 0;
	if (*i + 1 >= argc)
		return bad(err, n, "option %s needs a value", name);
	*ret = argv[++*i];
	return 1;
}

static int take_number(const char *v, unsigned max, unsigned *ret, const char *name,
		       char *err, size_t n)
{
	unsigned long long x;

	if (parse_uint(v, 0, max, &x) < 0) {
		char shown[40];

		str_escape(shown, sizeof(shown), v, strlen(v));
		snprintf(err, n, "%s must be a number from 0 to %u, not '%s'", name, max, shown);
		return -EINVAL;
	}
	*ret = (unsigned)x;
	return 0;
}

static const char *escaped(const char *a, char *buf, size_t n)
{
	str_escape(buf, n, a, strlen(a));
	return buf;
}

int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t n)
{
	char shown[80];
	bool allows_source, allows_release, allows_keep, allows_wait;
	int i, r;

	r = parse_head(argc, argv, c, &i, err, n);
	if (r < 0 || c->help || c->version)
		return r;
	allows_source = c->verb == VERB_DEPLOY || c->verb == VERB_STAGE;
	allows_release = c->verb == VERB_SWITCH || c->verb == VERB_ROLLBACK || c->verb == VERB_VERIFY ||
			 c->verb == VERB_LOG || c->verb == VERB_MIGRATE;
	allows_keep = c->verb == VERB_PRUNE;
	allows_wait = allows_source || allows_release || allows_keep || c->verb == VERB_MOUNT ||
		      c->verb == VERB_FPM_START;

	for (; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (anywhere_option(a, c))
			continue;
		if (allows_source && (r = take_value(argc, argv, &i, "--from", &c->from, err, n)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (allows_source && (r = take_value(argc, argv, &i, "--label", &c->label, err, n)) != 0) {
			if (r < 0)
				return r;
			/* A branch name (feature/x) becomes feature-x. */
			if (name_map_slashes(c->label, c->label_buf, sizeof(c->label_buf)) < 0 ||
			    !label_valid(c->label_buf))
				return bad(err, n, "--label '%s' may only hold letters, digits, '.', '_' and '-' (at most 40, starting with a letter or digit; '/' becomes '-')", c->label);
			c->label = c->label_buf;
			continue;
		}
		if (allows_source && (r = take_value(argc, argv, &i, "--id", &c->id, err, n)) != 0) {
			if (r < 0)
				return r;
			if (!release_id_given_valid(c->id))
				return bad(err, n, "--id '%s' may only hold letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit), and may not start like a generated id (YYYYMMDDTHHMMSSZ) nor be 'auto'", c->id);
			continue;
		}
		if (c->verb == VERB_MIGRATE && strcmp(a, "--pretend") == 0) {
			c->pretend = true;
			continue;
		}
		if (c->verb == VERB_DEPLOY && strcmp(a, "--dry-run") == 0) {
			c->dry_run = true;
			continue;
		}
		if (allows_source && strcmp(a, "--keep-failed") == 0) {
			c->keep_failed = true;
			continue;
		}
		if ((c->verb == VERB_DEPLOY || c->verb == VERB_MIGRATE) && strcmp(a, "--allow-destructive") == 0) {
			c->allow_destructive = true;
			continue;
		}
		if (allows_wait && (r = take_value(argc, argv, &i, "--wait", &v, err, n)) != 0) {
			if (r < 0 || (r = take_number(v, 86400, &c->wait, "--wait", err, n)) < 0)
				return r;
			continue;
		}
		if (allows_keep && (r = take_value(argc, argv, &i, "--keep", &v, err, n)) != 0) {
			if (r < 0 || (r = take_number(v, 1000, &c->keep, "--keep", err, n)) < 0)
				return r;
			if (c->keep == 0)
				return bad(err, n, "--keep must be at least 1%s", "");
			continue;
		}
		if (c->verb == VERB_HISTORY && (r = take_value(argc, argv, &i, "-n", &v, err, n)) != 0) {
			if (r < 0 || (r = take_number(v, 1000000, &c->limit, "-n", err, n)) < 0)
				return r;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return badf(err, n, "unknown option '%s' for this verb; run 'cutover help %s'",
				    escaped(a, shown, sizeof(shown)), c->verb_name);
		if (allows_release && !c->release) {
			/* switch and rollback also take a unique prefix or
			 * label, which the front end resolves (resolve.c); it
			 * has an id's characters all the same. */
			if (!release_id_valid(a))
				return bad(err, n, "'%s' is not a valid release id; run 'cutover list APP' to see the releases", a);
			c->release = a;
			continue;
		}
		return bad(err, n, "unexpected argument '%s'; run 'cutover --help'", a);
	}
	if (allows_source && !c->from)
		return bad(err, n, "%s needs --from SOURCE", c->verb_name);
	if (allows_source && !*c->from)
		return bad(err, n, "--from needs a non-empty SOURCE%s", "");
	if (c->verb == VERB_LOG && !c->release)
		return bad(err, n, "log needs a RELEASE id; run 'cutover list APP' to see the releases%s", "");
	if (c->id && c->label)
		return bad(err, n, "--id and --label do not go together: --id is the whole release id%s", "");
	if (c->verb == VERB_MIGRATE && !c->release)
		return bad(err, n, "migrate needs a RELEASE id; run 'cutover list APP' to see the releases%s", "");
	if (c->verb == VERB_SWITCH && !c->release)
		return bad(err, n, "switch needs a RELEASE id; run 'cutover list APP' to see the releases%s", "");
	return 0;
}
