/* SPDX-License-Identifier: MIT */
#include "history_view.h"
#include "result.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "messages.h"
#include "util.h"

/* What is read of the history: its tail, like the helper's own reader. */
#define VIEW_MAX_READ (8 * 1024 * 1024)

/* The tail of the file at fd, NUL-terminated, starting at a line. */
static int view_read_tail(int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	off_t start = 0;
	size_t len = 0;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size > VIEW_MAX_READ)
		start = st.st_size - VIEW_MAX_READ;
	buf = malloc(VIEW_MAX_READ + 1);
	if (!buf)
		return -ENOMEM;
	while (len < VIEW_MAX_READ && (got = pread(fd, buf + len, VIEW_MAX_READ - len, start + (off_t)len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	/* A cut first line is not a line. */
	if (start > 0) {
		char *nl = strchr(buf, '\n');
		size_t skip = nl ? (size_t)(nl + 1 - buf) : len;

		memmove(buf, buf + skip, len - skip + 1);
		len -= skip;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

typedef bool (*view_fn)(void *ctx, const struct history_entry *e);

/* Calls fn for each well-formed line, newest first, until it returns
 * false. Malformed lines are skipped. */
static void view_walk(char *buf, size_t len, view_fn fn, void *ctx)
{
	char *end = buf + len;

	while (end > buf) {
		char *start = end;
		struct history_entry e;

		*end = '\0';
		while (start > buf && start[-1] != '\n')
			start--;
		if (history_parse_event(start, &e) == 0 && !fn(ctx, &e))
			return;
		end = start > buf ? start - 1 : buf;
	}
}

static bool is_failure(const struct history_entry *e)
{
	return strcmp(e->event, "failed") == 0 || strcmp(e->event, "refused") == 0 ||
	       strcmp(e->event, "unhealthy") == 0 || strcmp(e->event, "auto-rollback") == 0;
}

static bool find_failure(void *ctx, const struct history_entry *e)
{
	if (!is_failure(e))
		return true;
	*(struct history_entry *)ctx = *e;
	return false;
}

int history_view_last_failure(int fd, struct history_entry *ret)
{
	_cleanup_free_ char *buf = NULL;
	struct history_entry e = { 0 };
	size_t len;
	int r = view_read_tail(fd, &buf, &len);

	if (r < 0)
		return r;
	view_walk(buf, len, find_failure, &e);
	if (!e.time[0])
		return 0;
	*ret = e;
	return 1;
}

static const char *event_of(const struct history_entry *e)
{
	return e->event[0] ? e->event : e->verb;
}

void history_view_json(struct json *j, const struct history_entry *e)
{
	json_begin(j, '{');
	json_kv_string(j, "time", e->time);
	json_kv_string(j, "event", event_of(e));
	json_kv_string(j, "verb", e->verb);
	json_kv_string(j, "release", e->to[0] ? e->to : e->release[0] ? e->release : NULL);
	json_kv_string(j, "from", e->from[0] ? e->from : NULL);
	json_kv_string(j, "to", e->to[0] ? e->to : NULL);
	json_kv_string(j, "who", e->who[0] ? e->who : NULL);
	json_kv_string(j, "source", e->source[0] ? e->source : NULL);
	json_kv_uint(j, "duration_ms", e->duration_ms);
	json_kv_string(j, "reason", e->reason[0] ? e->reason : NULL);
	json_kv_string(j, "client_claimed", e->client[0] ? e->client : NULL);
	json_kv_bool(j, "reported", e->reported);
	json_end(j, '}');
}

void history_view_line(char *buf, size_t n, const struct history_entry *e)
{
	char who[80], reason[HISTORY_REASON_MAX * 4 + 1], what[2 * RELEASE_ID_MAX + 8];

	str_escape(who, sizeof(who), e->who, strlen(e->who));
	str_escape(reason, sizeof(reason), e->reason, strlen(e->reason));
	if (e->to[0])
		snprintf(what, sizeof(what), "%s -> %s", e->from[0] ? e->from : "(none)", e->to);
	else
		snprintf(what, sizeof(what), "%s", e->release[0] ? e->release : "-");
	snprintf(buf, n, "%s  %-13s %-8s %s  by %s  %.1fs%s%s%s", e->time, event_of(e), e->verb, what,
		 who[0] ? who : "?", (double)e->duration_ms / 1e3, reason[0] ? "  " : "", reason,
		 e->reported ? " (reported by the front end)" : "");
}

struct view_ctx {
	struct json *j;
	unsigned left;       /* 0: no limit */
	bool limited;
};

static bool print_one(void *ctx, const struct history_entry *e)
{
	struct view_ctx *v = ctx;
	char line[2048];

	if (v->j)
		history_view_json(v->j, e);
	else {
		history_view_line(line, sizeof(line), e);
		printf("%s\n", line);
	}
	return !v->limited || --v->left > 0;
}

int history_view(struct frontend *fe)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct helper_error e;
	struct json j;
	struct view_ctx v = { .left = fe->cli.limit, .limited = fe->cli.limit > 0 };
	size_t len = 0;
	int r;

	r = client_history(&fe->client, &fd, &e);
	if (client_lost(&fe->client) || r < 0) {
		if (client_lost(&fe->client))
			result_force_code(result_get(), "helper_lost");
		out_error("cannot read the history of %s (helper stopped)", fe->cfg->app);
		return EXIT_FAILED;
	}
	if (fd >= 0 && (r = view_read_tail(fd, &buf, &len)) < 0) {
		out_error("cannot read the history of %s: %s", fe->cfg->app, strerror(-r));
		return EXIT_FAILED;
	}
	json_init(&j);
	if (fe->cli.json) {
		v.j = &j;
		json_begin(&j, '{');
		json_key(&j, "events");
		json_begin(&j, '[');
	}
	if (buf)
		view_walk(buf, len, print_one, &v);
	if (fe->cli.json) {
		json_end(&j, ']');
		json_end(&j, '}');
		result_take_body(result_get(), &j);
	} else if (!buf || !len)
		printf("(no history: nothing attempted yet)\n");
	json_free(&j);
	return EXIT_OK;
}

/* Appends len bytes to a growing NUL-terminated text; on a failed
 * allocation the text is dropped (NULL). */
static void str_append(char **text, size_t *text_len, const char *p, size_t len)
{
	char *t;

	if (*text_len == SIZE_MAX)
		return;
	t = realloc(*text, *text_len + len + 1);
	if (!t) {
		free(*text);
		*text = NULL;
		*text_len = SIZE_MAX;
		return;
	}
	memcpy(t + *text_len, p, len);
	*text_len += len;
	t[*text_len] = '\0';
	*text = t;
}

/* Copies the log to stdout; control characters but newline and tab are
 * shown as '?' (a log holds whatever the build printed). */
int log_view(struct frontend *fe)
{
	_cleanup_close_ int fd = -EBADF;
	struct helper_error e;
	_cleanup_free_ char *text = NULL;
	size_t text_len = 0;
	uint64_t size = 0;
	char buf[65536];
	struct json j;
	ssize_t n;
	int r;

	r = client_log(&fe->client, fe->cli.release, &fd, &size, &e);
	if (client_lost(&fe->client)) {
		result_force_code(result_get(), "helper_lost");
		out_error("cannot read the log (helper stopped)");
		return EXIT_FAILED;
	}
	if (r < 0 || fd < 0) {
		result_set_code(result_get(), "not_found");
		out_error("release %s of %s has no build log; run 'cutover list %s' to see the releases",
			  fe->cli.release, fe->cfg->app, fe->cfg->app);
		return EXIT_FAILED;
	}
	/* The build wrote this log: no control character reaches the
	 * terminal, C1 ones in UTF-8 (0xc2 0x80-0x9f: CSI, OSC) included. The
	 * first byte of such a pair may end one read: it is held back. */
	size_t held = 0;

	json_init(&j);
	while ((n = read(fd, buf + held, sizeof(buf) - 1 - held)) > 0) {
		size_t len = held + (size_t)n;

		held = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)buf[i];

			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				buf[i] = '?';
			else if (c == 0xc2 && i + 1 == len)
				held = 1;
			else if (c == 0xc2 && (unsigned char)buf[i + 1] >= 0x80 && (unsigned char)buf[i + 1] <= 0x9f)
				buf[i] = buf[i + 1] = '?';
		}
		if (fe->cli.json) {
			buf[len - held] = '\0';
			str_append(&text, &text_len, buf, len - held);
		} else if (fwrite(buf, 1, len - held, stdout) != len - held)
			return EXIT_FAILED;
		if (held)
			buf[0] = (char)0xc2;
	}
	if (held) {
		if (fe->cli.json)
			str_append(&text, &text_len, "?", 1);
		else if (fputc('?', stdout) == EOF)
			return EXIT_FAILED;
	}
	if (n < 0 || (fe->cli.json && text_len == SIZE_MAX))
		return EXIT_FAILED;
	/* --json: the log inside the one document, not beside it */
	json_begin(&j, '{');
	json_kv_string(&j, "release", fe->cli.release);
	json_kv_string(&j, "log", text ? text : "");
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
	return EXIT_OK;
}
