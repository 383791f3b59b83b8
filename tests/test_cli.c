/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/cli.c: tables of command lines for cli_parse, valid
 * (checked field by field) and invalid (checked for -EINVAL and a reason),
 * and cli_pick, which must look only at the head of the line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "names.h"
#include "util.h"

#define ID "20261126T041056Z"
#define MAX_ARGS 12

/* argv[0] is "cutover"; the list ends at the first NULL. */
struct line {
	char *argv[MAX_ARGS + 1];
};

static int argc_of(const struct line *l)
{
	int n = 0;

	while (n < MAX_ARGS && l->argv[n])
		n++;
	return n;
}

/* "cutover list shop" for messages. */
static const char *shown(const struct line *l)
{
	static char buf[512];
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < argc_of(l) && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", l->argv[i]);
	return buf;
}

static int parse(const struct line *l, struct cli *c, char *err, size_t n)
{
	struct line copy = *l;    /* cli_parse takes char **, keep the table const */

	memset(c, 0x5a, sizeof(*c));
	err[0] = '\0';
	return cli_parse(argc_of(&copy), copy.argv, c, err, n);
}

static const char *str_or_null(const char *s)
{
	return s ? s : "(null)";
}

/* ---- valid lines ---------------------------------------------------- */

struct good_case {
	struct line l;
	enum verb verb;
	const char *app;
	const char *from, *label, *release, *config;
	bool quiet, json, keep_failed;
	unsigned wait, keep;
};

static void check_string(const struct line *l, const char *field, const char *got,
			 const char *want)
{
	if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
		fail_msg("'%s': %s = '%s', want '%s'", shown(l), field,
			 str_or_null(got), str_or_null(want));
}

