/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/result.c: the --json document of every
 * outcome (docs/cutover.8, JSON OUTPUT). Each exit path of each verb is a
 * state the run collects (verb, app, exit code, error code and message,
 * the live release before and after, changed, the verb's keys); every one
 * must give exactly one valid JSON object with the envelope keys in order.
 * A small strict JSON parser below checks the documents.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "messages.h"
#include "output.h"
#include "result.h"
#include "util.h"

/* ---- a strict JSON parser: validates and records top-level keys ----- */

struct top {
	char keys[64][64];
	char raw[64][2048];        /* each top-level value's text */
	int n;
};

struct jp {
	const char *p;
	int depth;
	struct top *top;
};

static bool jp_value(struct jp *j);

static void jp_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jp_string(struct jp *j, char *out, size_t n)
{
	size_t len = 0;

	if (*j->p != '"')
		return false;
	for (j->p++; *j->p != '"'; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
						return false;
				j->p += 4;
				c = '?';
			} else if (*j->p && strchr("\"\\/bfnrt", *j->p))
				c = (unsigned char)*j->p;
			else
				return false;
		}
		if (out && len + 1 < n)
			out[len++] = (char)c;
	}
	if (out)
		out[len] = '\0';
	j->p++;
	return true;
}

static bool jp_number(struct jp *j)
{
	const char *s = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!(*j->p >= '0' && *j->p <= '9'))
			return false;
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s;
}

static bool jp_container(struct jp *j, char open, char close)
{
	bool top = j->depth == 0 && open == '{' && j->top;

	j->depth++;
	j->p++;
	jp_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		char key[64];
		const char *v;

		jp_ws(j);
		if (open == '{') {
			if (!jp_string(j, key, sizeof(key)))
				return false;
			jp_ws(j);
			if (*j->p++ != ':')
				return false;
			jp_ws(j);
		}
		v = j->p;
		if (!jp_value(j))
			return false;
		if (top && j->top->n < 64) {
			size_t len = (size_t)(j->p - v);

			strcpy(j->top->keys[j->top->n], key);
			if (len >= sizeof(j->top->raw[0]))
				len = sizeof(j->top->raw[0]) - 1;
			memcpy(j->top->raw[j->top->n], v, len);
			j->top->raw[j->top->n][len] = '\0';
			j->top->n++;
		}
		jp_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return false;
		j->depth--;
		return true;
	}
}

static bool jp_value(struct jp *j)
{
	jp_ws(j);
	switch (*j->p) {
	case '{': return jp_container(j, '{', '}');
	case '[': return jp_container(j, '[', ']');
	case '"': return jp_string(j, NULL, 0);
	case 't': return strncmp(j->p, "true", 4) == 0 && (j->p += 4);
	case 'f': return strncmp(j->p, "false", 5) == 0 && (j->p += 5);
	case 'n': return strncmp(j->p, "null", 4) == 0 && (j->p += 4);
	default: return jp_number(j);
	}
}

/* Exactly one JSON object and one newline, nothing else; its top keys. */
static void parse_one_document(const char *text, struct top *top)
{
	struct jp j = { .p = text, .top = top };

	memset(top, 0, sizeof(*top));
	assert_int_equal(text[0], '{');
	assert_true(jp_value(&j));
	assert_string_equal(j.p, "\n");
}

static const char *top_get(const struct top *t, const char *key)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->keys[i], key) == 0)
			return t->raw[i];
	return NULL;
}

static void test_parser_rejects(void **state)
{
	static const char *const bad[] = {
		"{}{}\n", "{\"a\":1}", "{\"a\":1}\nx", "{\"a\":[1,]}\n", "{\"a\":tru}\n", "{\"a\":\"\x01\"}\n",
		"{\"a\":1,}\n", "{\"a\"1}\n", "{\"a\":01}\n", "{\"a\":\"\\x\"}\n",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct jp j = { .p = bad[i] };
		bool ok = jp_value(&j) && strcmp(j.p, "\n") == 0;

		if (ok)
			fail_msg("accepted %s", bad[i]);
	}
}

