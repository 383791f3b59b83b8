/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/notify.c: the payload in both formats
 * (escaping, absent values, bytes that are not UTF-8), the slack line,
 * and notify_post's refusals and time limit against loopback sockets
 * that refuse or never answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "notify.h"
#include "util.h"

/* 2026-12-06T10:00:00Z */
#define WALL_NS (1796551200ull * 1000000000ull)

static void event(struct notify_event *ev, const char *outcome)
{
	notify_event_init(ev, "shop", "deploy");
	str_copy(ev->host, sizeof(ev->host), "web1");
	str_copy(ev->release, sizeof(ev->release), "20261206-100000");
	str_copy(ev->previous, sizeof(ev->previous), "20261205-090000");
	ev->outcome = outcome;
	ev->have_build = true;
	ev->build_ms = 1200;
	ev->have_switch = true;
	ev->switch_ms = 3;
	ev->total_ms = 1500;
}

static void test_payload_json(void **state)
{
	struct notify_event ev;
	struct json j;

	(void)state;
	event(&ev, "deployed");
	assert_int_equal(notify_payload(&ev, NOTIFY_JSON, WALL_NS, &j), 0);
	assert_string_equal(j.buf,
		"{\"event\":\"deploy\",\"app\":\"shop\",\"host\":\"web1\",\"release\":\"20261206-100000\","
		"\"previous\":\"20261205-090000\",\"outcome\":\"deployed\",\"reason\":null,"
		"\"time\":\"2026-12-06T10:00:00Z\",\"durations_ms\":{\"build\":1200,\"switch\":3,\"total\":1500}}");
	json_free(&j);
}

static void test_payload_json_failure_escaped(void **state)
{
	struct notify_event ev;
	struct json j;

	(void)state;
	event(&ev, "failed");
	ev.previous[0] = '\0';
	ev.have_switch = false;
	/* quotes, a backslash, a newline, a tab, a control byte, valid UTF-8
	 * (é), and a lone 0xff that is not UTF-8 */
	str_copy(ev.reason, sizeof(ev.reason), "step 'say \"hi\"' failed\\n\nnext\t\x01 caf\xc3\xa9 \xff!");
	assert_int_equal(notify_payload(&ev, NOTIFY_JSON, WALL_NS, &j), 0);
	assert_non_null(strstr(j.buf, "\"previous\":null"));
	assert_non_null(strstr(j.buf, "\"switch\":null"));
	assert_non_null(strstr(j.buf, "\"outcome\":\"failed\""));
	assert_non_null(strstr(j.buf,
		"\"reason\":\"step 'say \\\"hi\\\"' failed\\\\n\\u000anext\\u0009\\u0001 caf\xc3\xa9 ?!\""));
	json_free(&j);
}

static void test_payload_slack(void **state)
{
	struct notify_event ev;
	struct json j;

	(void)state;
	event(&ev, "deployed");
	assert_int_equal(notify_payload(&ev, NOTIFY_SLACK, WALL_NS, &j), 0);
	assert_string_equal(j.buf,
		"{\"text\":\"cutover: shop deployed 20261206-100000 on web1 (previous: 20261205-090000) in 1.5 s\"}");
	json_free(&j);

	event(&ev, "auto-rolled-back");
	str_copy(ev.reason, sizeof(ev.reason), "health check failed: GET \"/up\" returned 500");
	assert_int_equal(notify_payload(&ev, NOTIFY_SLACK, WALL_NS, &j), 0);
	assert_string_equal(j.buf,
		"{\"text\":\"cutover: shop deploy auto-rolled-back 20261206-100000 on web1 (previous: 20261205-090000): "
		"health check failed: GET \\\"/up\\\" returned 500\"}");
	json_free(&j);
}

/* Slack reads <...> as mentions and links: a reason from an artifact's
 * member name must come through as text (review 13, L4). */