static void test_parse_valid(void **state)
{
	static const struct good_case cases[] = {
		{ { { "cutover", "deploy", "shop", "--from", "/srv/src" } },
		  VERB_DEPLOY, "shop", .from = "/srv/src" },
		{ { { "cutover", "deploy", "shop", "--from=/srv/a.tar.gz" } },
		  VERB_DEPLOY, "shop", .from = "/srv/a.tar.gz" },
		{ { { "cutover", "deploy", "shop", "--label", "v1.4.2", "--from", "git+https://x/y#main",
		      "--keep-failed", "--wait", "30" } },
		  VERB_DEPLOY, "shop", .from = "git+https://x/y#main", .label = "v1.4.2",
		  .keep_failed = true, .wait = 30 },
		{ { { "cutover", "stage", "my-app_2", "--from", "x", "--label=rc1", "--wait=0" } },
		  VERB_STAGE, "my-app_2", .from = "x", .label = "rc1" },
		{ { { "cutover", "switch", "shop", ID } },
		  VERB_SWITCH, "shop", .release = ID },
		{ { { "cutover", "switch", "shop", "--wait", "86400", ID "-v1.4.2" } },
		  VERB_SWITCH, "shop", .release = ID "-v1.4.2", .wait = 86400 },
		{ { { "cutover", "rollback", "shop" } }, VERB_ROLLBACK, "shop", .from = NULL },
		{ { { "cutover", "rollback", "shop", ID "-2" } },
		  VERB_ROLLBACK, "shop", .release = ID "-2" },
		{ { { "cutover", "list", "shop" } }, VERB_LIST, "shop", .from = NULL },
		{ { { "cutover", "status", "shop" } }, VERB_STATUS, "shop", .from = NULL },
		{ { { "cutover", "check", "shop" } }, VERB_CHECK, "shop", .from = NULL },
		{ { { "cutover", "mount", "shop" } }, VERB_MOUNT, "shop", .from = NULL },
		{ { { "cutover", "mount", "shop", "--wait", "60" } }, VERB_MOUNT, "shop", .wait = 60 },
		{ { { "cutover", "prune", "shop" } }, VERB_PRUNE, "shop", .from = NULL },
		{ { { "cutover", "prune", "shop", "--keep", "3" } }, VERB_PRUNE, "shop", .keep = 3 },
		{ { { "cutover", "prune", "shop", "--keep=1000", "--wait", "5" } },
		  VERB_PRUNE, "shop", .keep = 1000, .wait = 5 },
		/* -q and --json before the verb, between verb and app, at the end. */
		{ { { "cutover", "-q", "list", "shop" } }, VERB_LIST, "shop", .quiet = true },
		{ { { "cutover", "--quiet", "--json", "status", "shop" } },
		  VERB_STATUS, "shop", .quiet = true, .json = true },
		{ { { "cutover", "list", "--json", "shop" } }, VERB_LIST, "shop", .json = true },
		{ { { "cutover", "list", "shop", "-q", "--json" } },
		  VERB_LIST, "shop", .quiet = true, .json = true },
		{ { { "cutover", "switch", "shop", "-q", ID, "--json" } },
		  VERB_SWITCH, "shop", .release = ID, .quiet = true, .json = true },
		{ { { "cutover", "-c", "/etc/cutover/other.conf", "check", "shop" } },
		  VERB_CHECK, "shop", .config = "/etc/cutover/other.conf" },
		{ { { "cutover", "-q", "-c", "/tmp/x.conf", "--json", "deploy", "shop", "--from", "." } },
		  VERB_DEPLOY, "shop", .from = ".", .config = "/tmp/x.conf", .quiet = true, .json = true },
	};
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct good_case *g = &cases[i];
		int r = parse(&g->l, &c, err, sizeof(err));

		if (r != 0)
			fail_msg("'%s': %d (%s)", shown(&g->l), r, err);
		if (c.verb != g->verb || c.quiet != g->quiet || c.json != g->json ||
		    c.keep_failed != g->keep_failed || c.wait != g->wait || c.keep != g->keep ||
		    c.help || c.version)
			fail_msg("'%s': verb %d quiet %d json %d keep_failed %d wait %u keep %u help %d version %d",
				 shown(&g->l), c.verb, c.quiet, c.json, c.keep_failed, c.wait,
				 c.keep, c.help, c.version);
		if (!c.verb_name || verb_from_name(c.verb_name) != g->verb)
			fail_msg("'%s': verb_name '%s'", shown(&g->l), str_or_null(c.verb_name));
		check_string(&g->l, "app", c.app, g->app);
		check_string(&g->l, "from", c.from, g->from);
		check_string(&g->l, "label", c.label, g->label);
		check_string(&g->l, "release", c.release, g->release);
		check_string(&g->l, "config", c.config, g->config);
	}
}

static void test_parse_help_version(void **state)
{
	static const struct line help[] = {
		{ { "cutover", "--help" } }, { { "cutover", "-h" } },
		{ { "cutover", "-q", "--help", "bogus" } },
	};
	static const struct line version = { { "cutover", "--version" } };
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(help); i++) {
		assert_int_equal(parse(&help[i], &c, err, sizeof(err)), 0);
		assert_true(c.help);
		assert_int_equal(c.verb, VERB_NONE);
	}
	assert_int_equal(parse(&version, &c, err, sizeof(err)), 0);
	assert_true(c.version);
	assert_false(c.help);
}

/* ---- invalid lines -------------------------------------------------- */

struct bad_case {
	struct line l;
	const char *reason;
};

