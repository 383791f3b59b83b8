/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/swap.c (reload = swap from the front end):
 * the order of the helper requests of a swap and what a failure does, with
 * a scripted fake helper in a thread (it answers every request by its op,
 * and hands over a socket with a canned FastCGI answer for FPM_REQUEST);
 * the warm-up judgement; the "pool" JSON; status's slot lines; and the
 * scan of an nginx configuration tree for fastcgi_keep_conn on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fcgi.h"
#include "fcgi_response.h"
#include "messages.h"
#include "output.h"
#include "proto.h"
#include "swap.h"
#include "util.h"

#define ID_OLD "20261126T041056Z"
#define ID_NEW "20261207T030000Z-v2"

/* ---- a scripted helper ------------------------------------------------ */

struct script {
	int sv[2];
	pthread_t thread;
	/* how to answer */
	char live_slot;             /* FPM_SLOTS: 0 none */
	bool start_warm;            /* FPM_SLOT_START: already warm */
	int start_status;           /* < 0: refuse with ERR_FPM_SLOT */
	int precheck_http;          /* FPM_REQUEST SLOT_PRECHECK answers this */
	int warm_http;              /* FPM_REQUEST SLOT_WARM answers this; 0: closes without an answer */
	/* what was asked */
	unsigned ops[64];
	uint64_t arg0[64], arg1[64];
	char text[64][4];
	char id[64][PROTO_ID_SIZE];
	size_t n;
};

/* A socket with one FastCGI answer in it, as the helper hands one over. */
static int fcgi_answer(int http)
{
	uint8_t hdr[FCGI_HEADER_LEN], end[8] = { 0 };
	char out[128];
	int sv[2], n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	if (http) {
		n = snprintf(out, sizeof(out), "Status: %d Whatever\r\nContent-type: text/html\r\n\r\nbody", http);
		fcgi_header_encode(hdr, FCGI_STDOUT, 1, (uint16_t)n, 0);
		assert_int_equal(write(sv[1], hdr, sizeof(hdr)), sizeof(hdr));
		assert_int_equal(write(sv[1], out, (size_t)n), n);
		fcgi_header_encode(hdr, FCGI_END_REQUEST, 1, sizeof(end), 0);
		assert_int_equal(write(sv[1], hdr, sizeof(hdr)), sizeof(hdr));
		assert_int_equal(write(sv[1], end, sizeof(end)), sizeof(end));
	}
	close(sv[1]);
	return sv[0];
}

static void answer(struct script *s, const struct proto_msg *req)
{
	struct proto_msg rep;
	int fd = -1;

	proto_init(&rep, OP_REPLY);
	switch (req->op) {
	case OP_FPM_SLOTS: {
		struct proto_msg e;

		for (char slot = 'a'; slot <= 'b'; slot++) {
			proto_init(&e, OP_ENTRY);
			e.text[0] = slot;
			e.len = 1;
			if (slot == s->live_slot) {
				str_copy(e.id, sizeof(e.id), ID_OLD);
				e.arg[0] = 100;
				e.arg[1] = FPM_SLOT_LIVE;
			}
			assert_int_equal(proto_send(s->sv[1], &e, -1), 0);
		}
		if (s->live_slot) {
			rep.text[0] = s->live_slot;
			str_copy(rep.id, sizeof(rep.id), ID_OLD);
		}
		break;
	}
	case OP_FPM_SLOT_START:
		if (s->start_status < 0) {
			rep.status = s->start_status;
			rep.error = ERR_FPM_SLOT;
			str_copy(rep.text, sizeof(rep.text), "reload = swap is not built yet");
			break;
		}
		rep.text[0] = s->live_slot == 'a' ? 'b' : 'a';
		str_copy(rep.id, sizeof(rep.id), req->id[0] ? req->id : ID_OLD);
		rep.arg[0] = 200;
		rep.arg[1] = 150;
		rep.arg[2] = s->start_warm;
		break;
	case OP_FPM_REQUEST:
		fd = fcgi_answer(req->arg[0] == FPM_REQ_SLOT_PRECHECK ? s->precheck_http : s->warm_http);
		break;
	case OP_FPM_SLOT_RETIRE:
		rep.arg[0] = 6500;
		rep.arg[1] = req->arg[0];
		break;
	default:
		rep.status = -EPERM;
		rep.error = ERR_NOT_ALLOWED;
	}
	rep.len = (uint32_t)strlen(rep.text);
	assert_int_equal(proto_send(s->sv[1], &rep, fd), 0);
	if (fd >= 0)
		close(fd);
}