/* ---- the envelope --------------------------------------------------- */

static const char *const envelope[] = {
	"cutover", "verb", "app", "ok", "exit", "changed", "error", "current_before", "current_after",
};

/* One exit path: the state a run collects, and what the document must say. */
struct path {
	const char *verb, *app;
	int exit;
	const char *code;          /* set by the run (NULL: none) */
	const char *message;       /* the last out_error line */
	const char *before, *after; /* NULL: unknown */
	bool flagged;              /* result.changed set by the run */
	const char *body;          /* the verb's keys, or NULL */
	/* expected */
	const char *want_code;     /* NULL: error null */
	bool want_changed;
};

static void check_path(const struct path *p)
{
	struct result r = { 0 };
	struct top t;
	char buf[8192], want[256];
	long len;

	result_set_verb(&r, p->verb);
	result_set_app(&r, p->app);
	if (p->code)
		result_set_code(&r, p->code);
	r.before_known = p->before != NULL;
	str_copy(r.before, sizeof(r.before), p->before ? p->before : "");
	r.after_known = p->after != NULL;
	str_copy(r.after, sizeof(r.after), p->after ? p->after : "");
	r.changed = p->flagged;
	if (p->body) {
		struct json j;

		json_init(&j);
		json_begin(&j, '{');
		json_raw(&j, p->body);
		json_end(&j, '}');
		result_take_body(&r, &j);
		json_free(&j);
	}
	len = result_format(&r, p->exit, true, p->message, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	parse_one_document(buf, &t);

	/* the envelope, in this order, first */
	assert_true(t.n >= (int)ELEMENTSOF(envelope));
	for (size_t i = 0; i < ELEMENTSOF(envelope); i++)
		assert_string_equal(t.keys[i], envelope[i]);
	/* no key twice */
	for (int i = 0; i < t.n; i++)
		for (int k = i + 1; k < t.n; k++)
			assert_string_not_equal(t.keys[i], t.keys[k]);
	assert_string_equal(top_get(&t, "cutover"), "1");
	if (p->verb && *p->verb) {
		snprintf(want, sizeof(want), "\"%s\"", p->verb);
		assert_string_equal(top_get(&t, "verb"), want);
	} else
		assert_string_equal(top_get(&t, "verb"), "null");
	if (p->app) {
		snprintf(want, sizeof(want), "\"%s\"", p->app);
		assert_string_equal(top_get(&t, "app"), want);
	} else
		assert_string_equal(top_get(&t, "app"), "null");
	assert_string_equal(top_get(&t, "ok"), p->exit == 0 ? "true" : "false");
	snprintf(want, sizeof(want), "%d", p->exit);
	assert_string_equal(top_get(&t, "exit"), want);
	assert_string_equal(top_get(&t, "changed"), p->want_changed ? "true" : "false");
	if (!p->want_code)
		assert_string_equal(top_get(&t, "error"), "null");
	else {
		snprintf(want, sizeof(want), "{\"code\":\"%s\",\"message\":", p->want_code);
		assert_true(strncmp(top_get(&t, "error"), want, strlen(want)) == 0);
		/* a message is always there, one line */
		assert_true(strlen(top_get(&t, "error")) > strlen(want) + 3);
		assert_null(strchr(top_get(&t, "error"), '\n'));
	}
	if (p->before && *p->before) {
		snprintf(want, sizeof(want), "\"%s\"", p->before);
		assert_string_equal(top_get(&t, "current_before"), want);
	} else
		assert_string_equal(top_get(&t, "current_before"), "null");
	if (p->after && *p->after) {
		snprintf(want, sizeof(want), "\"%s\"", p->after);
		assert_string_equal(top_get(&t, "current_after"), want);
	} else
		assert_string_equal(top_get(&t, "current_after"), "null");
	result_reset(&r);
}

#define A "20261207T001500Z-b41"
#define B "20261207T002000Z-b42"

/* Every exit path of every verb (src/frontend/frontend.c, the launcher). */
static const struct path paths[] = {
	/* the launcher, before the front end exists */
	{ NULL, NULL, 2, "usage", "no verb given; run 'cutover --help'", NULL, NULL, false, NULL, "usage", false },
	{ "deploy", NULL, 2, "usage", "deploy needs an APP name", NULL, NULL, false, NULL, "usage", false },
	{ "deploy", "shop", 2, "usage", "deploy needs --from SOURCE", NULL, NULL, false, NULL, "usage", false },
	{ "status", "shop", 2, "config", "/etc/cutover/shop.conf does not exist", NULL, NULL, false, NULL, "config", false },
	{ "status", "shop", 2, "not_permitted", "user ci may not run cutover for shop", NULL, NULL, false, NULL, "not_permitted", false },
	{ "status", "shop", 2, "not_permitted", "must be run as root", NULL, NULL, false, NULL, "not_permitted", false },
	{ "deploy", "shop", 1, "internal", "cannot start the privileged helper: x", A, A, false, NULL, "internal", false },
	{ "help", NULL, 0, NULL, NULL, NULL, NULL, false, "\"text\":\"usage: cutover ...\\n\"", NULL, false },
	{ "version", NULL, 0, NULL, NULL, NULL, NULL, false, "\"version\":\"0.1.0\"", NULL, false },
	/* the front end's first reply: the helper cannot set up the app */
	{ "list", "shop", 2, "config", "cannot set up /srv/shop: x", NULL, NULL, false, NULL, "config", false },
	{ "list", "shop", 2, NULL, "cannot set up /srv/shop: x", NULL, NULL, false, NULL, "config", false },
	/* deploy */
	{ "deploy", "shop", 0, NULL, NULL, A, B, true,
	  "\"release\":\"" B "\",\"previous\":\"" A "\",\"dry_run\":false,\"bytes\":10,\"files\":2,\"pruned\":[],\"freed\":0,\"seconds\":1.5",
	  NULL, true },
	{ "deploy", "shop", 0, NULL, NULL, "", B, false, "\"release\":\"" B "\",\"previous\":null", NULL, true },
	{ "deploy", "shop", 0, NULL, NULL, A, A, false, "\"release\":\"" B "\",\"dry_run\":true,\"removed\":true", NULL, false },
	{ "deploy", "shop", 1, "locked", "the app is locked by pid 1; try again later", A, A, false, NULL, "locked", false },
	{ "deploy", "shop", 1, "source", "importing /x failed: not found", A, A, false, "\"release\":\"" B "\"", "source", false },
	{ "deploy", "shop", 1, "too_big", "the release is over max_size", A, A, false, NULL, "too_big", false },
	{ "deploy", "shop", 1, "build_failed", "build step 1 'make' failed with exit code 2", A, A, false, "\"release\":\"" B "\"", "build_failed", false },
	{ "deploy", "shop", 1, "build_failed", "build step 1 kept as failed", A, A, true, NULL, "build_failed", true },
	{ "deploy", "shop", 1, "freeze_failed", "freeze failed", A, A, false, NULL, "freeze_failed", false },
	{ "deploy", "shop", 1, "migration_refused", "migration x would run DROP TABLE", A, A, false, NULL, "migration_refused", false },
	{ "deploy", "shop", 1, "migration_failed", "migrations failed with exit code 1", A, A, true, NULL, "migration_failed", true },
	{ "deploy", "shop", 1, "precheck_failed", "pre-switch check failed", A, A, false, NULL, "precheck_failed", false },
	{ "deploy", "shop", 1, "switch_failed", "cannot switch", A, A, false, NULL, "switch_failed", false },
	{ "deploy", "shop", 1, "partly_live", "recorded, not in php-fpm's namespace", A, B, true, NULL, "partly_live", true },
	{ "deploy", "shop", 1, "reload_failed", "php-fpm was not reloaded", A, B, true, NULL, "reload_failed", true },
	{ "deploy", "shop", 3, NULL, "health check failed: 500; rolled back to " A, A, A, true, NULL, "unhealthy_rolled_back", true },
	/* a code set on the way does not hide exit 3 */
	{ "deploy", "shop", 3, "reload_failed", "health check failed", A, A, true, NULL, "unhealthy_rolled_back", true },
	{ "deploy", "shop", 1, "unhealthy", "health check failed: 500; release stays live", A, B, true, NULL, "unhealthy", true },
	{ "deploy", "shop", 1, "hook_failed", "after_switch hook 1 failed", A, B, true, NULL, "hook_failed", true },
	{ "deploy", "shop", 1, "helper_lost", "the privileged helper stopped unexpectedly", A, A, false, NULL, "helper_lost", false },
	{ "deploy", "shop", 1, "interrupted", "interrupted; the release being built was removed", A, A, false, NULL, "interrupted", false },
	{ "deploy", "shop", 1, NULL, "something", A, A, false, NULL, "internal", false },
	{ "deploy", "shop", 1, NULL, "", A, NULL, false, NULL, "internal", false },
	/* stage */
	{ "stage", "shop", 0, NULL, NULL, A, A, true, "\"release\":\"" B "\",\"bytes\":1,\"files\":1", NULL, true },
	{ "stage", "shop", 1, "build_failed", "build step 1 failed", A, A, false, NULL, "build_failed", false },
	/* switch and rollback */
	{ "switch", "shop", 0, NULL, NULL, A, B, true, "\"release\":\"" B "\",\"previous\":\"" A "\",\"mode\":\"symlink\"", NULL, true },
	{ "switch", "shop", 2, "not_found", "switch shop: no release matches 'x'", A, A, false, NULL, "not_found", false },
	{ "switch", "shop", 1, "not_found", "release x is not frozen", A, A, false, NULL, "not_found", false },
	{ "switch", "shop", 1, "unhealthy", "release is live, but its health check failed", A, B, true, NULL, "unhealthy", true },
	{ "rollback", "shop", 0, NULL, NULL, B, A, true, "\"release\":\"" A "\",\"previous\":\"" B "\"", NULL, true },
	{ "rollback", "shop", 1, "not_found", "there is no previous release", A, A, false, NULL, "not_found", false },
	/* read-only verbs */
	{ "list", "shop", 0, NULL, NULL, A, A, false, "\"releases\":[{\"id\":\"" A "\",\"current\":true}]", NULL, false },
	{ "list", "shop", 1, NULL, "cannot read releases/", A, A, false, NULL, "internal", false },
	{ "status", "shop", 0, NULL, NULL, "", "", false, "\"root\":\"/srv/shop\",\"current\":null", NULL, false },
	{ "status", "shop", 1, NULL, "", A, A, false, "\"current\":null", "internal", false },
	{ "history", "shop", 0, NULL, NULL, A, A, false, "\"events\":[]", NULL, false },
	{ "history", "shop", 1, "helper_lost", "cannot read the history of shop (helper stopped)", A, A, false, NULL, "helper_lost", false },
	{ "log", "shop", 0, NULL, NULL, A, A, false, "\"release\":\"" A "\",\"log\":\"a\\n\"", NULL, false },
	{ "log", "shop", 1, "not_found", "release x of shop has no build log", A, A, false, NULL, "not_found", false },
	{ "check", "shop", 0, NULL, NULL, A, A, false, "\"problems\":[]", NULL, false },
	{ "check", "shop", 2, "config", "check found problems (see problems)", A, A, false,
	  "\"problems\":[{\"code\":\"fpm_unset\",\"message\":\"x\"}]", "config", false },
	{ "verify", "shop", 0, NULL, NULL, A, A, false, "\"differences\":[],\"release\":\"" A "\"", NULL, false },
	{ "verify", "shop", 1, "verify_failed", "release x: 1 difference", A, A, false,
	  "\"differences\":[{\"path\":\"a\",\"kind\":\"content\"}],\"release\":\"" A "\"", "verify_failed", false },
	/* changing verbs without a switch */
	{ "prune", "shop", 0, NULL, NULL, A, A, true, "\"removed\":[\"x\"],\"freed\":1", NULL, true },
	{ "prune", "shop", 0, NULL, NULL, A, A, false, "\"removed\":[],\"freed\":0", NULL, false },
	{ "prune", "shop", 1, "locked", "locked", A, A, false, NULL, "locked", false },
	{ "mount", "shop", 0, NULL, NULL, A, A, true, "\"release\":\"" A "\",\"mounted\":true", NULL, true },
	{ "mount", "shop", 2, "usage", "mount is for mode = bind", A, A, false, NULL, "usage", false },
};

static void test_every_exit_path(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		print_message("path %zu: %s exit %d %s\n", i, paths[i].verb ? paths[i].verb : "(none)",
			      paths[i].exit, paths[i].want_code ? paths[i].want_code : "ok");
		check_path(&paths[i]);
	}
}