static void test_parse_invalid(void **state)
{
	static const struct bad_case cases[] = {
		{ { { "cutover" } }, "no verb given" },
		{ { { "cutover", "-q", "--json" } }, "no verb given" },
		{ { { "cutover", "list" } }, "list needs an APP name" },
		{ { { "cutover", "list", "-q" } }, "list needs an APP name" },
		{ { { "cutover", "list", "Shop" } }, "'Shop' is not a valid app name" },
		{ { { "cutover", "list", "../x" } }, "'../x' is not a valid app name" },
		{ { { "cutover", "frobnicate", "shop" } }, "unknown verb 'frobnicate'" },
		{ { { "cutover", "shop", "list" } }, "unknown verb 'shop'" },
		{ { { "cutover", "--bogus", "list", "shop" } }, "unknown option '--bogus'" },
		{ { { "cutover", "-c" } }, "option -c needs a FILE" },
		{ { { "cutover", "list", "shop", "--bogus" } }, "unknown option '--bogus' for this verb" },
		{ { { "cutover", "list", "shop", "--from", "x" } }, "unknown option '--from'" },
		{ { { "cutover", "status", "shop", "--wait", "3" } }, "unknown option '--wait'" },
		{ { { "cutover", "mount", "shop", ID } }, "unexpected argument" },
		{ { { "cutover", "mount", "shop", "--keep", "3" } }, "unknown option '--keep'" },
		{ { { "cutover", "prune", "shop", "--label", "x" } }, "unknown option '--label'" },
		{ { { "cutover", "stage", "shop", "--from", "x", "--keep", "3" } }, "unknown option '--keep'" },
		{ { { "cutover", "list", "shop", "-c", "/etc/x.conf" } }, "unknown option '-c'" },
		{ { { "cutover", "switch", "shop" } }, "switch needs a RELEASE id" },
		{ { { "cutover", "switch", "shop", "../../etc" } }, "'../../etc' is not a valid release id" },
		{ { { "cutover", "switch", "shop", "/etc" } }, "'/etc' is not a valid release id" },
		{ { { "cutover", "switch", "shop", "-" } }, "'-' is not a valid release id" },
		{ { { "cutover", "switch", "shop", "--help" } }, "--help" },
		{ { { "cutover", "switch", "shop", "-rf" } }, "-rf" },
		{ { { "cutover", "rollback", "shop", "-rf" } }, "-rf" },
		{ { { "cutover", "rollback", "shop", ".." } }, "'..' is not a valid release id" },
		{ { { "cutover", "prune", "shop", "--keep", "0" } }, "--keep must be at least 1" },
		{ { { "cutover", "prune", "shop", "--keep=0" } }, "--keep must be at least 1" },
		{ { { "cutover", "prune", "shop", "--keep", "1001" } }, "--keep must be a number from 0 to 1000, not '1001'" },
		{ { { "cutover", "prune", "shop", "--keep", "-1" } }, "--keep must be a number" },
		{ { { "cutover", "prune", "shop", "--keep" } }, "option --keep needs a value" },
		{ { { "cutover", "deploy", "shop", "--from", "x", "--wait", "abc" } }, "--wait must be a number from 0 to 86400, not 'abc'" },
		{ { { "cutover", "switch", "shop", ID, "--wait", "86401" } }, "--wait must be a number" },
		{ { { "cutover", "switch", "shop", ID, "--wait=" } }, "--wait must be a number" },
		{ { { "cutover", "deploy", "shop" } }, "deploy needs --from SOURCE" },
		{ { { "cutover", "stage", "shop", "--label", "v1" } }, "stage needs --from SOURCE" },
		{ { { "cutover", "deploy", "shop", "--from=" } }, "--from needs a non-empty SOURCE" },
		{ { { "cutover", "deploy", "shop", "--from" } }, "option --from needs a value" },
		{ { { "cutover", "deploy", "shop", "--from", "x", "--label", "bad label" } }, "--label 'bad label' may only hold" },
		{ { { "cutover", "deploy", "shop", "--from", "x", "--label", "../x" } }, "--label '../x'" },
		{ { { "cutover", "deploy", "shop", "--from", "x", "--label=" } }, "--label ''" },
		{ { { "cutover", "list", "shop", "extra" } }, "unexpected argument 'extra'" },
		{ { { "cutover", "check", "shop", "shop" } }, "unexpected argument 'shop'" },
		{ { { "cutover", "switch", "shop", ID, ID "-2" } }, "unexpected argument '" ID "-2'" },
		{ { { "cutover", "deploy", "shop", "--from", "x", "y" } }, "unexpected argument 'y'" },
	};
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct bad_case *b = &cases[i];
		int r = parse(&b->l, &c, err, sizeof(err));

		if (r != -EINVAL)
			fail_msg("'%s': %d, want -EINVAL", shown(&b->l), r);
		if (!strstr(err, b->reason))
			fail_msg("'%s': error '%s' does not say '%s'", shown(&b->l), err, b->reason);
		if (strchr(err, '\n'))
			fail_msg("'%s': error '%s' is more than one line", shown(&b->l), err);
	}
}

