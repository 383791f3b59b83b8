/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/client.c (the typed client of the helper) and
 * src/frontend/source_client.c (of the source reader). A fake helper runs
 * in a thread on the other end of a SOCK_SEQPACKET socketpair: it waits for
 * the one request of a test, keeps it for assertions, and answers with the
 * test's canned messages (or hangs up). The reader side is the real
 * reader_serve(), in a thread, against files in a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "client.h"
#include "messages.h"
#include "proto.h"
#include "reader.h"
#include "source_client.h"
#include "util.h"

#define ID1 "20261126T041056Z"
#define ID2 "20261125T235959Z-v1.4.2"

struct canned {
	struct proto_msg m;
	int fd;                        /* sent with m, or -1 */
};

struct fake {
	int sv[2];                     /* sv[0]: the client's, sv[1]: the fake helper's */
	pthread_t thread;
	bool started;
	bool no_request;               /* speak first (the hello) */
	bool hang_up;                  /* close after the canned messages */
	struct canned out[16];
	size_t n_out;
	struct proto_msg req;          /* what the client sent */
	int req_r;                     /* proto_recv's result for it */
	struct client client;
	/* what the output sink saw */
	char output[4096];
	size_t output_len;
	unsigned output_calls;
};

static void sink(void *ctx, const char *buf, size_t len)
{
	struct fake *f = ctx;

	assert_true(f->output_len + len < sizeof(f->output));
	memcpy(f->output + f->output_len, buf, len);
	f->output_len += len;
	f->output[f->output_len] = '\0';
	f->output_calls++;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) < 0) {
		free(f);
		return -1;
	}
	f->req_r = 1;
	client_init(&f->client, f->sv[0], (struct client_sink) { .fn = sink, .ctx = f });
	*state = f;
	return 0;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	if (!f->no_request) {
		f->req_r = proto_recv(f->sv[1], &f->req, NULL);
		if (f->req_r < 0)
			return NULL;
	}
	for (size_t i = 0; i < f->n_out; i++) {
		if (proto_send(f->sv[1], &f->out[i].m, f->out[i].fd) < 0)
			break;
		if (f->out[i].fd >= 0)
			close(f->out[i].fd);
	}
	if (f->hang_up) {
		close(f->sv[1]);
		f->sv[1] = -1;
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	f->started = true;
}

/* Waits for the fake helper to be done; the request is then in f->req. */
static void fake_join(struct fake *f)
{
	if (f->started)
		pthread_join(f->thread, NULL);
	f->started = false;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	fake_join(f);
	close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	free(f);
	return 0;
}

/* Queues one message for the fake helper to send; returns it to fill in. */
static struct proto_msg *queue(struct fake *f, enum proto_op op, int status, const char *text)
{
	struct canned *c = &f->out[f->n_out++];

	assert_true(f->n_out <= ELEMENTSOF(f->out));
	proto_init(&c->m, op);
	c->m.status = status;
	c->fd = -1;
	if (text) {
		if (op == OP_OUTPUT) {
			memcpy(c->m.text, text, strlen(text));
			c->m.len = (uint32_t)strlen(text);
		} else {
			str_copy(c->m.text, sizeof(c->m.text), text);
			c->m.len = (uint32_t)strlen(text);
		}
	}
	return &c->m;
}

static void queue_fd(struct fake *f, int fd)
{
	f->out[f->n_out - 1].fd = fd;
}

/* ---- typed results -------------------------------------------------- */

static void test_lock(void **state)
{
	struct fake *f = *state;
	struct client_lock_result res;
	struct helper_error e;

	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, ID1);
	m->error = ERR_NOTE_REPAIRED;
	m->arg[0] = 1;
	fake_start(f);
	assert_int_equal(client_lock(&f->client, 30, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req_r, 0);
	assert_int_equal(f->req.op, OP_LOCK);
	assert_int_equal(f->req.arg[0], 30);
	assert_int_equal(res.note.code, ERR_NOTE_REPAIRED);
	assert_int_equal(res.note.status, 0);
	assert_string_equal(res.note.subject, ID1);
	assert_int_equal(res.note.arg[0], 1);
	assert_false(client_lost(&f->client));
}

static void test_lock_busy_is_a_helper_error(void **state)
{
	struct fake *f = *state;
	struct client_lock_result res;
	struct helper_error e;
	char buf[PROTO_TEXT_SIZE];
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -EBUSY, "shop is locked by alice (pid 42)");
	m->error = ERR_MESSAGE;
	fake_start(f);
	assert_int_equal(client_lock(&f->client, 0, &res, &e), -EBUSY);
	fake_join(f);
	assert_int_equal(e.status, -EBUSY);
	assert_int_equal(e.code, ERR_MESSAGE);
	assert_string_equal(e.subject, "shop is locked by alice (pid 42)");
	messages_format(&e, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "shop is locked by alice (pid 42)");
	/* A refusal is an answer: the conversation goes on. */
	assert_false(client_lost(&f->client));
}