/* The first code set is the cause; the forced ones (helper lost,
 * interrupted) win over it. */
static void test_code_precedence(void **state)
{
	struct result r = { 0 };

	result_set_code(&r, "build_failed");
	result_set_code(&r, "internal");
	assert_string_equal(r.code, "build_failed");
	result_force_code(&r, "helper_lost");
	assert_string_equal(r.code, "helper_lost");
	result_set_code(&r, NULL);
	assert_string_equal(r.code, "helper_lost");
	assert_null(result_default_code(0));
	assert_string_equal(result_default_code(2), "config");
	assert_string_equal(result_default_code(3), "unhealthy_rolled_back");
	assert_string_equal(result_default_code(1), "internal");
}

/* Messages and ids hold what a build or a caller wrote: escaped. */
static void test_escaping(void **state)
{
	struct result r = { 0 };
	struct top t;
	char buf[4096];

	result_set_verb(&r, "deploy");
	result_set_app(&r, "shop");
	result_set_message(&r, "quote \" backslash \\ tab \t bell \a del \x7f");
	assert_true(result_format(&r, 1, true, "ignored: the explicit message wins", buf, sizeof(buf)) > 0);
	parse_one_document(buf, &t);
	assert_non_null(strstr(top_get(&t, "error"), "quote \\\" backslash \\\\ tab \\u0009 bell \\u0007 del \\u007f"));
}

