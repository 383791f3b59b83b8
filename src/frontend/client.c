/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fpm_slot.h"
#include "util.h"

#define CAPTURE_MAX (4u * 1024 * 1024)

void client_init(struct client *c, int sock, struct client_sink output)
{
	*c = (struct client) { .sock = sock, .output = output, .state = CLIENT_OK };
}

struct client_sink client_set_output(struct client *c, struct client_sink output)
{
	struct client_sink old = c->output;

	c->output = output;
	return old;
}

bool client_lost(const struct client *c)
{
	return c->state != CLIENT_OK;
}

/* ---- capture -------------------------------------------------------- */

static void capture_add(void *ctx, const char *buf, size_t len)
{
	struct client_capture *cap = ctx;

	/* Bounded: php-fpm -tt of a large config is a few hundred kB at most. */
	if (cap->len + len + 1 > cap->cap) {
		size_t n = cap->cap ? cap->cap * 2 : 8192;
		char *p;

		while (n < cap->len + len + 1)
			n *= 2;
		if (n > CAPTURE_MAX || !(p = realloc(cap->buf, n))) {
			cap->truncated = true;
			return;
		}
		cap->buf = p;
		cap->cap = n;
	}
	memcpy(cap->buf + cap->len, buf, len);
	cap->len += len;
	cap->buf[cap->len] = '\0';
}

struct client_sink client_capture_sink(struct client_capture *cap)
{
	return (struct client_sink) { .fn = capture_add, .ctx = cap };
}

void client_capture_reset(struct client_capture *cap)
{
	cap->len = 0;
	cap->truncated = false;
	if (cap->buf)
		cap->buf[0] = '\0';
}

void client_capture_free(struct client_capture *cap)
{
	free(cap->buf);
	*cap = (struct client_capture) { 0 };
}

/* ---- one request ---------------------------------------------------- */

/* What a request may be answered with, besides OUTPUT. */
enum {
	EXPECT_REPLY = 1u << 0,
	EXPECT_ENTRY = 1u << 1,
	EXPECT_END = 1u << 2,
};

typedef void (*entry_fn)(const struct proto_msg *m, void *ctx);

/* The conversation is over: remember why, and say so in err. */
static int client_break(struct client *c, enum client_state state, int r, struct helper_error *err,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int client_break(struct client *c, enum client_state state, int r, struct helper_error *err,
			const char *fmt, ...)
{
	va_list ap;

	c->state = state;
	if (err) {
		*err = (struct helper_error) { .status = r, .code = ERR_NONE };
		va_start(ap, fmt);
		vsnprintf(err->subject, sizeof(err->subject), fmt, ap);
		va_end(ap);
	}
	return r;
}

/*
 * Sends req and reads until its final REPLY (or END): OUTPUT goes to the
 * output sink, ENTRY to on_entry. The final message is left in rep and
 * its fd, if any, in ret_fd (an fd is accepted only when ret_fd is given,
 * and only with the final message). 0, the reply's status (< 0, err
 * filled), or a broken conversation (client_lost()).
 */
static int client_call(struct client *c, const struct proto_msg *req, unsigned expect,
		       entry_fn on_entry, void *ctx, struct proto_msg *rep, int *ret_fd,
		       struct helper_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (ret_fd)
		*ret_fd = -EBADF;
	/* After a break the socket is out of step: nothing more to ask. */
	if (c->state != CLIENT_OK)
		return client_break(c, c->state, -ECONNRESET, err, "the privileged helper stopped");
	if (proto_send(c->sock, req, -1) < 0)
		return client_break(c, CLIENT_LOST, -ECONNRESET, err, "the privileged helper stopped");
	for (;;) {
		closep(&fd);
		fd = -EBADF;
		r = proto_recv(c->sock, rep, ret_fd ? &fd : NULL);
		if (r == -ECONNRESET || r == -EPIPE)
			return client_break(c, CLIENT_LOST, -ECONNRESET, err, "the privileged helper stopped");
		if (r < 0)
			return client_break(c, CLIENT_PROTOCOL_ERROR, r, err,
					    "the privileged helper sent a malformed message: %s", strerror(-r));
		if (rep->op == OP_OUTPUT) {
			if (c->output.fn)
				c->output.fn(c->output.ctx, rep->text, rep->len);
			continue;
		}
		if (rep->op == OP_ENTRY && (expect & EXPECT_ENTRY)) {
			if (on_entry)
				on_entry(rep, ctx);
			continue;
		}
		if ((rep->op == OP_REPLY && (expect & EXPECT_REPLY)) ||
		    (rep->op == OP_END && (expect & EXPECT_END)))
			break;
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EPROTO, err,
				    "the privileged helper answered '%s' with '%s'",
				    proto_op_name(req->op), proto_op_name(rep->op));
	}
	if (rep->op == OP_REPLY && rep->status < 0) {
		if (err)
			helper_error_from_reply(err, rep);
		return rep->status;
	}
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 0;
}