static void *script_main(void *arg)
{
	struct script *s = arg;
	struct proto_msg req;

	while (proto_recv(s->sv[1], &req, NULL) == 0) {
		if (s->n < ELEMENTSOF(s->ops)) {
			s->ops[s->n] = req.op;
			s->arg0[s->n] = req.arg[0];
			s->arg1[s->n] = req.arg[1];
			str_copy(s->text[s->n], sizeof(s->text[0]), req.text);
			str_copy(s->id[s->n], sizeof(s->id[0]), req.id);
			s->n++;
		}
		answer(s, &req);
	}
	return NULL;
}

struct fixture {
	struct script s;
	struct config cfg;
	struct output out;
	struct client client;
	struct reload_env env;
	struct swap_report rep;
	char err[1600];
	char *warm[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->s.sv) < 0)
		return -1;
	config_init(&f->cfg);
	f->cfg.fpm.enabled = true;
	f->cfg.fpm.reload = FPM_RELOAD_SWAP;
	f->cfg.fpm.timeout = 5;
	f->cfg.fpm.keep_warm = 300;
	f->warm[0] = strdup("/");
	f->warm[1] = strdup("/login");
	f->cfg.fpm.warm_urls[0] = f->warm[0];
	f->cfg.fpm.warm_urls[1] = f->warm[1];
	f->cfg.fpm.n_warm_urls = 2;
	f->cfg.fpm.warm_requests = 3;
	f->cfg.health.enabled = true;
	f->cfg.health.precheck = true;
	f->cfg.health.expect_status = 200;
	str_copy(f->cfg.health.url, sizeof(f->cfg.health.url), "http://127.0.0.1/up");
	out_init(&f->out, true, false);
	client_init(&f->client, f->s.sv[0], (struct client_sink) { 0 });
	f->env = (struct reload_env) { .client = &f->client, .cfg = &f->cfg, .out = &f->out };
	f->s.live_slot = 'a';
	f->s.precheck_http = 200;
	f->s.warm_http = 200;
	*state = f;
	return 0;
}

static void run(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->s.thread, NULL, script_main, &f->s), 0);
}

/* Ends the conversation; the script's record is then complete. */
static void finish(struct fixture *f)
{
	shutdown(f->s.sv[0], SHUT_RDWR);
	pthread_join(f->s.thread, NULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->s.sv[0]);
	close(f->s.sv[1]);
	free(f->warm[0]);
	free(f->warm[1]);
	free(f);
	return 0;
}

static size_t count_op(const struct script *s, unsigned op)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->ops[i] == op;
	return n;
}

/* ---- the flow ---------------------------------------------------------- */

static void test_prepare_starts_checks_and_warms(void **state)
{
	struct fixture *f = *state;

	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), 0);
	finish(f);
	assert_int_equal(f->s.ops[0], OP_FPM_SLOTS);
	assert_int_equal(f->s.ops[1], OP_FPM_SLOT_START);
	assert_string_equal(f->s.id[1], ID_NEW);
	assert_int_equal(f->s.ops[2], OP_FPM_REQUEST);
	assert_int_equal(f->s.arg0[2], FPM_REQ_SLOT_PRECHECK);
	assert_string_equal(f->s.id[2], ID_NEW);
	/* every warm URL warm_requests times, all asked for before any answer is read */
	assert_int_equal(f->s.n, 3 + 6);
	for (size_t i = 3; i < 9; i++) {
		assert_int_equal(f->s.ops[i], OP_FPM_REQUEST);
		assert_int_equal(f->s.arg0[i], FPM_REQ_SLOT_WARM);
		assert_int_equal(f->s.arg1[i], (i - 3) % 2);
	}
	assert_int_equal(count_op(&f->s, OP_FPM_SLOT_RETIRE), 0);
	assert_int_equal(f->rep.previous_slot, 'a');
	assert_string_equal(f->rep.previous_release, ID_OLD);
	assert_int_equal(f->rep.n_slots, 2);
	assert_int_equal(f->rep.start.slot, 'b');
	assert_true(f->rep.prechecked);
	assert_int_equal(f->rep.warm_requests, 6);
	assert_false(f->rep.new_retired);
}