/* The steps out_step showed, in order, as "steps" after the verb's keys;
 * a document without them has no "steps" at all. */
static void test_steps(void **state)
{
	struct result r = { .json = true };
	struct output o;
	struct top t;
	char buf[4096];

	result_set_verb(&r, "deploy");
	assert_true(result_format(&r, 0, true, NULL, buf, sizeof(buf)) > 0);
	parse_one_document(buf, &t);
	assert_null(top_get(&t, "steps"));
	result_add_step(&r, "lock", 1000000);
	result_add_step(&r, "build step 1", 2500000000ull);
	r.body = strdup("\"release\":\"x\"");
	assert_true(result_format(&r, 0, true, NULL, buf, sizeof(buf)) > 0);
	parse_one_document(buf, &t);
	assert_string_equal(t.keys[t.n - 1], "steps");
	assert_string_equal(top_get(&t, "steps"),
			    "[{\"name\":\"lock\",\"seconds\":0.001000},{\"name\":\"build step 1\",\"seconds\":2.500000}]");
	/* formatting twice gives the same document: the array is not closed in place */
	assert_true(result_format(&r, 0, true, NULL, buf, sizeof(buf)) > 0);
	parse_one_document(buf, &t);
	result_reset(&r);

	/* out_step records into the process's result, even with -q */
	result_get()->json = true;
	out_init(&o, true, true);
	out_step(&o, "freeze", 3000000, NULL);
	assert_non_null(strstr(result_get()->steps.buf, "\"freeze\""));
	result_reset(result_get());
}