static void test_stage_begin(void **state)
{
	struct fake *f = *state;
	struct client_stage st = { .dir_fd = -EBADF };
	struct helper_error e;
	struct proto_msg *m;
	struct stat a, b;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fstat(p[0], &a), 0);
	m = queue(f, OP_REPLY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	queue_fd(f, p[0]);
	fake_start(f);
	assert_int_equal(client_stage_begin(&f->client, "v1.4.2", &st, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_STAGE_BEGIN);
	assert_string_equal(f->req.text, "v1.4.2");
	assert_string_equal(st.id, ID1);
	assert_true(st.dir_fd >= 0);
	assert_int_equal(fstat(st.dir_fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(st.dir_fd);
	close(p[1]);
}

static void test_stage_begin_without_fd_fails(void **state)
{
	struct fake *f = *state;
	struct client_stage st = { .dir_fd = -EBADF };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	fake_start(f);
	assert_int_equal(client_stage_begin(&f->client, NULL, &st, &e), -EBADMSG);
	fake_join(f);
	assert_string_equal(f->req.text, "");
	assert_int_equal(st.dir_fd, -EBADF);
	assert_int_equal(e.status, -EBADMSG);
}

static void test_run_step_output_reaches_sink(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	uint64_t code = 99;

	queue(f, OP_OUTPUT, 0, "composer install\n");
	queue(f, OP_OUTPUT, 0, "done");
	queue(f, OP_REPLY, 0, NULL)->arg[0] = 2;
	fake_start(f);
	assert_int_equal(client_run_step(&f->client, 3, &code, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_RUN_STEP);
	assert_int_equal(f->req.arg[0], 3);
	assert_int_equal(code, 2);
	assert_int_equal(f->output_calls, 2);
	assert_string_equal(f->output, "composer install\ndone");
}

static void test_capture_sink(void **state)
{
	struct fake *f = *state;
	struct client_fpm_inspect_result res;
	struct client_capture cap = { 0 };
	struct client_sink saved;
	struct helper_error e;
	struct proto_msg *m;

	queue(f, OP_OUTPUT, 0, "NOTICE: [global]\n");
	queue(f, OP_OUTPUT, 0, "NOTICE: \tprocess_control_timeout = 10s\n");
	m = queue(f, OP_REPLY, 0, "/etc/php/8.2/fpm/php-fpm.conf");
	m->arg[0] = 1234;
	fake_start(f);
	saved = client_set_output(&f->client, client_capture_sink(&cap));
	assert_int_equal(client_fpm_inspect(&f->client, &res, &e), 0);
	client_set_output(&f->client, saved);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_INSPECT);
	assert_int_equal(res.master_pid, 1234);
	assert_string_equal(res.config, "/etc/php/8.2/fpm/php-fpm.conf");
	assert_string_equal(cap.buf, "NOTICE: [global]\nNOTICE: \tprocess_control_timeout = 10s\n");
	assert_false(cap.truncated);
	/* Captured, not printed. */
	assert_int_equal(f->output_calls, 0);
	assert_true(f->client.output.fn == sink);
	client_capture_reset(&cap);
	assert_int_equal(cap.len, 0);
	assert_string_equal(cap.buf, "");
	client_capture_free(&cap);
	assert_null(cap.buf);
}

static void test_fpm_reload_splits_children(void **state)
{
	struct fake *f = *state;
	struct client_fpm_reload_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, NULL);
	m->arg[0] = 1500000;
	m->arg[1] = 700000;
	m->arg[2] = 3u | (uint64_t)5u << 32;
	fake_start(f);
	assert_int_equal(client_fpm_reload(&f->client, true, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_RELOAD);
	assert_int_equal(f->req.arg[0], 1);
	assert_int_equal(res.old_gone_ns, 1500000);
	assert_int_equal(res.new_child_ns, 700000);
	assert_int_equal(res.old_children, 3);
	assert_int_equal(res.new_children, 5);
}

static void test_fpm_reload_failure_keeps_progress(void **state)
{
	struct fake *f = *state;
	struct client_fpm_reload_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -ETIMEDOUT, "the php-fpm reload did not complete within 10 s");
	m->arg[2] = 0xffffffffu | (uint64_t)7u << 32;
	fake_start(f);
	assert_int_equal(client_fpm_reload(&f->client, false, &res, &e), -ETIMEDOUT);
	fake_join(f);
	assert_int_equal(f->req.arg[0], 0);
	assert_int_equal(res.old_children, 0xffffffffu);
	assert_int_equal(res.new_children, 7);
	assert_int_equal(e.status, -ETIMEDOUT);
	assert_string_equal(e.subject, "the php-fpm reload did not complete within 10 s");
}

static void test_status_parses_live_mount(void **state)
{
	struct fake *f = *state;
	struct client_status st;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, "ro,nosuid,relatime\t/srv/shop/releases/" ID1);
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[0] = 2;
	m->arg[1] = 1;
	m = queue(f, OP_REPLY, 0, "alice (pid 42)");
	str_copy(m->id, sizeof(m->id), ID1);
	str_copy(m->id2, sizeof(m->id2), ID2);
	m->arg[0] = 1;
	fake_start(f);
	assert_int_equal(client_status(&f->client, &st, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_STATUS);
	assert_string_equal(st.current, ID1);
	assert_string_equal(st.previous, ID2);
	assert_string_equal(st.lock_holder, "alice (pid 42)");
	assert_int_equal(st.mode, 1);
	assert_true(st.set_up);
	assert_false(st.current_broken);
	assert_true(st.live.known);
	assert_int_equal(st.live.stacked, 2);
	assert_true(st.live.root_shared);
	assert_string_equal(st.live.release, ID1);
	assert_string_equal(st.live.options, "ro,nosuid,relatime");
	assert_string_equal(st.live.root, "/srv/shop/releases/" ID1);
}

static void test_status_broken_current_and_not_set_up(void **state)
{
	struct fake *f = *state;
	struct client_status st;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -EUCLEAN, NULL);
	str_copy(m->id2, sizeof(m->id2), ID2);
	m->arg[1] = 1;
	fake_start(f);
	assert_int_equal(client_status(&f->client, &st, &e), 0);
	fake_join(f);
	assert_true(st.current_broken);
	assert_string_equal(st.current, "");
	assert_string_equal(st.previous, ID2);
	assert_false(st.set_up);
	assert_false(st.live.known);
	assert_string_equal(st.lock_holder, "");
}

static void test_switch(void **state)
{
	struct fake *f = *state;
	struct client_switch_result sw;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	str_copy(m->id2, sizeof(m->id2), ID2);
	m->arg[1] = 120000;
	m->arg[2] = 450000;
	m->arg[3] = 1;
	fake_start(f);
	assert_int_equal(client_switch(&f->client, ID1, "/tmp/app.tar.gz", 2500, &sw, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_SWITCH);
	assert_string_equal(f->req.id, ID1);
	assert_string_equal(f->req.text, "/tmp/app.tar.gz");
	assert_int_equal(f->req.arg[0], 2500);
	assert_string_equal(sw.to, ID1);
	assert_string_equal(sw.from, ID2);
	assert_int_equal(sw.visible_ns, 120000);
	assert_int_equal(sw.durable_ns, 450000);
	assert_true(sw.fpm_entered);
	assert_false(sw.partial);
}

static void test_rollback_partial(void **state)
{
	struct fake *f = *state;
	struct client_switch_result sw;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -EXDEV, "release " ID2 " is live at /srv/shop/live but not in php-fpm's namespace");
	str_copy(m->id, sizeof(m->id), ID2);
	str_copy(m->id2, sizeof(m->id2), ID1);
	m->arg[1] = 1000;
	fake_start(f);
	assert_int_equal(client_rollback(&f->client, NULL, NULL, 0, &sw, &e), -EXDEV);
	fake_join(f);
	assert_int_equal(f->req.op, OP_ROLLBACK);
	assert_string_equal(f->req.id, "");
	assert_string_equal(f->req.text, "");
	assert_true(sw.partial);
	assert_string_equal(sw.to, ID2);
	assert_string_equal(sw.from, ID1);
	assert_int_equal(sw.visible_ns, 1000);
	assert_false(sw.fpm_entered);
	assert_int_equal(e.status, -EXDEV);
	assert_string_equal(e.subject, "release " ID2 " is live at /srv/shop/live but not in php-fpm's namespace");
	assert_false(client_lost(&f->client));
}

struct pruned {
	char ids[4][PROTO_ID_SIZE];
	uint64_t bytes[4];
	size_t n;
};

static void on_pruned(void *ctx, const char *id, uint64_t bytes)
{
	struct pruned *p = ctx;

	assert_true(p->n < ELEMENTSOF(p->ids));
	str_copy(p->ids[p->n], sizeof(p->ids[p->n]), id);
	p->bytes[p->n++] = bytes;
}

static void test_prune(void **state)
{
	struct fake *f = *state;
	struct client_prune_result res;
	struct pruned p = { .n = 0 };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[0] = 4096;
	m = queue(f, OP_ENTRY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID2);
	m->arg[0] = 8192;
	m = queue(f, OP_REPLY, 0, NULL);
	m->arg[0] = 12288;
	m->arg[1] = 2;
	fake_start(f);
	assert_int_equal(client_prune(&f->client, 3, on_pruned, &p, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_PRUNE);
	assert_int_equal(f->req.arg[0], 3);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.ids[0], ID1);
	assert_int_equal(p.bytes[0], 4096);
	assert_string_equal(p.ids[1], ID2);
	assert_int_equal(p.bytes[1], 8192);
	assert_int_equal(res.freed, 12288);
	assert_int_equal(res.removed, 2);
}

struct listed {
	struct client_release r[4];
	size_t n;
};

static void on_release(void *ctx, const struct client_release *r)
{
	struct listed *l = ctx;

	assert_true(l->n < ELEMENTSOF(l->r));
	l->r[l->n++] = *r;
}

static void test_list(void **state)
{
	struct fake *f = *state;
	struct listed l = { .n = 0 };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[0] = 1764130256000000000ull;
	m->arg[1] = 1 << 20;
	m->arg[2] = 312;
	m->arg[3] = RELEASE_FROZEN | RELEASE_FLAG_CURRENT;
	m = queue(f, OP_ENTRY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID2);
	m->arg[3] = RELEASE_FAILED | RELEASE_FLAG_PREVIOUS;
	queue(f, OP_END, 0, NULL);
	fake_start(f);
	assert_int_equal(client_list(&f->client, on_release, &l, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_LIST);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.r[0].id, ID1);
	assert_int_equal(l.r[0].created_ns, 1764130256000000000ull);
	assert_int_equal(l.r[0].bytes, 1 << 20);
	assert_int_equal(l.r[0].files, 312);
	assert_int_equal(l.r[0].state, RELEASE_FROZEN);
	assert_true(l.r[0].current);
	assert_false(l.r[0].previous);
	assert_string_equal(l.r[1].id, ID2);
	assert_int_equal(l.r[1].state, RELEASE_FAILED);
	assert_false(l.r[1].current);
	assert_true(l.r[1].previous);
}

/* Failed and unhealthy releases carry the helper's reason after a tab;
 * the usage before it still parses, and the reason arrives escaped. */
static void test_list_reasons(void **state)
{
	struct fake *f = *state;
	struct listed l = { .n = 0 };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, "1000 2000\thealth check failed: 500");
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[3] = RELEASE_FROZEN | RELEASE_FLAG_UNHEALTHY;
	m = queue(f, OP_ENTRY, 0, "\tbuild step 2 \x1b[2J failed");
	str_copy(m->id, sizeof(m->id), ID2);
	m->arg[3] = RELEASE_FAILED;
	queue(f, OP_END, 0, NULL);
	fake_start(f);
	assert_int_equal(client_list(&f->client, on_release, &l, &e), 0);
	fake_join(f);
	assert_int_equal(l.n, 2);
	assert_true(l.r[0].unhealthy);
	assert_true(l.r[0].has_usage);
	assert_int_equal(l.r[0].own, 1000);
	assert_int_equal(l.r[0].shared, 2000);
	assert_string_equal(l.r[0].reason, "health check failed: 500");
	assert_false(l.r[1].unhealthy);
	assert_false(l.r[1].has_usage);
	assert_null(strchr(l.r[1].reason, '\x1b'));
	assert_non_null(strstr(l.r[1].reason, "build step 2"));
}