static void test_prepare_warm_5xx_stops_the_new_pool(void **state)
{
	struct fixture *f = *state;

	f->s.warm_http = 503;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), -EPROTO);
	finish(f);
	assert_non_null(strstr(f->err, "warm-up of the new php-fpm pool: / answered 503"));
	assert_int_equal(f->s.ops[f->s.n - 1], OP_FPM_SLOT_RETIRE);
	assert_string_equal(f->s.text[f->s.n - 1], "b");
	assert_int_equal(f->s.arg0[f->s.n - 1], 1);   /* stop now */
	assert_true(f->rep.new_retired);
}

static void test_prepare_warm_no_answer_fails(void **state)
{
	struct fixture *f = *state;

	f->s.warm_http = 0;
	run(f);
	assert_true(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)) < 0);
	finish(f);
	assert_non_null(strstr(f->err, "got no answer"));
	assert_true(f->rep.new_retired);
}

static void test_prepare_warm_4xx_is_fine(void **state)
{
	struct fixture *f = *state;

	f->s.warm_http = 404;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), 0);
	finish(f);
	assert_int_equal(f->rep.warm_requests, 6);
}

static void test_prepare_precheck_failure_stops_before_warm_up(void **state)
{
	struct fixture *f = *state;

	f->s.precheck_http = 500;
	run(f);
	assert_true(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)) < 0);
	finish(f);
	assert_non_null(strstr(f->err, "pre-switch check of release " ID_NEW " in the new php-fpm pool returned 500"));
	assert_int_equal(count_op(&f->s, OP_FPM_REQUEST), 1);
	assert_int_equal(f->s.ops[3], OP_FPM_SLOT_RETIRE);
	assert_int_equal(f->s.arg0[3], 1);
}

static void test_prepare_without_precheck_or_warm_urls(void **state)
{
	struct fixture *f = *state;

	f->cfg.health.precheck = false;
	f->cfg.fpm.n_warm_urls = 0;
	f->s.live_slot = 0;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), 0);
	finish(f);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->rep.previous_slot, 0);
	assert_int_equal(f->rep.start.slot, 'a');
}

static void test_prepare_already_warm_sends_nothing_more(void **state)
{
	struct fixture *f = *state;

	f->s.start_warm = true;
	run(f);
	assert_int_equal(swap_prepare(&f->env, NULL, &f->rep, f->err, sizeof(f->err)), 0);
	finish(f);
	assert_int_equal(f->s.n, 2);
	assert_string_equal(f->s.id[1], "");   /* the helper's pick */
	assert_true(f->rep.start.already_warm);
	/* a pool this run did not start is not its to stop */
	swap_stop_new(&f->env, &f->rep, "stopped");
	assert_false(f->rep.new_retired);
}

static void test_prepare_start_refused(void **state)
{
	struct fixture *f = *state;

	f->s.start_status = -EOPNOTSUPP;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), -EOPNOTSUPP);
	finish(f);
	assert_string_equal(f->err, "cannot start a php-fpm pool for release " ID_NEW ": reload = swap is not built yet");
	assert_int_equal(count_op(&f->s, OP_FPM_SLOT_RETIRE), 0);
	assert_false(f->rep.started);
}

static void test_retire_old_keeps_it_warm(void **state)
{
	struct fixture *f = *state;
	struct json j;

	f->cfg.health.precheck = false;
	f->cfg.fpm.n_warm_urls = 0;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), 0);
	swap_retire_old(&f->env, &f->rep);
	finish(f);
	assert_int_equal(f->s.ops[2], OP_FPM_SLOT_RETIRE);
	assert_string_equal(f->s.text[2], "a");
	assert_int_equal(f->s.arg0[2], 0);   /* keep warm */
	assert_true(f->rep.old_retired);
	assert_false(f->rep.retire.stopped);

	json_init(&j);
	json_begin(&j, '{');
	swap_json(&j, &f->cfg, &f->rep);
	json_end(&j, '}');
	assert_string_equal(j.buf, "{\"pool\":{\"slot\":\"b\",\"previous_slot\":\"a\",\"start_ms\":150,"
				   "\"already_warm\":false,\"precheck_ms\":null,\"warm_requests\":0,"
				   "\"retire_queue_us\":6500,\"kept_warm_seconds\":300}}");
	json_free(&j);
}