/* Too small a buffer is an error, never a cut document. */
static void test_format_too_small(void **state)
{
	struct result r = { 0 };
	char buf[64];

	result_set_verb(&r, "deploy");
	assert_int_equal(result_format(&r, 0, true, NULL, buf, sizeof(buf)), -ENOBUFS);
	assert_int_equal(result_format(&r, 0, true, NULL, buf, 0), -ENOBUFS);
}

static void test_take_body(void **state)
{
	struct result r = { 0 };
	struct json j;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", "x");
	json_key(&j, "pruned");
	json_begin(&j, '[');
	json_string(&j, "a");
	json_end(&j, ']');
	json_end(&j, '}');
	result_take_body(&r, &j);
	assert_string_equal(r.body, "\"release\":\"x\",\"pruned\":[\"a\"]");
	json_free(&j);
	/* an array is not a body: the earlier one stays */
	json_init(&j);
	json_begin(&j, '[');
	json_end(&j, ']');
	result_take_body(&r, &j);
	assert_string_equal(r.body, "\"release\":\"x\",\"pruned\":[\"a\"]");
	json_free(&j);
	result_reset(&r);
	assert_null(r.body);
}

static void test_argv_json(void **state)
{
	char *a1[] = { "cutover", "--json", "status", "shop", NULL };
	char *a2[] = { "cutover", "status", "shop", "--json", NULL };
	char *a3[] = { "cutover", "status", "shop", "--jsonx", NULL };
	char *a4[] = { "cutover", "-q", "--json", NULL };

	assert_true(result_argv_json(4, a1));
	assert_true(result_argv_json(4, a2));
	assert_false(result_argv_json(4, a3));
	assert_true(result_argv_json(3, a4));
	assert_false(result_argv_json(1, a1));
}