/* A request that carries text: as much as fits, and -ENAMETOOLONG if that
 * is not all of it. */
static int request_text(struct proto_msg *req, const char *text)
{
	int n = snprintf(req->text, sizeof(req->text), "%s", text ? text : "");

	req->len = (uint32_t)strlen(req->text);
	return n < 0 || (size_t)n >= sizeof(req->text) ? -ENAMETOOLONG : 0;
}

/* A request with no arguments and a plain REPLY. */
static int client_simple(struct client *c, enum proto_op op, struct proto_msg *rep,
			 struct helper_error *err)
{
	struct proto_msg req;

	proto_init(&req, op);
	return client_call(c, &req, EXPECT_REPLY, NULL, NULL, rep, NULL, err);
}

/* Fills err for a failure the front end itself found in a reply. */
static int client_refuse(struct helper_error *err, int r, const char *subject)
{
	if (err) {
		*err = (struct helper_error) { .status = r, .code = ERR_NONE };
		str_copy(err->subject, sizeof(err->subject), subject);
	}
	return r;
}

int client_hello(struct client *c, struct helper_error *err)
{
	struct proto_msg hello;
	int r;

	/* The helper speaks first, unasked. */
	r = proto_recv(c->sock, &hello, NULL);
	if (r == -ECONNRESET || r == -EPIPE)
		return client_break(c, CLIENT_LOST, -ECONNRESET, err, "the privileged helper stopped");
	if (r < 0)
		return client_break(c, CLIENT_PROTOCOL_ERROR, r, err,
				    "the privileged helper sent a malformed message: %s", strerror(-r));
	if (hello.op != OP_REPLY)
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EPROTO, err,
				    "the privileged helper greeted with '%s'", proto_op_name(hello.op));
	if (hello.status < 0) {
		if (err)
			helper_error_from_reply(err, &hello);
		return hello.status;
	}
	return 0;
}

/* ---- staging -------------------------------------------------------- */

int client_lock(struct client *c, unsigned wait_s, struct client_lock_result *ret,
		struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_LOCK);
	req.arg[0] = wait_s;
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	helper_note_from_msg(&ret->note, &rep);
	return 0;
}

int client_stage_begin(struct client *c, const char *label, struct client_stage *ret,
		       struct helper_error *err)
{
	return client_stage_begin_id(c, label, NULL, ret, err);
}

int client_stage_begin_id(struct client *c, const char *label, const char *id, struct client_stage *ret,
			  struct helper_error *err)
{
	struct proto_msg req, rep;
	_cleanup_close_ int fd = -EBADF;
	int r;

	proto_init(&req, OP_STAGE_BEGIN);
	r = request_text(&req, label);
	if (r < 0)
		return client_refuse(err, r, "--label is too long");
	if (id && str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "--id is too long");
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, &fd, err);
	if (r < 0)
		return r;
	if (fd < 0 || !release_id_valid(rep.id))
		return client_refuse(err, -EBADMSG, rep.text);
	str_copy(ret->id, sizeof(ret->id), rep.id);
	ret->existing = rep.arg[0] == 1;
	ret->dir_fd = TAKE_FD(fd);
	return 0;
}