/* What the user typed is escaped in the error: no control bytes through. */
static void test_parse_error_escapes_argument(void **state)
{
	static const struct line l1 = { { "cutover", "list", "sh\nop\x1b[2J" } };
	static const struct line l2 = { { "cutover", "switch", "shop", "x\ry" } };
	char err[256];
	struct cli c;

	assert_int_equal(parse(&l1, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'sh\\nop\\x1b[2J' is not a valid app name"));
	assert_int_equal(parse(&l2, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'x\\x0dy'"));
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}


/* ---- help, --dry-run, labels from branch names (issue 13) ------------ */

static void test_parse_help_verbs(void **state)
{
	static const struct {
		struct line l;
		const char *help_verb;   /* NULL: the usage of every verb */
	} cases[] = {
		{ { { "cutover", "help" } }, NULL },
		{ { { "cutover", "-q", "help", "--json" } }, NULL },
		{ { { "cutover", "help", "deploy" } }, "deploy" },
		{ { { "cutover", "-q", "help", "rollback", "--json" } }, "rollback" },
		{ { { "cutover", "deploy", "--help" } }, "deploy" },
		{ { { "cutover", "switch", "-h" } }, "switch" },
		{ { { "cutover", "-c", "/nonexistent.conf", "list", "--json", "--help" } }, "list" },
		{ { { "cutover", "verify", "--help", "shop", "--bogus" } }, "verify" },
	};
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = parse(&cases[i].l, &c, err, sizeof(err));

		if (r != 0 || !c.help)
			fail_msg("'%s': %d help %d (%s)", shown(&cases[i].l), r, c.help, err);
		check_string(&cases[i].l, "help_verb", c.help_verb, cases[i].help_verb);
		/* help is printed before anything else: no APP needed */
		assert_null(c.app);
	}
}

static void test_verb_help_texts(void **state)
{
	static const char *const verbs[] = {
		"deploy", "stage", "switch", "rollback", "list", "status", "prune", "check", "mount", "verify",
	};
	char want[64];

	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		const char *t = cli_verb_help(verbs[i]);

		if (!t)
			fail_msg("no help for %s", verbs[i]);
		snprintf(want, sizeof(want), "usage: cutover %s ", verbs[i]);
		if (strncmp(t, want, strlen(want)) != 0)
			fail_msg("help of %s does not start with '%s'", verbs[i], want);
		if (t[strlen(t) - 1] != '\n')
			fail_msg("help of %s does not end with a newline", verbs[i]);
	}
	assert_null(cli_verb_help("frobnicate"));
	assert_null(cli_verb_help("help"));
	assert_null(cli_verb_help(NULL));
	assert_non_null(strstr(cli_verb_help("deploy"), "--dry-run"));
	assert_non_null(strstr(cli_verb_help("deploy"), "'/' becomes '-'"));
	assert_non_null(strstr(cli_verb_help("switch"), "unique prefix"));
	assert_non_null(strstr(cli_usage, "cutover help VERB"));
}

/* reload = swap: fpm-start APP, with the boot unit's --wait and the
 * anywhere options; nothing else. */
static void test_parse_fpm_start(void **state)
{
	static const struct line boot = { { "cutover", "fpm-start", "shop", "--wait", "60" } };
	static const struct line quiet = { { "cutover", "--json", "fpm-start", "shop", "-q" } };
	static const struct line release = { { "cutover", "fpm-start", "shop", ID } };
	static const struct line dry = { { "cutover", "fpm-start", "shop", "--dry-run" } };
	static const struct line none = { { "cutover", "fpm-start" } };
	char err[256];
	struct cli c;

	assert_int_equal(parse(&boot, &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, VERB_FPM_START);
	assert_string_equal(c.app, "shop");
	assert_int_equal(c.wait, 60);
	assert_int_equal(parse(&quiet, &c, err, sizeof(err)), 0);
	assert_true(c.json);
	assert_true(c.quiet);
	assert_int_equal(parse(&release, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument"));
	assert_int_equal(parse(&dry, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown option '--dry-run' for this verb"));
	assert_int_equal(parse(&none, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "fpm-start needs an APP name");
	assert_non_null(strstr(cli_verb_help("fpm-start"), "usage: cutover fpm-start APP"));
	assert_non_null(strstr(cli_usage, "  fpm-start APP "));
}

static void test_parse_new_options(void **state)
{
	static const struct line dry = { { "cutover", "deploy", "shop", "--dry-run", "--from", "." } };
	static const struct line branch = { { "cutover", "deploy", "shop", "--from", ".", "--label", "feature/x" } };
	static const struct line branch2 = { { "cutover", "stage", "shop", "--from", ".", "--label=team/a/b.c" } };
	static const struct line prefix = { { "cutover", "switch", "shop", "2026" } };
	static const struct line label = { { "cutover", "rollback", "shop", "feature-x" } };
	char err[256];
	struct cli c;

	assert_int_equal(parse(&dry, &c, err, sizeof(err)), 0);
	assert_true(c.dry_run);
	assert_int_equal(parse(&branch, &c, err, sizeof(err)), 0);
	assert_false(c.dry_run);
	assert_string_equal(c.label, "feature-x");
	assert_int_equal(parse(&branch2, &c, err, sizeof(err)), 0);
	assert_string_equal(c.label, "team-a-b.c");
	assert_int_equal(parse(&prefix, &c, err, sizeof(err)), 0);
	assert_string_equal(c.release, "2026");
	assert_int_equal(parse(&label, &c, err, sizeof(err)), 0);
	assert_string_equal(c.release, "feature-x");
}

static void test_parse_new_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ { { "cutover", "help", "frobnicate" } }, "unknown verb 'frobnicate'; run 'cutover help'" },
		{ { { "cutover", "help", "list", "extra" } }, "unexpected argument 'extra'" },
		{ { { "cutover", "help", "help" } }, "unknown verb 'help'" },
		{ { { "cutover", "help", "sh\x1b[2J" } }, "unknown verb 'sh\\x1b[2J'" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--dry-run" } }, "unknown option '--dry-run' for this verb; run 'cutover help stage'" },
		{ { { "cutover", "switch", "shop", "x", "--dry-run" } }, "unknown option '--dry-run'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--dry-run-typo" } }, "unknown option '--dry-run-typo' for this verb; run 'cutover help deploy'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--help" } }, "unknown option '--help'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--label", "/x" } }, "--label '/x'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--label", "x//y z" } }, "'/' becomes '-'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--label", "feature/x~1" } }, "--label 'feature/x~1'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--label", "./x" } }, "--label './x'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--label",
		      "aaaaaaaaaa/aaaaaaaaaa/aaaaaaaaaa/aaaaaaaa" } }, "at most 40" },
		{ { { "cutover", "switch", "shop", "feature/x" } }, "'feature/x' is not a valid release id" },
		{ { { "cutover", "rollback", "shop", "a/b" } }, "'a/b' is not a valid release id" },
	};
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct bad_case *b = &cases[i];
		int r = parse(&b->l, &c, err, sizeof(err));

		if (r != -EINVAL)
			fail_msg("'%s': %d, want -EINVAL", shown(&b->l), r);
		if (!strstr(err, b->reason))
			fail_msg("'%s': error '%s' does not say '%s'", shown(&b->l), err, b->reason);
		if (strchr(err, '\n') || strchr(err, '\x1b'))
			fail_msg("'%s': error '%s' is more than one plain line", shown(&b->l), err);
	}
}