static void test_retire_old_nothing_live(void **state)
{
	struct fixture *f = *state;
	struct json j;

	f->s.live_slot = 0;
	f->cfg.fpm.n_warm_urls = 0;
	run(f);
	assert_int_equal(swap_prepare(&f->env, ID_NEW, &f->rep, f->err, sizeof(f->err)), 0);
	swap_retire_old(&f->env, &f->rep);
	finish(f);
	assert_int_equal(count_op(&f->s, OP_FPM_SLOT_RETIRE), 0);
	json_init(&j);
	json_begin(&j, '{');
	swap_json(&j, &f->cfg, &f->rep);
	json_end(&j, '}');
	assert_non_null(strstr(j.buf, "\"previous_slot\":null"));
	assert_non_null(strstr(j.buf, "\"retire_queue_us\":null,\"kept_warm_seconds\":null"));
	assert_non_null(strstr(j.buf, "\"precheck_ms\":"));
	assert_null(strstr(j.buf, "\"precheck_ms\":null"));
	assert_null(strstr(j.buf, "stall_ms"));
	json_free(&j);
}

/* ---- pure parts ------------------------------------------------------- */

static void test_warm_judge(void **state)
{
	struct fcgi_response resp = { .status = 200 };
	char why[300];

	assert_int_equal(swap_warm_judge(0, &resp, "/", why, sizeof(why)), 0);
	resp.status = 302;
	assert_int_equal(swap_warm_judge(0, &resp, "/", why, sizeof(why)), 0);
	resp.status = 404;
	assert_int_equal(swap_warm_judge(0, &resp, "/", why, sizeof(why)), 0);
	resp.status = 499;
	assert_int_equal(swap_warm_judge(0, &resp, "/", why, sizeof(why)), 0);
	resp.status = 500;
	assert_int_equal(swap_warm_judge(0, &resp, "/a", why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "/a answered 500");
	resp.status = 502;
	resp.stderr_text = (char *)"PHP Fatal error";
	assert_int_equal(swap_warm_judge(0, &resp, "/b", why, sizeof(why)), -EPROTO);
	assert_string_equal(why, "/b answered 502; php: PHP Fatal error");
	assert_int_equal(swap_warm_judge(-ETIMEDOUT, NULL, "/c\n", why, sizeof(why)), -ETIMEDOUT);
	assert_non_null(strstr(why, "got no answer"));
	assert_null(strchr(why, '\n'));   /* the URL is escaped */
}

static void test_slot_describe_and_json(void **state)
{
	struct client_fpm_slot s = {
		.slot = 'b', .master_pid = 4300, .state = FPM_SLOT_WARM, .pss_kb = 12800, .warm_seconds = 42,
	};
	char line[256];
	struct json j;

	str_copy(s.release, sizeof(s.release), ID_OLD);
	swap_slot_describe(&s, line, sizeof(line));
	assert_string_equal(line, ID_OLD ", warm, master 4300, 12.5 MB Pss, warm for 42 s");
	json_init(&j);
	swap_slot_json(&j, &s);
	assert_string_equal(j.buf, "{\"slot\":\"b\",\"release\":\"" ID_OLD "\",\"state\":\"warm\",\"master_pid\":4300,"
				   "\"pss_kb\":12800,\"warm_seconds\":42}");
	json_free(&j);

	s.state = FPM_SLOT_LIVE;
	swap_slot_describe(&s, line, sizeof(line));
	assert_string_equal(line, ID_OLD ", live, master 4300, 12.5 MB Pss");

	s.state = FPM_SLOT_STOPPING;
	swap_slot_describe(&s, line, sizeof(line));
	assert_string_equal(line, ID_OLD ", stopping, master 4300, 12.5 MB Pss");

	s.state = FPM_SLOT_FAILED;
	s.master_pid = 0;
	swap_slot_describe(&s, line, sizeof(line));
	assert_string_equal(line, ID_OLD ", failed");

	s = (struct client_fpm_slot) { .slot = 'a', .state = FPM_SLOT_STOPPED };
	swap_slot_describe(&s, line, sizeof(line));
	assert_string_equal(line, "stopped");
	json_init(&j);
	swap_slot_json(&j, &s);
	assert_string_equal(j.buf, "{\"slot\":\"a\",\"release\":null,\"state\":\"stopped\",\"master_pid\":null,"
				   "\"pss_kb\":0,\"warm_seconds\":null}");
	json_free(&j);
}

static void test_nginx_line(void **state)
{
	assert_true(swap_nginx_line_keepalive("fastcgi_keep_conn on;"));
	assert_true(swap_nginx_line_keepalive("    fastcgi_keep_conn   on ;  # yes"));
	assert_true(swap_nginx_line_keepalive("\tfastcgi_keep_conn ON;\n"));
	assert_true(swap_nginx_line_keepalive("location / { fastcgi_pass unix:/x; fastcgi_keep_conn on; }"));
	assert_true(swap_nginx_line_keepalive("fastcgi_keep_conn \"on\";"));
	assert_false(swap_nginx_line_keepalive("# fastcgi_keep_conn on;"));
	assert_false(swap_nginx_line_keepalive("   #fastcgi_keep_conn on;"));
	assert_false(swap_nginx_line_keepalive("fastcgi_keep_conn off;"));
	assert_false(swap_nginx_line_keepalive("fastcgi_param X fastcgi_keep_conn; on;"));
	assert_false(swap_nginx_line_keepalive("add_header X \"# fastcgi_keep_conn on\";"));
	assert_false(swap_nginx_line_keepalive("my_fastcgi_keep_conn on;"));
	assert_false(swap_nginx_line_keepalive(""));
}

struct hits {
	char paths[8][512];
	unsigned lines[8];
	size_t n;
};

static void on_hit(void *ctx, const char *path, unsigned line)
{
	struct hits *h = ctx;

	assert_true(h->n < ELEMENTSOF(h->paths));
	str_copy(h->paths[h->n], sizeof(h->paths[0]), path);
	h->lines[h->n++] = line;
}

static void put(const char *root, const char *rel, const char *text)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool hit(const struct hits *h, const char *root, const char *rel, unsigned line)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->paths[i], p) == 0 && h->lines[i] == line)
			return true;
	return false;
}