int client_link_shared(struct client *c, struct helper_error *err)
{
	struct proto_msg rep;

	return client_simple(c, OP_LINK_SHARED, &rep, err);
}

int client_run_step(struct client *c, size_t index, uint64_t *ret_exit, struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_RUN_STEP);
	req.arg[0] = index;
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	*ret_exit = rep.arg[0];
	return 0;
}

int client_freeze(struct client *c, struct client_freeze_result *ret, struct helper_error *err)
{
	struct proto_msg rep;
	int r;

	r = client_simple(c, OP_FREEZE, &rep, err);
	if (r < 0)
		return r;
	ret->bytes = rep.arg[0];
	ret->files = rep.arg[1];
	ret->flags = (unsigned)rep.arg[3];
	return 0;
}

int client_select(struct client *c, const char *id, struct client_select_result *ret,
		  struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_SELECT);
	if (str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "the release id is too long");
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	if (!release_id_valid(rep.id))
		return client_refuse(err, -EBADMSG, rep.text);
	str_copy(ret->id, sizeof(ret->id), rep.id);
	ret->bytes = rep.arg[0];
	ret->files = rep.arg[1];
	ret->current = rep.arg[3] == 1;
	return 0;
}

int client_abort(struct client *c, bool keep, bool *ret_kept, struct helper_error *err)
{
	return client_abort_why(c, keep, NULL, 0, ABORT_FAILED, ret_kept, err);
}

int client_abort_why(struct client *c, bool keep, const char *why, uint64_t ms, enum abort_kind kind,
		     bool *ret_kept, struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_ABORT);
	req.arg[0] = keep ? 1 : 0;
	req.arg[1] = ms;
	req.arg[2] = kind;
	(void)request_text(&req, why);   /* the history keeps what fits */
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	if (ret_kept)
		*ret_kept = rep.error == ERR_NOTE_KEPT;
	return 0;
}

/* ---- publishing ----------------------------------------------------- */

static int client_publish(struct client *c, enum proto_op op, const char *id, const char *source,
			  uint64_t ms, bool automatic, struct client_switch_result *ret,
			  struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, op);
	if (id && str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "release id is too long");
	(void)request_text(&req, source);   /* history records what fits */
	req.arg[0] = ms;
	req.arg[1] = automatic;
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0 && r != -EXDEV)
		return r;
	if (r == -EXDEV && client_lost(c))
		return r;
	*ret = (struct client_switch_result) {
		.visible_ns = rep.arg[1],
		.durable_ns = rep.arg[2],
		.fpm_entered = rep.arg[3] != 0,
		.partial = r == -EXDEV,
	};
	str_copy(ret->to, sizeof(ret->to), rep.id);
	str_copy(ret->from, sizeof(ret->from), rep.id2);
	return r;
}

int client_switch(struct client *c, const char *id, const char *source, uint64_t ms,
		  struct client_switch_result *ret, struct helper_error *err)
{
	return client_publish(c, OP_SWITCH, id, source, ms, false, ret, err);
}

int client_rollback(struct client *c, const char *id, const char *source, uint64_t ms,
		    struct client_switch_result *ret, struct helper_error *err)
{
	return client_publish(c, OP_ROLLBACK, id, source, ms, false, ret, err);
}

int client_rollback_auto(struct client *c, const char *why, struct client_switch_result *ret,
			 struct helper_error *err)
{
	return client_publish(c, OP_ROLLBACK, NULL, why, 0, true, ret, err);
}

int client_report(struct client *c, enum history_report kind, const char *why, uint64_t ms,
		  struct helper_error *err)
{
	struct proto_msg req, rep;

	proto_init(&req, OP_REPORT);
	req.arg[0] = kind;
	req.arg[1] = ms;
	(void)request_text(&req, why);
	return client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
}

int client_log(struct client *c, const char *id, int *ret_fd, uint64_t *ret_size,
	       struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_LOG_READ);
	if (str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "release id is too long");
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, ret_fd, err);
	if (r == 0)
		*ret_size = rep.arg[0];
	return r;
}