/* ---- stage --id, migrate (issue 12) ------------------------------- */

static void test_parse_id_and_migrate(void **state)
{
	static const struct line stage_id = { { "cutover", "stage", "shop", "--from", ".", "--id", "b42" } };
	static const struct line deploy_id = { { "cutover", "deploy", "shop", "--id=3f9a1c2d4e5b", "--from", "." } };
	static const struct line migrate = { { "cutover", "migrate", "shop", "b42" } };
	static const struct line migrate_all = { { "cutover", "--json", "migrate", "shop", "--pretend", "b4",
						   "--allow-destructive", "--wait", "5" } };
	static const struct bad_case bad[] = {
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", "../x" } }, "--id '../x' may only hold" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", ".." } }, "--id '..'" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", "a/b" } }, "--id 'a/b'" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", "auto" } }, "nor be 'auto'" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", "20261207T001500Z" } },
		  "may not start like a generated id" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id=" } }, "--id ''" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id" } }, "option --id needs a value" },
		{ { { "cutover", "stage", "shop", "--from", ".", "--id", "b1", "--label", "x" } },
		  "--id and --label do not go together" },
		{ { { "cutover", "switch", "shop", "b1", "--id", "b2" } }, "unknown option '--id'" },
		{ { { "cutover", "migrate", "shop" } }, "migrate needs a RELEASE id" },
		{ { { "cutover", "migrate", "shop", "../x" } }, "'../x' is not a valid release id" },
		{ { { "cutover", "migrate", "shop", "b1", "b2" } }, "unexpected argument 'b2'" },
		{ { { "cutover", "migrate", "shop", "b1", "--dry-run" } }, "unknown option '--dry-run'" },
		{ { { "cutover", "migrate", "shop", "b1", "--from", "." } }, "unknown option '--from'" },
		{ { { "cutover", "deploy", "shop", "--from", ".", "--pretend" } }, "unknown option '--pretend'" },
	};
	char err[256];
	struct cli c;

	assert_int_equal(parse(&stage_id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, VERB_STAGE);
	assert_string_equal(c.id, "b42");
	assert_null(c.label);
	assert_int_equal(parse(&deploy_id, &c, err, sizeof(err)), 0);
	assert_string_equal(c.id, "3f9a1c2d4e5b");
	assert_int_equal(parse(&migrate, &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, VERB_MIGRATE);
	assert_string_equal(c.release, "b42");
	assert_false(c.pretend);
	assert_false(c.allow_destructive);
	assert_null(c.id);
	assert_int_equal(parse(&migrate_all, &c, err, sizeof(err)), 0);
	assert_true(c.pretend && c.allow_destructive && c.json);
	assert_int_equal(c.wait, 5);
	assert_string_equal(c.release, "b4");
	assert_non_null(cli_verb_help("migrate"));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = parse(&bad[i].l, &c, err, sizeof(err));

		if (r != -EINVAL)
			fail_msg("'%s': %d, want -EINVAL", shown(&bad[i].l), r);
		if (!strstr(err, bad[i].reason))
			fail_msg("'%s': error '%s' does not say '%s'", shown(&bad[i].l), err, bad[i].reason);
	}
}