/* What the launcher names the document of a command line it refuses:
 * the verb when it is one, the app when it is valid. */
static void test_usage_error_names(void **state)
{
	static const struct {
		const char *argv[6];
		const char *verb, *app;
	} cases[] = {
		{ { "cutover", "--json", NULL }, NULL, NULL },
		{ { "cutover", "--json", "bogus", "shop", NULL }, NULL, NULL },
		{ { "cutover", "deploy", "--json", NULL }, "deploy", NULL },
		{ { "cutover", "deploy", "shop", "--json", NULL }, "deploy", "shop" },
		{ { "cutover", "list", "Bad/App", "--json", NULL }, "list", NULL },
		{ { "cutover", "switch", "shop", "--json", "--bogus", NULL }, "switch", "shop" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct cli c;
		char err[256];
		int argc = 0;

		while (cases[i].argv[argc])
			argc++;
		assert_int_equal(cli_parse(argc, (char **)cases[i].argv, &c, err, sizeof(err)), -EINVAL);
		assert_true(result_argv_json(argc, (char **)cases[i].argv));
		if (cases[i].verb) {
			assert_int_not_equal(c.verb, VERB_NONE);
			assert_string_equal(c.verb_name, cases[i].verb);
		} else
			assert_int_equal(c.verb, VERB_NONE);
		if (cases[i].app)
			assert_string_equal(c.app, cases[i].app);
		else
			assert_null(c.app);
	}
}

static void test_read_current(void **state)
{
	char dir[] = "/tmp/test_result.XXXXXX", path[PATH_MAX], id[RELEASE_ID_MAX + 1];

	assert_non_null(mkdtemp(dir));
	/* nothing deployed: known, none */
	assert_true(result_read_current(dir, id, sizeof(id)));
	assert_string_equal(id, "");
	snprintf(path, sizeof(path), "%s/current", dir);
	assert_int_equal(symlink("releases/" A, path), 0);
	assert_true(result_read_current(dir, id, sizeof(id)));
	assert_string_equal(id, A);
	unlink(path);
	/* not a release id: unknown */
	assert_int_equal(symlink("releases/../..", path), 0);
	assert_false(result_read_current(dir, id, sizeof(id)));
	assert_string_equal(id, "");
	unlink(path);
	/* not a symlink: unknown */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_false(result_read_current(dir, id, sizeof(id)));
	rmdir(path);
	rmdir(dir);
	assert_false(result_read_current(NULL, id, sizeof(id)));
}

/* Reads what fd 1 got while fn ran. */
static char *capture_stdout(void (*fn)(void *), void *arg)
{
	char tmpl[] = "/tmp/test_result_out.XXXXXX";
	int fd = mkstemp(tmpl), saved = dup(1);
	char *buf = calloc(1, 65536);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && buf);
	unlink(tmpl);
	fflush(stdout);
	assert_int_equal(dup2(fd, 1), 1);
	fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, buf, 65535, 0);
	close(fd);
	assert_true(n >= 0);
	return buf;
}