struct prune_ctx {
	client_pruned_fn fn;
	void *ctx;
};

static void prune_entry(const struct proto_msg *m, void *ctx)
{
	struct prune_ctx *p = ctx;

	if (p->fn)
		p->fn(p->ctx, m->id, m->arg[0]);
}

int client_prune(struct client *c, unsigned keep, client_pruned_fn on_pruned, void *ctx,
		 struct client_prune_result *ret, struct helper_error *err)
{
	struct prune_ctx p = { .fn = on_pruned, .ctx = ctx };
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_PRUNE);
	req.arg[0] = keep;
	r = client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY, prune_entry, &p, &rep, NULL, err);
	if (r < 0)
		return r;
	ret->freed = rep.arg[0];
	ret->removed = rep.arg[1];
	return 0;
}

/* ---- read-only ------------------------------------------------------ */

struct list_ctx {
	client_release_fn fn;
	void *ctx;
};

static void list_entry(const struct proto_msg *m, void *ctx)
{
	struct list_ctx *l = ctx;
	unsigned flags = (unsigned)m->arg[3];
	struct client_release rel = {
		.created_ns = m->arg[0],
		.bytes = m->arg[1],
		.files = m->arg[2],
		.state = (enum release_state)(flags & 0xff),
		.current = flags & RELEASE_FLAG_CURRENT,
		.previous = flags & RELEASE_FLAG_PREVIOUS,
		.unhealthy = flags & RELEASE_FLAG_UNHEALTHY,
	};
	const char *tab = strchr(m->text, '\t');

	str_copy(rel.id, sizeof(rel.id), m->id);
	/* The reason is the helper's record: shown escaped, never raw. */
	if (tab)
		str_escape(rel.reason, sizeof(rel.reason), tab + 1, strlen(tab + 1));
	if (m->text[0] && m->text[0] != '\t') {
		char own[32], *sp;
		unsigned long long o, sh;

		snprintf(own, sizeof(own), "%.*s", (int)(tab ? (size_t)(tab - m->text) : strlen(m->text)), m->text);
		sp = strchr(own, ' ');
		if (sp) {
			*sp = '\0';
			if (parse_uint(own, 0, UINT64_MAX, &o) == 0 && parse_uint(sp + 1, 0, UINT64_MAX, &sh) == 0) {
				rel.has_usage = true;
				rel.own = o;
				rel.shared = sh;
			}
		}
	}
	if (l->fn)
		l->fn(l->ctx, &rel);
}

int client_list(struct client *c, client_release_fn on_release, void *ctx, struct helper_error *err)
{
	struct list_ctx l = { .fn = on_release, .ctx = ctx };
	struct proto_msg req, rep;

	proto_init(&req, OP_LIST);
	return client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY | EXPECT_END, list_entry, &l, &rep,
			   NULL, err);
}

/* The STATUS entry: "OPTIONS\tROOT" of the mount on top of live. */
static void live_entry(const struct proto_msg *m, void *ctx)
{
	struct client_live *li = ctx;
	const char *tab = strchr(m->text, '\t');

	*li = (struct client_live) {
		.known = true,
		.stacked = m->arg[0] > 99 ? 99 : (unsigned)m->arg[0],
		.root_shared = m->arg[1] == 1,
	};
	str_copy(li->release, sizeof(li->release), m->id);
	if (tab) {
		snprintf(li->options, sizeof(li->options), "%.*s", (int)(tab - m->text), m->text);
		str_copy(li->root, sizeof(li->root), tab + 1);
	}
}

int client_status(struct client *c, struct client_status *ret, struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	*ret = (struct client_status) { 0 };
	proto_init(&req, OP_STATUS);
	r = client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY, live_entry, &ret->live, &rep, NULL, err);
	/* A current that is not ours is a finding to show, not a failure. */
	if (r < 0 && (r != -EUCLEAN || client_lost(c)))
		return r;
	ret->current_broken = r == -EUCLEAN;
	if (!ret->current_broken)
		str_copy(ret->current, sizeof(ret->current), rep.id);
	str_copy(ret->previous, sizeof(ret->previous), rep.id2);
	str_copy(ret->lock_holder, sizeof(ret->lock_holder), rep.text);
	ret->mode = (unsigned)rep.arg[0];
	ret->set_up = rep.arg[1] != 1;
	ret->store_objects = rep.arg[2];
	ret->store_bytes = rep.arg[3];
	return 0;
}

