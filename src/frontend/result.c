/* SPDX-License-Identifier: MIT */
#include "result.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static struct result the_result;

struct result *result_get(void)
{
	return &the_result;
}

void result_reset(struct result *r)
{
	free(r->body);
	json_free(&r->steps);
	memset(r, 0, sizeof(*r));
}

bool result_argv_json(int argc, char *const *argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i] && strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

void result_set_verb(struct result *r, const char *verb)
{
	str_copy(r->verb, sizeof(r->verb), verb ? verb : "");
}

void result_set_app(struct result *r, const char *app)
{
	str_copy(r->app, sizeof(r->app), app ? app : "");
}

void result_set_code(struct result *r, const char *code)
{
	if (!r->code)
		r->code = code;
}

void result_force_code(struct result *r, const char *code)
{
	r->code = code;
}

void result_set_message(struct result *r, const char *msg)
{
	str_copy(r->message, sizeof(r->message), msg ? msg : "");
}

void result_take_body(struct result *r, const struct json *obj)
{
	char *body;
	size_t len;

	if (obj->failed || !obj->buf || obj->len < 2 || obj->buf[0] != '{' || obj->buf[obj->len - 1] != '}')
		return;
	len = obj->len - 2;
	body = malloc(len + 1);
	if (!body)
		return;
	memcpy(body, obj->buf + 1, len);
	body[len] = '\0';
	free(r->body);
	r->body = body;
}

void result_add_step(struct result *r, const char *name, uint64_t ns)
{
	if (!r->json)
		return;
	if (!r->steps.buf)
		json_begin(&r->steps, '[');
	json_begin(&r->steps, '{');
	json_kv_string(&r->steps, "name", name);
	json_kv_double(&r->steps, "seconds", (double)ns / 1e9);
	json_end(&r->steps, '}');
}

/* ---- without allocation or stdio (the signal handler) ----------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void sb_put(struct sbuf *b, const char *s, size_t len)
{
	if (b->full || b->len + len + 1 > b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* A JSON string, or null for NULL and "" when empty_null. */
static void sb_jstring(struct sbuf *b, const char *s, bool empty_null)
{
	if (!s || (empty_null && !*s)) {
		sb_str(b, "null");
		return;
	}
	sb_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char e[8];

		sb_put(b, e, json_escape_char(*p, e));
	}
	sb_put(b, "\"", 1);
}

static void sb_int(struct sbuf *b, int v)
{
	char d[16];
	size_t i = sizeof(d);
	unsigned u = v < 0 ? (unsigned)-(long)v : (unsigned)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u && i > 1);
	if (v < 0)
		d[--i] = '-';
	sb_put(b, d + i, sizeof(d) - i);
}

bool result_read_current(const char *root, char *id, size_t n)
{
	char path[PATH_MAX], link[PATH_MAX];
	size_t rl = root ? strlen(root) : 0;
	const char *slash;
	ssize_t len;

	id[0] = '\0';
	if (!rl || rl + sizeof("/current") > sizeof(path))
		return false;
	memcpy(path, root, rl);
	memcpy(path + rl, "/current", sizeof("/current"));
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return errno == ENOENT;   /* nothing deployed: known, none */
	link[len] = '\0';
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (!release_id_valid(slash) || strlen(slash) >= n)
		return false;
	memcpy(id, slash, strlen(slash) + 1);
	return true;
}

void result_set_before(struct result *r, const char *root)
{
	/* only --json needs it: without, a run does exactly what it did */
	if (!r->json)
		return;
	r->before_known = result_read_current(root, r->before, sizeof(r->before));
}

void result_set_after(struct result *r, const char *root)
{
	/* only --json needs it: without, a run does exactly what it did */
	if (!r->json)
		return;
	r->after_known = result_read_current(root, r->after, sizeof(r->after));
}

const char *result_default_code(int ex)
{
	switch (ex) {
	case 0: return NULL;
	case 2: return "config";
	case 3: return "unhealthy_rolled_back";
	default: return "internal";
	}
}

long result_format(const struct result *r, int ex, bool with_body, const char *last_error,
		   char *buf, size_t n)
{
	struct sbuf b = { .p = buf, .cap = n };
	const char *code = ex == 3 ? "unhealthy_rolled_back" : r->code ? r->code : result_default_code(ex);
	const char *msg = r->message[0] ? r->message : last_error && *last_error ? last_error : NULL;
	bool changed = r->changed ||
		(r->before_known && r->after_known && strcmp(r->before, r->after) != 0);

	if (n == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	sb_str(&b, "{\"cutover\":1,\"verb\":");
	sb_jstring(&b, r->verb, true);
	sb_str(&b, ",\"app\":");
	sb_jstring(&b, r->app, true);
	sb_str(&b, ex == 0 ? ",\"ok\":true,\"exit\":" : ",\"ok\":false,\"exit\":");
	sb_int(&b, ex);
	sb_str(&b, changed ? ",\"changed\":true,\"error\":" : ",\"changed\":false,\"error\":");
	if (ex == 0)
		sb_str(&b, "null");
	else {
		sb_str(&b, "{\"code\":");
		sb_jstring(&b, code ? code : "internal", false);
		sb_str(&b, ",\"message\":");
		sb_jstring(&b, msg ? msg : "the run failed (see the messages on stderr)", false);
		sb_str(&b, "}");
	}
	sb_str(&b, ",\"current_before\":");
	sb_jstring(&b, r->before_known ? r->before : NULL, true);
	sb_str(&b, ",\"current_after\":");
	sb_jstring(&b, r->after_known ? r->after : NULL, true);
	if (with_body && r->body && *r->body) {
		sb_str(&b, ",");
		sb_str(&b, r->body);
	}
	/* the steps are kept open: closed here, in the copy only */
	if (with_body && r->steps.buf && !r->steps.failed) {
		sb_str(&b, ",\"steps\":");
		sb_str(&b, r->steps.buf);
		sb_str(&b, "]");
	}
	sb_str(&b, "}\n");
	return b.full ? -ENOBUFS : (long)b.len;
}

int result_finish(struct result *r, int ex)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	long len;

	if (!r->json || r->printed)
		return ex;
	r->printed = true;
	n = (r->body ? strlen(r->body) : 0) + r->steps.len + 4096;
	buf = malloc(n);
	if (!buf)
		return ex;
	len = result_format(r, ex, true, out_last_error(), buf, n);
	if (len < 0)
		len = result_format(r, ex, false, out_last_error(), buf, n);
	if (len > 0) {
		/* A reader that went away costs the document, not the exit
		 * code: the launcher may still have SIGPIPE's default. */
		signal(SIGPIPE, SIG_IGN);
		fflush(stdout);
		(void)write_all(STDOUT_FILENO, buf, (size_t)len);
	}
	return ex;
}

void result_finish_signal(struct result *r, int ex, const char *msg, const char *root)
{
	static char buf[4096];
	long len;

	if (!r->json || r->printed)
		return;
	r->printed = true;
	r->code = "interrupted";
	/* the message as is, without the "cutover: " prefix and newline */
	str_copy(r->message, sizeof(r->message), msg);
	for (char *p = r->message; *p; p++)
		if (*p == '\n')
			*p = '\0';
	if (root)
		r->after_known = result_read_current(root, r->after, sizeof(r->after));
	len = result_format(r, ex, false, NULL, buf, sizeof(buf));
	if (len > 0)
		(void)write_all(STDOUT_FILENO, buf, (size_t)len);
}