static void finish_twice(void *arg)
{
	struct result *r = arg;

	assert_int_equal(result_finish(r, 3), 3);
	assert_int_equal(result_finish(r, 0), 0);
	result_finish_signal(r, 1, "interrupted", NULL);
}

static void finish_signal(void *arg)
{
	struct result *r = arg;

	result_finish_signal(r, 1, "interrupted; the release being built was removed, the live site is unchanged\n", NULL);
	assert_int_equal(result_finish(r, 1), 1);
}

static void finish_plain(void *arg)
{
	assert_int_equal(result_finish(arg, 2), 2);
}

/* Printed once, whoever asks again; nothing at all without --json. */
static void test_finish_once(void **state)
{
	struct result r = { .json = true };
	struct top t;
	char *out;

	result_set_verb(&r, "deploy");
	result_set_app(&r, "shop");
	out = capture_stdout(finish_twice, &r);
	parse_one_document(out, &t);
	assert_string_equal(top_get(&t, "exit"), "3");
	assert_non_null(strstr(top_get(&t, "error"), "unhealthy_rolled_back"));
	free(out);

	/* the signal handler's document: code interrupted, one line, once */
	memset(&r, 0, sizeof(r));
	r.json = true;
	result_set_verb(&r, "deploy");
	r.body = strdup("\"release\":\"x\"");
	out = capture_stdout(finish_signal, &r);
	parse_one_document(out, &t);
	assert_string_equal(top_get(&t, "error"),
			    "{\"code\":\"interrupted\",\"message\":\"interrupted; the release being built was removed, "
			    "the live site is unchanged\"}");
	assert_null(top_get(&t, "release"));
	free(out);
	result_reset(&r);

	r.json = false;
	out = capture_stdout(finish_plain, &r);
	assert_string_equal(out, "");
	free(out);
}

/* The helper's failures that name their own code. */
static void test_messages_code(void **state)
{
	struct helper_error e = { 0 };

	e.code = ERR_LOCKED;
	assert_string_equal(messages_code(&e), "locked");
	e.code = ERR_NO_PREVIOUS;
	assert_string_equal(messages_code(&e), "not_found");
	e.code = ERR_TOO_BIG;
	assert_string_equal(messages_code(&e), "too_big");
	e.code = ERR_PARTIAL;
	assert_string_equal(messages_code(&e), "partly_live");
	e.code = ERR_STEP_TIMEOUT;
	assert_string_equal(messages_code(&e), "build_failed");
	e.code = ERR_MESSAGE;
	assert_null(messages_code(&e));
	assert_string_equal(messages_code_name(ERR_CHECK_LIVE_STALE), "live_stale");
	assert_string_equal(messages_code_name(ERR_FPM_MASTER), "fpm_master");
	assert_string_equal(messages_code_name((enum proto_error)9999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_every_exit_path),
		cmocka_unit_test(test_code_precedence),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_format_too_small),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_take_body),
		cmocka_unit_test(test_argv_json),
		cmocka_unit_test(test_usage_error_names),
		cmocka_unit_test(test_read_current),
		cmocka_unit_test(test_finish_once),
		cmocka_unit_test(test_messages_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