int client_history(struct client *c, int *ret_fd, struct helper_error *err)
{
	struct proto_msg req, rep;

	proto_init(&req, OP_HISTORY);
	return client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, ret_fd, err);
}

struct check_ctx {
	client_problem_fn fn;
	void *ctx;
};

static void check_entry(const struct proto_msg *m, void *ctx)
{
	struct check_ctx *k = ctx;
	struct helper_error problem;

	helper_note_from_msg(&problem, m);
	if (k->fn)
		k->fn(k->ctx, &problem);
}

int client_check(struct client *c, client_problem_fn on_problem, void *ctx, struct helper_error *err)
{
	struct check_ctx k = { .fn = on_problem, .ctx = ctx };
	struct proto_msg req, rep;

	proto_init(&req, OP_CHECK);
	return client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY, check_entry, &k, &rep, NULL, err);
}

struct verify_ctx {
	client_verify_fn fn;
	void *ctx;
};

static void verify_entry(const struct proto_msg *m, void *ctx)
{
	struct verify_ctx *v = ctx;
	struct client_verify_diff d = {
		.path = m->text,
		.kind = m->arg[0] < VERIFY_KIND_MAX ? (enum verify_kind)m->arg[0] : 0,
		.expected = m->arg[1],
		.found = m->arg[2],
	};

	if (v->fn)
		v->fn(v->ctx, &d);
}

int client_verify(struct client *c, const char *id, client_verify_fn on_diff, void *ctx,
		  struct client_verify_result *ret, struct helper_error *err)
{
	struct verify_ctx v = { .fn = on_diff, .ctx = ctx };
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_VERIFY);
	if (id && str_copy(req.id, sizeof(req.id), id) < 0)
		return -ENAMETOOLONG;
	r = client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY, verify_entry, &v, &rep, NULL, err);
	if (r < 0)
		return r;
	*ret = (struct client_verify_result){
		.differences = rep.arg[0], .files = rep.arg[1], .entries = rep.arg[2],
	};
	if (!release_id_valid(rep.id))
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EBADMSG, err,
				    "the privileged helper did not name the release it verified");
	str_copy(ret->release, sizeof(ret->release), rep.id);
	return 0;
}

/* ---- php-fpm -------------------------------------------------------- */

/* The ENTRY before a failed php-fpm -t: php-fpm's own line. */
static void fpm_test_entry(const struct proto_msg *m, void *ctx)
{
	if (m->error == ERR_FPM_TEST)
		str_copy(ctx, PROTO_TEXT_SIZE, m->text);
}

/* A request about php-fpm: its configuration is tested first. */
static int client_fpm_call(struct client *c, const struct proto_msg *req, struct proto_msg *rep,
			   struct helper_error *err)
{
	char line[PROTO_TEXT_SIZE] = "";
	int r;

	r = client_call(c, req, EXPECT_REPLY | EXPECT_ENTRY, fpm_test_entry, line, rep, NULL, err);
	if (r < 0 && err && !client_lost(c))
		str_copy(err->detail, sizeof(err->detail), line);
	return r;
}

int client_fpm_inspect(struct client *c, struct client_fpm_inspect_result *ret, struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_FPM_INSPECT);
	r = client_fpm_call(c, &req, &rep, err);
	if (r < 0)
		return r;
	ret->master_pid = (long)rep.arg[0];
	str_copy(ret->config, sizeof(ret->config), rep.text);
	return 0;
}