static void test_name_map_slashes(void **state)
{
	char buf[LABEL_MAX + 1];

	assert_int_equal(name_map_slashes("feature/x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "feature-x");
	assert_int_equal(name_map_slashes("a//b/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a--b-");
	assert_int_equal(name_map_slashes("x y", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x y");   /* not mapped: label_valid refuses it */
	assert_false(label_valid(buf));
	assert_int_equal(name_map_slashes("", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(name_map_slashes("0123456789012345678901234567890123456789", buf, sizeof(buf)), 0);
	assert_int_equal(name_map_slashes("01234567890123456789012345678901234567890", buf, sizeof(buf)),
			 -ENAMETOOLONG);
	assert_int_equal(name_map_slashes("ab", buf, 2), -ENAMETOOLONG);
}

/* ---- cli_pick ------------------------------------------------------- */

static int pick(const struct line *l, struct cli *c, char *err, size_t n)
{
	struct line copy = *l;

	memset(c, 0x5a, sizeof(*c));
	err[0] = '\0';
	return cli_pick(argc_of(&copy), copy.argv, c, err, n);
}

static void test_pick_ignores_tail(void **state)
{
	static const struct line lines[] = {
		{ { "cutover", "switch", "shop", "../../etc", "--bogus", "extra" } },
		{ { "cutover", "switch", "shop" } },
		{ { "cutover", "deploy", "shop" } },
		{ { "cutover", "prune", "shop", "--keep", "0" } },
		{ { "cutover", "list", "shop", "-c", "/etc/shadow" } },
	};
	char err[256];
	struct cli c;

	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		int r = pick(&lines[i], &c, err, sizeof(err));

		if (r != 0)
			fail_msg("cli_pick('%s') = %d (%s)", shown(&lines[i]), r, err);
		assert_int_equal(c.verb, verb_from_name(lines[i].argv[1]));
		assert_string_equal(c.app, "shop");
		/* Nothing after APP was looked at. */
		assert_null(c.release);
		assert_null(c.from);
		assert_null(c.config);
		assert_int_equal(c.keep, 0);
		assert_false(c.quiet);
		/* cli_parse refuses the same lines, except where they are fine. */
	}
	assert_int_equal(parse(&lines[0], &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(&lines[1], &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(&lines[2], &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(&lines[3], &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(&lines[4], &c, err, sizeof(err)), -EINVAL);
}

static void test_pick_head(void **state)
{
	static const struct line full = {
		{ "cutover", "-q", "-c", "/etc/cutover/x.conf", "status", "--json", "shop", "--wait" }
	};
	static const struct bad_case bad[] = {
		{ { { "cutover" } }, "no verb given" },
		{ { { "cutover", "list" } }, "list needs an APP name" },
		{ { { "cutover", "list", "Shop", "ok" } }, "not a valid app name" },
		{ { { "cutover", "lsit", "shop" } }, "unknown verb 'lsit'" },
		{ { { "cutover", "--from", "x", "deploy", "shop" } }, "unknown option '--from'" },
		{ { { "cutover", "-c" } }, "option -c needs a FILE" },
	};
	static const struct line help = { { "cutover", "--help" } };
	char err[256];
	struct cli c;

	assert_int_equal(pick(&full, &c, err, sizeof(err)), 0);
	assert_int_equal(c.verb, VERB_STATUS);
	assert_string_equal(c.verb_name, "status");
	assert_string_equal(c.app, "shop");
	assert_string_equal(c.config, "/etc/cutover/x.conf");
	assert_true(c.quiet);
	assert_true(c.json);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = pick(&bad[i].l, &c, err, sizeof(err));

		if (r != -EINVAL || !strstr(err, bad[i].reason))
			fail_msg("cli_pick('%s') = %d '%s', want -EINVAL '%s'",
				 shown(&bad[i].l), r, err, bad[i].reason);
	}
	assert_int_equal(pick(&help, &c, err, sizeof(err)), 0);
	assert_true(c.help);
}

static void test_verb_from_name(void **state)
{
	static const struct {
		const char *name;
		enum verb verb;
	} cases[] = {
		{ "deploy", VERB_DEPLOY }, { "stage", VERB_STAGE },
		{ "switch", VERB_SWITCH }, { "rollback", VERB_ROLLBACK },
		{ "list", VERB_LIST }, { "status", VERB_STATUS },
		{ "prune", VERB_PRUNE }, { "check", VERB_CHECK },
		{ "mount", VERB_MOUNT },
		{ "", VERB_NONE }, { "Deploy", VERB_NONE }, { "deploy ", VERB_NONE },
		{ "dep", VERB_NONE },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		if (verb_from_name(cases[i].name) != cases[i].verb)
			fail_msg("verb_from_name(\"%s\") = %d, want %d", cases[i].name,
				 verb_from_name(cases[i].name), cases[i].verb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_help_version),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_error_escapes_argument),
		cmocka_unit_test(test_pick_ignores_tail),
		cmocka_unit_test(test_pick_head),
		cmocka_unit_test(test_verb_from_name),
		cmocka_unit_test(test_parse_help_verbs),
		cmocka_unit_test(test_verb_help_texts),
		cmocka_unit_test(test_parse_fpm_start),
		cmocka_unit_test(test_parse_new_options),
		cmocka_unit_test(test_parse_new_errors),
		cmocka_unit_test(test_parse_id_and_migrate),
		cmocka_unit_test(test_name_map_slashes),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