/* The new requests: what they carry. */
static void test_report_log_and_auto_rollback(void **state)
{
	struct fake *f = *state;
	struct client_switch_result sw;
	struct helper_error e;
	uint64_t size = 0;
	int fd = -EBADF, p[2];

	queue(f, OP_REPLY, 0, NULL);
	fake_start(f);
	assert_int_equal(client_report(&f->client, REPORT_UNHEALTHY, "health check failed", 1500, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_REPORT);
	assert_int_equal(f->req.arg[0], REPORT_UNHEALTHY);
	assert_int_equal(f->req.arg[1], 1500);
	assert_string_equal(f->req.text, "health check failed");

	f->n_out = 0;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	queue(f, OP_REPLY, 0, NULL)->arg[0] = 42;
	queue_fd(f, p[0]);
	fake_start(f);
	assert_int_equal(client_log(&f->client, ID2, &fd, &size, &e), 0);
	fake_join(f);
	close(p[1]);
	assert_int_equal(f->req.op, OP_LOG_READ);
	assert_string_equal(f->req.id, ID2);
	assert_true(fd >= 0);
	assert_int_equal(size, 42);
	close(fd);

	f->n_out = 0;
	queue(f, OP_REPLY, -ENOENT, NULL);
	fake_start(f);
	fd = -EBADF;
	assert_int_equal(client_log(&f->client, ID1, &fd, &size, &e), -ENOENT);
	fake_join(f);
	assert_int_equal(fd, -EBADF);

	f->n_out = 0;
	{
		struct proto_msg *m = queue(f, OP_REPLY, 0, NULL);

		str_copy(m->id, sizeof(m->id), ID1);
		str_copy(m->id2, sizeof(m->id2), ID2);
	}
	fake_start(f);
	assert_int_equal(client_rollback_auto(&f->client, "health check failed: 500", &sw, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_ROLLBACK);
	assert_int_equal(f->req.arg[1], 1);
	assert_string_equal(f->req.id, "");
	assert_string_equal(f->req.text, "health check failed: 500");
	assert_string_equal(sw.to, ID1);
}

/* A listing the helper could not read ends with a failed REPLY, not END:
 * client_list hands it on (verb_list prints it and exits 1), keeping what
 * was listed before it, and the conversation goes on. */
static void test_list_failure_is_a_helper_error(void **state)
{
	struct fake *f = *state;
	struct listed l = { .n = 0 };
	struct helper_error e;
	struct proto_msg *m;
	char why[256];

	m = queue(f, OP_ENTRY, 0, NULL);
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[3] = RELEASE_FROZEN;
	m = queue(f, OP_REPLY, -EACCES, NULL);
	m->error = ERR_OP_FAILED;
	m->arg[0] = OP_LIST;
	fake_start(f);
	assert_int_equal(client_list(&f->client, on_release, &l, &e), -EACCES);
	fake_join(f);
	assert_false(client_lost(&f->client));
	assert_int_equal(l.n, 1);
	assert_int_equal(e.status, -EACCES);
	assert_int_equal(e.code, ERR_OP_FAILED);
	messages_format(&e, NULL, why, sizeof(why));
	assert_string_equal(why, "list failed: Permission denied");
}

static void on_problem(void *ctx, const struct helper_error *problem)
{
	char *buf = ctx, line[256];

	messages_format_note(problem, NULL, line, sizeof(line));
	strcat(buf, line);
	strcat(buf, "|");
}

static void test_check_problems(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	char seen[256] = "";

	queue(f, OP_ENTRY, 0, NULL)->error = ERR_CHECK_NO_SHELL;
	queue(f, OP_ENTRY, 0, NULL)->error = ERR_CHECK_MOUNT_TABLE;
	queue(f, OP_ENTRY, 0, "ROOT is not a directory")->error = ERR_CHECK_BIND;
	queue(f, OP_REPLY, -EINVAL, NULL);
	fake_start(f);
	assert_int_equal(client_check(&f->client, on_problem, seen, &e), -EINVAL);
	fake_join(f);
	assert_int_equal(f->req.op, OP_CHECK);
	assert_string_equal(seen, "/bin/sh is missing: build steps cannot run|cannot read the mount table|"
				  "ROOT is not a directory|");
	assert_false(client_lost(&f->client));
}

/* A failed php-fpm -t: php-fpm's line comes in an ENTRY before the REPLY,
 * and ends up in the error's detail, worded with the config path. */
static void test_fpm_test_failure_carries_the_line(void **state)
{
	struct fake *f = *state;
	struct client_fpm_reload_result res;
	struct helper_error e;
	struct proto_msg *m;
	char why[2048];

	queue(f, OP_OUTPUT, 0, "[27-Nov-2026] ERROR: ...\n");
	queue(f, OP_ENTRY, 0, "[/etc/php/fpm.conf:12] unknown entry 'bogus_directive'")->error = ERR_FPM_TEST;
	m = queue(f, OP_REPLY, -EIO, "/etc/php/fpm.conf");
	m->error = ERR_FPM_TEST;
	m->arg[1] = 1;
	fake_start(f);
	assert_int_equal(client_fpm_reload(&f->client, true, &res, &e), -EIO);
	fake_join(f);
	assert_false(client_lost(&f->client));
	assert_int_equal(e.code, ERR_FPM_TEST);
	messages_format(&e, NULL, why, sizeof(why));
	assert_string_equal(why, "php-fpm -t of /etc/php/fpm.conf failed (configuration invalid): "
				 "[/etc/php/fpm.conf:12] unknown entry 'bogus_directive'; reload refused, the pool keeps serving");
}

static void test_fpm_request_hands_over_socket(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	int p[2], fd = -EBADF;
	char c = 0;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	queue(f, OP_REPLY, 0, NULL);
	queue_fd(f, p[0]);
	fake_start(f);
	assert_int_equal(client_fpm_request(&f->client, FPM_REQ_PRECHECK, ID1, &fd, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_REQUEST);
	assert_int_equal(f->req.arg[0], FPM_REQ_PRECHECK);
	assert_string_equal(f->req.id, ID1);
	assert_true(fd >= 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(fd);
	close(p[1]);
}

static void test_hook_and_migrate_requests(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	uint64_t code = 0;

	queue(f, OP_REPLY, 0, NULL)->arg[0] = 1;
	fake_start(f);
	assert_int_equal(client_hook(&f->client, true, 4, &code, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_HOOK);
	assert_int_equal(f->req.arg[0], 1);
	assert_int_equal(f->req.arg[1], 4);
	assert_int_equal(code, 1);

	f->n_out = 0;
	queue(f, OP_REPLY, 0, NULL);
	fake_start(f);
	assert_int_equal(client_migrate(&f->client, CLIENT_MIGRATE_VERIFY, &code, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_MIGRATE);
	assert_int_equal(f->req.arg[0], 2);
	assert_int_equal(code, 0);
}

static void test_mount(void **state)
{
	struct fake *f = *state;
	struct client_mount_result mr;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, ID1);
	m->error = ERR_NOTE_REPAIRED;
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[0] = 2;
	m->arg[1] = 1;
	m->arg[2] = 0;
	fake_start(f);
	assert_int_equal(client_mount(&f->client, &mr, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_MOUNT);
	assert_string_equal(mr.release, ID1);
	assert_int_equal(mr.note.code, ERR_NOTE_REPAIRED);
	assert_string_equal(mr.note.subject, ID1);
	assert_int_equal(mr.note.arg[0], 2);
	assert_int_equal(mr.unstacked, 2);
	assert_true(mr.mounted);
	assert_false(mr.fpm_namespace);
}

static void test_fetch_git_too_long_is_refused_locally(void **state)
{
	struct fake *f = *state;
	char url[PROTO_TEXT_SIZE + 10];
	struct helper_error e;
	uint64_t code = 0;

	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	assert_int_equal(client_fetch_git(&f->client, url, &code, &e), -ENAMETOOLONG);
	assert_string_equal(e.subject, "--from git+URL#REF is too long");
	assert_false(client_lost(&f->client));
}

/* ---- the conversation breaking --------------------------------------- */

static void test_helper_lost(void **state)
{
	struct fake *f = *state;
	struct client_freeze_result fr;
	struct helper_error e;

	f->hang_up = true;
	fake_start(f);
	assert_int_equal(client_freeze(&f->client, &fr, &e), -ECONNRESET);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FREEZE);
	assert_true(client_lost(&f->client));
	assert_int_equal(f->client.state, CLIENT_LOST);
	assert_int_equal(e.status, -ECONNRESET);
	/* Nothing more is asked of a helper that is gone. */
	assert_int_equal(client_link_shared(&f->client, &e), -ECONNRESET);
}

static void test_helper_lost_mid_output(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	uint64_t code = 0;

	queue(f, OP_OUTPUT, 0, "partial");
	f->hang_up = true;
	fake_start(f);
	assert_int_equal(client_run_step(&f->client, 0, &code, &e), -ECONNRESET);
	fake_join(f);
	assert_string_equal(f->output, "partial");
	assert_true(client_lost(&f->client));
}

static void test_unexpected_reply_op(void **state)
{
	struct fake *f = *state;
	struct client_lock_result res;
	struct helper_error e;

	/* END answers only a listing. */
	queue(f, OP_END, 0, NULL);
	fake_start(f);
	assert_int_equal(client_lock(&f->client, 0, &res, &e), -EPROTO);
	fake_join(f);
	assert_true(client_lost(&f->client));
	assert_int_equal(f->client.state, CLIENT_PROTOCOL_ERROR);
	assert_non_null(strstr(e.subject, "'lock' with 'end'"));
}

static void test_unexpected_entry(void **state)
{
	struct fake *f = *state;
	struct client_freeze_result fr;
	struct helper_error e;

	queue(f, OP_ENTRY, 0, NULL);
	queue(f, OP_REPLY, 0, NULL);
	fake_start(f);
	assert_int_equal(client_freeze(&f->client, &fr, &e), -EPROTO);
	fake_join(f);
	assert_int_equal(f->client.state, CLIENT_PROTOCOL_ERROR);
}

static void test_reader_op_as_reply(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	int fd = -EBADF;

	queue(f, OP_SOURCE_FILE, 0, NULL);
	fake_start(f);
	assert_int_equal(client_history(&f->client, &fd, &e), -EPROTO);
	fake_join(f);
	assert_int_equal(fd, -EBADF);
	assert_true(client_lost(&f->client));
}

static void test_hello(void **state)
{
	struct fake *f = *state;
	struct helper_error e;

	f->no_request = true;
	queue(f, OP_REPLY, -ENOENT, "cannot read /etc/cutover/shop.conf");
	fake_start(f);
	assert_int_equal(client_hello(&f->client, &e), -ENOENT);
	fake_join(f);
	assert_string_equal(e.subject, "cannot read /etc/cutover/shop.conf");
	assert_false(client_lost(&f->client));
}

static void test_hello_lost(void **state)
{
	struct fake *f = *state;
	struct helper_error e;

	f->no_request = true;
	f->hang_up = true;
	fake_start(f);
	assert_int_equal(client_hello(&f->client, &e), -ECONNRESET);
	fake_join(f);
	assert_true(client_lost(&f->client));
}

/* ---- the source reader ---------------------------------------------- */

struct reader_run {
	int sock;
	int cwd_fd;
	const char *from;    /* --from, as the launcher hands it to the reader */
	pthread_t thread;
	bool started;
	int r;
};

static void *reader_main(void *arg)
{
	struct reader_run *rr = arg;

	rr->r = reader_serve(rr->sock, rr->cwd_fd, rr->from);
	return NULL;
}

struct reader_fixture {
	char dir[64];
	int cwd_fd;
	int sv[2];
	struct reader_run run;
};

static int reader_setup(void **state)
{
	struct reader_fixture *rf = calloc(1, sizeof(*rf));
	int fd;

	if (!rf)
		return -1;
	snprintf(rf->dir, sizeof(rf->dir), "/tmp/test_client.XXXXXX");
	if (!mkdtemp(rf->dir))
		return -1;
	rf->cwd_fd = open(rf->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = openat(rf->cwd_fd, "app.tar", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (rf->cwd_fd < 0 || fd < 0 || write(fd, "tar!", 4) != 4)
		return -1;
	close(fd);
	if (mkdirat(rf->cwd_fd, "tree", 0755) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rf->sv) < 0)
		return -1;
	rf->run = (struct reader_run) { .sock = rf->sv[1], .cwd_fd = rf->cwd_fd };
	*state = rf;
	return 0;
}

/* Starts the reader as the launcher does, for --from FROM. */
static void reader_start(struct reader_fixture *rf, const char *from)
{
	rf->run.from = from;
	assert_int_equal(pthread_create(&rf->run.thread, NULL, reader_main, &rf->run), 0);
	rf->run.started = true;
}

static int reader_teardown(void **state)
{
	struct reader_fixture *rf = *state;

	close(rf->sv[0]);   /* a reader still waiting sees EOF */
	if (rf->run.started)
		pthread_join(rf->run.thread, NULL);
	close(rf->sv[1]);
	unlinkat(rf->cwd_fd, "app.tar", 0);
	unlinkat(rf->cwd_fd, "tree", AT_REMOVEDIR);
	close(rf->cwd_fd);
	rmdir(rf->dir);
	free(rf);
	return 0;
}

static void test_source_file(void **state)
{
	struct reader_fixture *rf = *state;
	struct source_open_result src = { .fd = -EBADF };
	char err[256] = "", buf[8] = "";

	reader_start(rf, "app.tar");
	assert_int_equal(source_client_open(rf->sv[0], "app.tar", &src, err, sizeof(err)), 0);
	assert_false(src.is_tree);
	assert_int_equal(read(src.fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "tar!");
	close(src.fd);
}

static void test_source_tree(void **state)
{
	struct reader_fixture *rf = *state;
	struct source_open_result src = { .fd = -EBADF };
	char err[256] = "", buf[4096];
	ssize_t n, total = 0;

	reader_start(rf, "tree");
	assert_int_equal(source_client_open(rf->sv[0], "tree", &src, err, sizeof(err)), 0);
	assert_true(src.is_tree);
	while ((n = read(src.fd, buf, sizeof(buf))) > 0)
		total += n;
	assert_true(total > 0);   /* a tar stream, with at least its end blocks */
	close(src.fd);
	assert_int_equal(source_client_finish(rf->sv[0], err, sizeof(err)), 0);
}

static void test_source_missing(void **state)
{
	struct reader_fixture *rf = *state;
	struct source_open_result src = { .fd = -EBADF };
	char err[256] = "";

	reader_start(rf, "nope.tar");
	assert_int_equal(source_client_open(rf->sv[0], "nope.tar", &src, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot open nope.tar as the invoking user: No such file or directory");
	assert_int_equal(src.fd, -EBADF);
}

static void test_reader_refuses_other_ops(void **state)
{
	struct reader_fixture *rf = *state;
	struct proto_msg req, rep;

	reader_start(rf, "app.tar");
	/* The reader answers only OP_SOURCE_OPEN, whatever the text says. */
	proto_init(&req, OP_REPLY);
	str_copy(req.text, sizeof(req.text), "app.tar");
	req.len = 7;
	assert_int_equal(proto_send(rf->sv[0], &req, -1), 0);
	assert_int_equal(proto_recv(rf->sv[0], &rep, NULL), 0);
	assert_int_equal(rep.op, OP_REPLY);
	assert_int_equal(rep.status, -EPROTO);
	assert_non_null(strstr(rep.text, "source-open"));
}

static void test_reader_refuses_other_paths(void **state)
{
	struct reader_fixture *rf = *state;
	struct source_open_result src = { .fd = -EBADF };
	char err[256] = "";

	/* A front end that went wrong asks for something else than --from. */
	reader_start(rf, "app.tar");
	assert_int_equal(source_client_open(rf->sv[0], "/etc/shadow", &src, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "the source reader opens only --from, not /etc/shadow");
	assert_int_equal(src.fd, -EBADF);
}

static void test_source_no_reader(void **state)
{
	struct source_open_result src = { .fd = -EBADF };
	char err[64] = "";

	assert_int_equal(source_client_open(-1, "app.tar", &src, err, sizeof(err)), -EBADF);
	assert_string_equal(err, "");
}

/* ---- reload = swap: the pool slots ----------------------------------- */

struct slots_seen {
	struct client_fpm_slot s[4];
	size_t n;
};

static void on_slot(void *ctx, const struct client_fpm_slot *s)
{
	struct slots_seen *seen = ctx;

	assert_true(seen->n < ELEMENTSOF(seen->s));
	seen->s[seen->n++] = *s;
}

static void test_fpm_slots(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slots_result res;
	struct slots_seen seen = { 0 };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, "a");
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[0] = 4242;
	m->arg[1] = FPM_SLOT_LIVE;
	m->arg[2] = 24576;
	m->arg[3] = 0;
	m = queue(f, OP_ENTRY, 0, "b");
	str_copy(m->id, sizeof(m->id), ID2);
	m->arg[0] = 4300;
	m->arg[1] = FPM_SLOT_WARM;
	m->arg[2] = 12000;
	m->arg[3] = 42;
	m = queue(f, OP_REPLY, 0, "a");
	str_copy(m->id, sizeof(m->id), ID1);
	fake_start(f);
	assert_int_equal(client_fpm_slots(&f->client, on_slot, &seen, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_SLOTS);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.s[0].slot, 'a');
	assert_string_equal(seen.s[0].release, ID1);
	assert_int_equal(seen.s[0].master_pid, 4242);
	assert_int_equal(seen.s[0].state, FPM_SLOT_LIVE);
	assert_int_equal(seen.s[0].pss_kb, 24576);
	assert_int_equal(seen.s[1].slot, 'b');
	assert_int_equal(seen.s[1].state, FPM_SLOT_WARM);
	assert_int_equal(seen.s[1].warm_seconds, 42);
	assert_int_equal(res.live_slot, 'a');
	assert_string_equal(res.live_release, ID1);
}

static void test_fpm_slots_none_live_and_unknown_state(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slots_result res;
	struct slots_seen seen = { 0 };
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_ENTRY, 0, "a");
	m->arg[1] = FPM_SLOT_STOPPING;
	m = queue(f, OP_ENTRY, 0, "b");
	m->arg[1] = 77;   /* a state this front end does not know */
	queue(f, OP_REPLY, 0, "");
	fake_start(f);
	assert_int_equal(client_fpm_slots(&f->client, on_slot, &seen, &res, &e), 0);
	fake_join(f);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.s[0].state, FPM_SLOT_STOPPING);
	assert_int_equal(seen.s[1].state, FPM_SLOT_FAILED);
	assert_string_equal(seen.s[1].release, "");
	assert_int_equal(res.live_slot, 0);
}

static void test_fpm_slots_bad_slot_breaks(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slots_result res;
	struct helper_error e;

	queue(f, OP_ENTRY, 0, "c");
	queue(f, OP_REPLY, 0, "");
	fake_start(f);
	assert_int_equal(client_fpm_slots(&f->client, NULL, NULL, &res, &e), -EBADMSG);
	fake_join(f);
	assert_true(client_lost(&f->client));
}

static void test_fpm_slots_refused(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slots_result res;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE];
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -EOPNOTSUPP, "reload = swap is not built yet");
	m->error = ERR_FPM_SLOT;
	fake_start(f);
	assert_int_equal(client_fpm_slots(&f->client, NULL, NULL, &res, &e), -EOPNOTSUPP);
	fake_join(f);
	assert_false(client_lost(&f->client));
	messages_format(&e, NULL, why, sizeof(why));
	assert_string_equal(why, "reload = swap is not built yet");
}

static void test_fpm_slot_start(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_start_result res;
	struct helper_error e;
	struct proto_msg *m;

	queue(f, OP_OUTPUT, 0, "NOTICE: [global]\n");
	m = queue(f, OP_REPLY, 0, "b");
	str_copy(m->id, sizeof(m->id), ID2);
	m->arg[0] = 5150;
	m->arg[1] = 212;
	m->arg[2] = 0;
	m->arg[3] = 51200;
	fake_start(f);
	assert_int_equal(client_fpm_slot_start(&f->client, ID2, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_SLOT_START);
	assert_string_equal(f->req.id, ID2);
	assert_int_equal(res.slot, 'b');
	assert_string_equal(res.release, ID2);
	assert_int_equal(res.master_pid, 5150);
	assert_int_equal(res.ready_ms, 212);
	assert_false(res.already_warm);
	assert_int_equal(res.need_kb, 51200);
	assert_string_equal(f->output, "NOTICE: [global]\n");
}

static void test_fpm_slot_start_default_and_warm(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_start_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, "a");
	str_copy(m->id, sizeof(m->id), ID1);
	m->arg[2] = 1;
	fake_start(f);
	assert_int_equal(client_fpm_slot_start(&f->client, NULL, &res, &e), 0);
	fake_join(f);
	assert_string_equal(f->req.id, "");
	assert_true(res.already_warm);
	assert_int_equal(res.slot, 'a');
}

static void test_fpm_slot_start_memory_refusal(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_start_result res;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE];
	struct proto_msg *m;

	m = queue(f, OP_REPLY, -ENOMEM, NULL);
	m->error = ERR_FPM_MEMORY;
	m->arg[0] = 300 * 1024;
	m->arg[1] = 100 * 1024;
	fake_start(f);
	assert_int_equal(client_fpm_slot_start(&f->client, ID1, &res, &e), -ENOMEM);
	fake_join(f);
	messages_format(&e, NULL, why, sizeof(why));
	assert_non_null(strstr(why, "a second php-fpm pool needs about 300 MB, 100 MB available"));
}

static void test_fpm_slot_start_reply_without_slot_breaks(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_start_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, "");
	str_copy(m->id, sizeof(m->id), ID1);
	fake_start(f);
	assert_int_equal(client_fpm_slot_start(&f->client, ID1, &res, &e), -EBADMSG);
	fake_join(f);
	assert_true(client_lost(&f->client));
}

static void test_fpm_slot_retire(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_retire_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, NULL);
	m->arg[0] = 6500;
	m->arg[1] = 1;
	m->arg[2] = 3;
	fake_start(f);
	assert_int_equal(client_fpm_slot_retire(&f->client, 'a', true, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_SLOT_RETIRE);
	assert_string_equal(f->req.text, "a");
	assert_int_equal(f->req.arg[0], 1);
	assert_int_equal(res.queue_us, 6500);
	assert_true(res.stopped);
	assert_int_equal(res.still_queued, 3);
}

static void test_fpm_slot_retire_keep_warm_and_bad_slot(void **state)
{
	struct fake *f = *state;
	struct client_fpm_slot_retire_result res;
	struct helper_error e;

	/* refused here, before anything is sent */
	assert_int_equal(client_fpm_slot_retire(&f->client, 'x', false, &res, &e), -EINVAL);
	assert_false(client_lost(&f->client));
	queue(f, OP_REPLY, 0, NULL);
	fake_start(f);
	assert_int_equal(client_fpm_slot_retire(&f->client, 'b', false, &res, &e), 0);
	fake_join(f);
	assert_string_equal(f->req.text, "b");
	assert_int_equal(f->req.arg[0], 0);
	assert_false(res.stopped);
}

static void test_fpm_live(void **state)
{
	struct fake *f = *state;
	struct client_fpm_live_result res;
	struct helper_error e;
	struct proto_msg *m;

	m = queue(f, OP_REPLY, 0, "b");
	m->arg[0] = 48000;
	fake_start(f);
	assert_int_equal(client_fpm_live(&f->client, &res, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.op, OP_FPM_LIVE);
	assert_int_equal(res.slot, 'b');
	assert_int_equal(res.rename_ns, 48000);
}

static void test_fpm_request_at_sends_index(void **state)
{
	struct fake *f = *state;
	struct helper_error e;
	int p[2], fd = -EBADF;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	queue(f, OP_REPLY, 0, NULL);
	queue_fd(f, p[0]);
	fake_start(f);
	assert_int_equal(client_fpm_request_at(&f->client, FPM_REQ_SLOT_WARM, NULL, 3, &fd, &e), 0);
	fake_join(f);
	assert_int_equal(f->req.arg[0], FPM_REQ_SLOT_WARM);
	assert_int_equal(f->req.arg[1], 3);
	assert_true(fd >= 0);
	close(fd);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy_is_a_helper_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_begin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_begin_without_fd_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_step_output_reaches_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_reload_splits_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_reload_failure_keeps_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_parses_live_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_broken_current_and_not_set_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_log_and_auto_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_failure_is_a_helper_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_test_failure_carries_the_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_request_hands_over_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_and_migrate_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_git_too_long_is_refused_locally, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helper_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helper_lost_mid_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_reply_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_op_as_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_file, reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_source_tree, reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_source_missing, reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_other_ops, reader_setup, reader_teardown),
		cmocka_unit_test_setup_teardown(test_reader_refuses_other_paths, reader_setup, reader_teardown),
		cmocka_unit_test(test_source_no_reader),
		cmocka_unit_test_setup_teardown(test_fpm_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slots_none_live_and_unknown_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slots_bad_slot_breaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slots_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_start_default_and_warm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_start_memory_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_start_reply_without_slot_breaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_slot_retire_keep_warm_and_bad_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fpm_request_at_sends_index, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