int client_fpm_reload(struct client *c, bool expect_new, struct client_fpm_reload_result *ret,
		      struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_FPM_RELOAD);
	req.arg[0] = expect_new ? 1 : 0;
	r = client_fpm_call(c, &req, &rep, err);
	if (client_lost(c))
		return r;
	*ret = (struct client_fpm_reload_result) {
		.old_gone_ns = rep.arg[0],
		.new_child_ns = rep.arg[1],
		.old_children = (uint32_t)(rep.arg[2] & 0xffffffffu),
		.new_children = (uint32_t)(rep.arg[2] >> 32),
	};
	return r;
}

int client_fpm_request(struct client *c, enum fpm_request_kind kind, const char *id, int *ret_fd,
		       struct helper_error *err)
{
	return client_fpm_request_at(c, kind, id, 0, ret_fd, err);
}

int client_fpm_request_at(struct client *c, enum fpm_request_kind kind, const char *id, size_t index,
			  int *ret_fd, struct helper_error *err)
{
	struct proto_msg req, rep;
	_cleanup_close_ int fd = -EBADF;
	int r;

	proto_init(&req, OP_FPM_REQUEST);
	req.arg[0] = kind;
	req.arg[1] = index;
	if (id && str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "release id is too long");
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, &fd, err);
	if (r < 0)
		return r;
	if (fd < 0)
		return client_refuse(err, -EBADF, rep.text);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* ---- reload = swap: the pool slots ---------------------------------- */

/* "a" or "b" in a reply's text: the slot letter, or 0. */
static char slot_from_text(const char *text)
{
	return text[0] && !text[1] && fpm_slot_valid(text[0]) ? text[0] : 0;
}

struct slots_ctx {
	client_fpm_slot_fn fn;
	void *ctx;
	bool bad;                       /* an entry named no slot */
};

static void fpm_slot_entry(const struct proto_msg *m, void *ctx)
{
	struct slots_ctx *k = ctx;
	struct client_fpm_slot s = {
		.slot = slot_from_text(m->text),
		.master_pid = m->arg[0] <= INT32_MAX ? (long)m->arg[0] : 0,
		.state = m->arg[1] <= FPM_SLOT_STOPPING ? (enum fpm_slot_state)m->arg[1] : FPM_SLOT_FAILED,
		.pss_kb = m->arg[2],
		.warm_seconds = m->arg[3],
	};

	if (!s.slot) {
		k->bad = true;
		return;
	}
	str_copy(s.release, sizeof(s.release), m->id);
	if (k->fn)
		k->fn(k->ctx, &s);
}

int client_fpm_slots(struct client *c, client_fpm_slot_fn on_slot, void *ctx,
		     struct client_fpm_slots_result *ret, struct helper_error *err)
{
	struct slots_ctx k = { .fn = on_slot, .ctx = ctx };
	struct proto_msg req, rep;
	int r;

	*ret = (struct client_fpm_slots_result) { 0 };
	proto_init(&req, OP_FPM_SLOTS);
	r = client_call(c, &req, EXPECT_REPLY | EXPECT_ENTRY, fpm_slot_entry, &k, &rep, NULL, err);
	if (r < 0)
		return r;
	if (k.bad || (rep.text[0] && !slot_from_text(rep.text)))
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EBADMSG, err,
				    "the privileged helper named a php-fpm slot that does not exist");
	ret->live_slot = slot_from_text(rep.text);
	str_copy(ret->live_release, sizeof(ret->live_release), rep.id);
	return 0;
}

int client_fpm_slot_start(struct client *c, const char *id, struct client_fpm_slot_start_result *ret,
			  struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	proto_init(&req, OP_FPM_SLOT_START);
	if (id && str_copy(req.id, sizeof(req.id), id) < 0)
		return client_refuse(err, -ENAMETOOLONG, "release id is too long");
	r = client_fpm_call(c, &req, &rep, err);
	if (r < 0)
		return r;
	if (!slot_from_text(rep.text) || !release_id_valid(rep.id))
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EBADMSG, err,
				    "the privileged helper started a php-fpm slot without naming it or its release");
	*ret = (struct client_fpm_slot_start_result) {
		.slot = slot_from_text(rep.text),
		.master_pid = rep.arg[0] <= INT32_MAX ? (long)rep.arg[0] : 0,
		.ready_ms = rep.arg[1],
		.already_warm = rep.arg[2] == 1,
		.need_kb = rep.arg[3],
	};
	str_copy(ret->release, sizeof(ret->release), rep.id);
	return 0;
}