static void test_nginx_scan(void **state)
{
	char root[] = "/tmp/cutover-nginx-XXXXXX", p[512], q[512];
	struct hits h = { 0 };

	assert_non_null(mkdtemp(root));
#define D(rel) do { snprintf(p, sizeof(p), "%s/%s", root, rel); assert_int_equal(mkdir(p, 0755), 0); } while (0)
	D("conf.d");
	D("sites-available");
	D("sites-enabled");
	D("a");
	D("a/b");
	D("a/b/c");
	D("a/b/c/d");
	put(root, "nginx.conf", "http {\n  # fastcgi_keep_conn on;\n  include conf.d/*.conf;\n}\n");
	put(root, "conf.d/upstream.conf", "upstream php {\n  keepalive 8;\n}\nfastcgi_keep_conn on;\n");
	put(root, "conf.d/notes.txt", "fastcgi_keep_conn on;\n");   /* not a .conf, not enabled */
	put(root, "sites-available/shop", "server {\n\n\n  fastcgi_keep_conn on;\n}\n");
	put(root, "sites-available/other", "fastcgi_keep_conn on;\n");   /* not enabled */
	put(root, "a/b/c/deep.conf", "fastcgi_keep_conn on;\n");       /* depth 3: read */
	put(root, "a/b/c/d/deeper.conf", "fastcgi_keep_conn on;\n");   /* depth 4: not */
	snprintf(p, sizeof(p), "%s/sites-enabled/shop", root);
	assert_int_equal(symlink("../sites-available/shop", p), 0);
	/* a loop: followed once, never again */
	snprintf(p, sizeof(p), "%s/conf.d/loop", root);
	assert_int_equal(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/sites-enabled/dangling", root);
	assert_int_equal(symlink("/nonexistent/cutover", p), 0);

	assert_int_equal(swap_scan_nginx(root, on_hit, &h), 3);
	assert_true(hit(&h, root, "conf.d/upstream.conf", 4));
	assert_true(hit(&h, root, "sites-enabled/shop", 4));
	assert_true(hit(&h, root, "a/b/c/deep.conf", 1));
	assert_int_equal(swap_scan_nginx("/nonexistent/cutover-nginx", on_hit, &h), 0);

	snprintf(q, sizeof(q), "rm -rf '%s'", root);
	assert_int_equal(system(q), 0);
#undef D
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prepare_starts_checks_and_warms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_warm_5xx_stops_the_new_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_warm_no_answer_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_warm_4xx_is_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_precheck_failure_stops_before_warm_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_without_precheck_or_warm_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_already_warm_sends_nothing_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_start_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire_old_keeps_it_warm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire_old_nothing_live, setup, teardown),
		cmocka_unit_test(test_warm_judge),
		cmocka_unit_test(test_slot_describe_and_json),
		cmocka_unit_test(test_nginx_line),
		cmocka_unit_test(test_nginx_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