static void test_payload_slack_markup(void **state)
{
	struct notify_event ev;
	struct json j;

	(void)state;
	event(&ev, "failed");
	str_copy(ev.reason, sizeof(ev.reason), "member ../<!channel> <https://evil|Click> & more");
	assert_int_equal(notify_payload(&ev, NOTIFY_SLACK, WALL_NS, &j), 0);
	assert_null(strchr(j.buf, '<'));
	assert_null(strchr(j.buf, '>'));
	assert_non_null(strstr(j.buf, "../&lt;!channel&gt; &lt;https://evil|Click&gt; &amp; more"));
	json_free(&j);
}

static void test_event_helpers(void **state)
{
	struct notify_event ev;
	char host[256] = "";

	(void)state;
	notify_event_init(&ev, "shop", "rollback");
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(ev.host, host);
	assert_string_equal(ev.verb, "rollback");
	notify_event_staged(&ev, "R1", false);
	assert_string_equal(ev.release, "R1");
	assert_false(ev.have_build);
	notify_event_switched(&ev, "", "R0", 4500000);
	assert_string_equal(ev.release, "R0");
	assert_string_equal(ev.previous, "");
	assert_true(ev.have_switch);
	assert_int_equal(ev.switch_ms, 4);
}

static void test_event_live(void **state)
{
	char root[] = "/tmp/test_notify.XXXXXX", link[PATH_MAX];
	struct notify_event ev;

	(void)state;
	assert_non_null(mkdtemp(root));
	notify_event_init(&ev, "shop", "deploy");
	notify_event_live(&ev, root);
	assert_string_equal(ev.previous, "");   /* nothing live */
	snprintf(link, sizeof(link), "%s/current", root);
	assert_int_equal(symlink("/etc", link), 0);
	notify_event_live(&ev, root);
	assert_string_equal(ev.previous, "");   /* not a releases/ID link */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("releases/20261206T100000Z", link), 0);
	notify_event_live(&ev, root);
	assert_string_equal(ev.previous, "20261206T100000Z");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(root), 0);
}

/* A loopback TCP socket; listening (never accepting) or closed again. */
static int loopback(bool listening, int *ret_port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*ret_port = ntohs(a.sin_port);
	if (listening)
		assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void test_post_refuses_other_protocols(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(notify_post("file:///etc/passwd", "{}", 1, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not an http:// or https:// URL"));
	assert_int_equal(notify_post("gopher://127.0.0.1/", "{}", 1, 0, err, sizeof(err)), -EINVAL);
}

static void test_post_unreachable_retries(void **state)
{
	char url[64], err[512];
	int port, fd = loopback(false, &port);
	uint64_t t0;

	(void)state;
	/* bound, not listening: connections are refused at once */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	t0 = now_ns();
	assert_true(notify_post(url, "{}", 5, 2, err, sizeof(err)) < 0);
	close(fd);
	assert_non_null(strstr(err, "after 3 tries"));
	/* pauses of 200 and 400 ms between them */
	assert_true(now_ns() - t0 >= 550000000ull);
	assert_true(now_ns() - t0 < 3000000000ull);
}

static void test_post_hanging_receiver_times_out(void **state)
{
	char url[64], err[512];
	int port, fd = loopback(true, &port);
	uint64_t t0, ms;

	(void)state;
	/* the kernel completes the handshake; nobody ever answers */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	t0 = now_ns();
	assert_true(notify_post(url, "{\"x\":1}", 1, 5, err, sizeof(err)) < 0);
	ms = (now_ns() - t0) / 1000000;
	close(fd);
	assert_non_null(strstr(err, "(timeout 1 s)"));
	/* all tries together within the 1 s budget, give or take */
	assert_true(ms >= 900);
	assert_true(ms < 1600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_json),
		cmocka_unit_test(test_payload_json_failure_escaped),
		cmocka_unit_test(test_payload_slack),
		cmocka_unit_test(test_payload_slack_markup),
		cmocka_unit_test(test_event_helpers),
		cmocka_unit_test(test_event_live),
		cmocka_unit_test(test_post_refuses_other_protocols),
		cmocka_unit_test(test_post_unreachable_retries),
		cmocka_unit_test(test_post_hanging_receiver_times_out),
	};

	alarm(60);
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