int client_fpm_slot_retire(struct client *c, char slot, bool stop_now,
			   struct client_fpm_slot_retire_result *ret, struct helper_error *err)
{
	struct proto_msg req, rep;
	int r;

	if (!fpm_slot_valid(slot))
		return client_refuse(err, -EINVAL, "no such php-fpm slot");
	proto_init(&req, OP_FPM_SLOT_RETIRE);
	req.text[0] = slot;
	req.len = 1;
	req.arg[0] = stop_now ? 1 : 0;
	r = client_call(c, &req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	*ret = (struct client_fpm_slot_retire_result) {
		.queue_us = rep.arg[0],
		.stopped = rep.arg[1] == 1,
		.still_queued = rep.arg[2],
	};
	return 0;
}

int client_fpm_live(struct client *c, struct client_fpm_live_result *ret, struct helper_error *err)
{
	struct proto_msg rep;
	int r;

	r = client_simple(c, OP_FPM_LIVE, &rep, err);
	if (r < 0)
		return r;
	if (!slot_from_text(rep.text))
		return client_break(c, CLIENT_PROTOCOL_ERROR, -EBADMSG, err,
				    "the privileged helper did not name the live php-fpm slot");
	*ret = (struct client_fpm_live_result) { .slot = slot_from_text(rep.text), .rename_ns = rep.arg[0] };
	return 0;
}

/* ---- commands in the build sandbox ---------------------------------- */

/* A request answered with OUTPUT and an exit code. */
static int client_command(struct client *c, struct proto_msg *req, uint64_t *ret_exit,
			  struct helper_error *err)
{
	struct proto_msg rep;
	int r;

	r = client_call(c, req, EXPECT_REPLY, NULL, NULL, &rep, NULL, err);
	if (r < 0)
		return r;
	*ret_exit = rep.arg[0];
	return 0;
}

int client_fetch_git(struct client *c, const char *url_ref, uint64_t *ret_exit, struct helper_error *err)
{
	struct proto_msg req;

	proto_init(&req, OP_FETCH_GIT);
	if (request_text(&req, url_ref) < 0)
		return client_refuse(err, -ENAMETOOLONG, "--from git+URL#REF is too long");
	return client_command(c, &req, ret_exit, err);
}

int client_migrate(struct client *c, enum client_migrate_mode mode, uint64_t *ret_exit,
		   struct helper_error *err)
{
	struct proto_msg req;

	proto_init(&req, OP_MIGRATE);
	req.arg[0] = mode;
	return client_command(c, &req, ret_exit, err);
}

int client_hook(struct client *c, bool after_switch, size_t index, uint64_t *ret_exit,
		struct helper_error *err)
{
	return client_hook_kind(c, after_switch ? 1 : 0, index, NULL, ret_exit, err);
}

int client_hook_kind(struct client *c, unsigned kind, size_t index, const char *reason,
		     uint64_t *ret_exit, struct helper_error *err)
{
	struct proto_msg req;

	proto_init(&req, OP_HOOK);
	req.arg[0] = kind;
	req.arg[1] = index;
	if (reason)
		(void)request_text(&req, reason);   /* a long reason is cut short */
	return client_command(c, &req, ret_exit, err);
}

int client_mount(struct client *c, struct client_mount_result *ret, struct helper_error *err)
{
	struct proto_msg rep;
	int r;

	r = client_simple(c, OP_MOUNT, &rep, err);
	if (r < 0)
		return r;
	*ret = (struct client_mount_result) {
		.unstacked = rep.arg[0],
		.mounted = rep.arg[1] == 1,
		.fpm_namespace = rep.arg[2] == 1,
	};
	str_copy(ret->release, sizeof(ret->release), rep.id);
	helper_note_from_msg(&ret->note, &rep);
	return 0;
}
