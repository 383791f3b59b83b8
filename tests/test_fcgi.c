/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/common/fcgi.c: record and name-value encoding byte for byte,
 * fcgi_request() against a fake FastCGI server (a thread on the other end
 * of a socketpair that replies with crafted bytes), address parsing,
 * connecting, CGI params, and an end-to-end run against a real php-fpm8.2
 * that the test starts in a scratch directory (skipped when php-fpm8.2 is
 * missing, when not root, or with CUTOVER_TEST_NO_FPM=1).
 *
 * cmocka assertions jump out of the failing function, so the fake server
 * thread never asserts: it records what it saw and the test checks after
 * joining it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "fcgi_request.h"
#include "fcgi_response.h"
#include "fpm_status.h"
#include "util.h"

/* Both halves in one process: what a FastCGI client does, and what the
 * helper and the front end do between them. One deadline for the whole
 * exchange. */
static int fcgi_request(int fd, const struct fcgi_param *params, size_t n_params,
		 const void *stdin_data, size_t stdin_len, unsigned timeout_ms,
		 size_t max_bytes, struct fcgi_response *ret)
{
	uint64_t deadline;
	uint64_t left_ms;
	int r;

	if (timeout_ms == 0)
		return -EINVAL;
	deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	r = fcgi_send_request(fd, params, n_params, stdin_data, stdin_len, timeout_ms);
	if (r < 0)
		return r;
	/* One deadline for the whole exchange. */
	left_ms = now_ns() >= deadline ? 0 : (deadline - now_ns() + 999999) / 1000000;
	if (left_ms == 0)
		return -ETIMEDOUT;
	return fcgi_read_response(fd, (unsigned)left_ms, max_bytes, ret);
}

#define MAX_BYTES (1u << 20)

/* ---- byte buffers for crafting records ---- */

struct bytes {
	uint8_t *data;
	size_t len;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	uint8_t *d = realloc(b->data, b->len + n + 1);

	assert_non_null(d);
	b->data = d;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* A record with an explicit header: lets tests lie about lengths. */
static void bytes_record(struct bytes *b, uint8_t type, uint16_t id, const void *content,
			 size_t len, uint8_t pad)
{
	uint8_t hdr[FCGI_HEADER_LEN], zeros[256] = { 0 };

	assert_true(len <= 65535);
	fcgi_header_encode(hdr, type, id, (uint16_t)len, pad);
	bytes_add(b, hdr, sizeof(hdr));
	bytes_add(b, content, len);
	memset(zeros, 0xee, pad);   /* padding content must not matter */
	bytes_add(b, zeros, pad);
}

static void bytes_stdout(struct bytes *b, const char *s, uint8_t pad)
{
	bytes_record(b, FCGI_STDOUT, 1, s, strlen(s), pad);
}

static void bytes_end(struct bytes *b, uint32_t app_status, uint8_t protocol_status)
{
	uint8_t end[8] = {
		(uint8_t)(app_status >> 24), (uint8_t)(app_status >> 16),
		(uint8_t)(app_status >> 8), (uint8_t)app_status, protocol_status, 0, 0, 0,
	};

	bytes_record(b, FCGI_END_REQUEST, 1, end, sizeof(end), 0);
}

/* ---- the fake server ---- */

struct fake {
	int fd;                       /* its end of the socketpair */
	const struct bytes *reply;
	size_t chunk;                 /* reply in writes of this size (0: one write) */
	unsigned chunk_delay_ms;      /* pause between writes */
	bool no_read;                 /* close at once, without reading */
	bool close_after_reply;       /* else hold the connection until the client closes */

	/* What it saw, checked by the test after joining. */
	char error[160];              /* first protocol violation by the client */
	uint8_t begin[8];
	struct bytes params;          /* concatenated PARAMS content */
	size_t n_params_records;
	bool params_records_standalone; /* each PARAMS record decodes on its own */
	struct bytes stdin_data;
	bool all_padded_to_8;
	pthread_t thread;
};

static bool fake_read(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool record_decodes_standalone(const uint8_t *p, size_t len)
{
	while (len > 0) {
		struct fcgi_param_view v;
		ssize_t n = fcgi_param_decode(p, len, &v);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads the request the way PHP-FPM does; false with f->error set on a
 * violation. */
static bool fake_read_request(struct fake *f)
{
	bool params_done = false;

	f->all_padded_to_8 = true;
	f->params_records_standalone = true;
	for (;;) {
		uint8_t raw[FCGI_HEADER_LEN];
		struct fcgi_header h;
		uint8_t *content;

		if (!fake_read(f->fd, raw, sizeof(raw))) {
			snprintf(f->error, sizeof(f->error), "eof in record header");
			return false;
		}
		if (fcgi_header_decode(raw, &h) < 0 || h.request_id != 1) {
			snprintf(f->error, sizeof(f->error), "bad header");
			return false;
		}
		if ((h.content_length + h.padding_length) % 8 != 0)
			f->all_padded_to_8 = false;
		if (h.content_length + h.padding_length > 65535) {
			snprintf(f->error, sizeof(f->error), "record longer than php-fpm takes");
			return false;
		}
		content = malloc((size_t)h.content_length + h.padding_length + 1);
		if (!content || !fake_read(f->fd, content, (size_t)h.content_length + h.padding_length)) {
			free(content);
			snprintf(f->error, sizeof(f->error), "eof in record content");
			return false;
		}
		switch (h.type) {
		case FCGI_BEGIN_REQUEST:
			if (h.content_length == 8)
				memcpy(f->begin, content, 8);
			else
				snprintf(f->error, sizeof(f->error), "begin length %u", h.content_length);
			break;
		case FCGI_PARAMS:
			if (h.content_length == 0) {
				params_done = true;
				break;
			}
			if (params_done)
				snprintf(f->error, sizeof(f->error), "params after the empty record");
			f->n_params_records++;
			if (!record_decodes_standalone(content, h.content_length))
				f->params_records_standalone = false;
			bytes_add(&f->params, content, h.content_length);
			break;
		case FCGI_STDIN:
			if (!params_done)
				snprintf(f->error, sizeof(f->error), "stdin before params ended");
			if (h.content_length == 0) {
				free(content);
				return f->error[0] == '\0';
			}
			bytes_add(&f->stdin_data, content, h.content_length);
			break;
		default:
			snprintf(f->error, sizeof(f->error), "unexpected type %u", h.type);
			break;
		}
		free(content);
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t drain[4096];

	if (f->no_read)
		goto out;
	if (!fake_read_request(f))
		goto out;
	if (f->reply) {
		size_t off = 0;

		while (off < f->reply->len) {
			size_t n = f->reply->len - off;
			ssize_t w;

			if (f->chunk > 0 && n > f->chunk)
				n = f->chunk;
			if (off > 0 && f->chunk_delay_ms > 0)
				poll(NULL, 0, (int)f->chunk_delay_ms);
			/* MSG_NOSIGNAL: the client may give up and close first. */
			w = send(f->fd, f->reply->data + off, n, MSG_NOSIGNAL);
			if (w <= 0)
				goto out;
			off += (size_t)w;
		}
	}
	if (f->close_after_reply)
		goto out;
	/* Hold the connection open until the client closes its end. */
	while (read(f->fd, drain, sizeof(drain)) > 0)
		;
out:
	close(f->fd);
	f->fd = -1;
	return NULL;
}

/* Starts a fake server; returns the client's end. */
static int fake_start(struct fake *f)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fd = sv[1];
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return sv[0];
}

static void fake_join(struct fake *f)
{
	assert_int_equal(pthread_join(f->thread, NULL), 0);
}

static void fake_free(struct fake *f)
{
	free(f->params.data);
	free(f->stdin_data.data);
}

static const struct fcgi_param basic_params[] = {
	{ "SCRIPT_FILENAME", "/srv/app/index.php" },
	{ "REQUEST_METHOD", "GET" },
	{ "QUERY_STRING", "" },
};

/*
 * Runs one request against a fake server replying with reply; checks that
 * a failure leaves *ret untouched and that the server saw a valid request.
 */
static int run_fake(struct fake *f, const struct bytes *reply, unsigned timeout_ms,
		    size_t max_bytes, struct fcgi_response *ret)
{
	struct fcgi_response before;
	int fd, r;

	f->reply = reply;
	fd = fake_start(f);
	memset(ret, 0x5a, sizeof(*ret));
	before = *ret;
	r = fcgi_request(fd, basic_params, ELEMENTSOF(basic_params), NULL, 0, timeout_ms,
			 max_bytes, ret);
	close(fd);
	fake_join(f);
	if (r < 0 && memcmp(&before, ret, sizeof(before)) != 0)
		fail_msg("fcgi_request failed with %d but wrote its output", r);
	if (!f->no_read && f->error[0])
		fail_msg("fake server: %s", f->error);
	return r;
}

/* ---- encoding ---- */

static void test_header_encode_decode(void **state)
{
	static const uint8_t want[8] = { 1, 6, 0x01, 0x02, 0x12, 0x34, 5, 0 };
	uint8_t raw[8];
	struct fcgi_header h;

	fcgi_header_encode(raw, FCGI_STDOUT, 0x0102, 0x1234, 5);
	assert_memory_equal(raw, want, sizeof(want));
	assert_int_equal(fcgi_header_decode(raw, &h), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.type, FCGI_STDOUT);
	assert_int_equal(h.request_id, 0x0102);
	assert_int_equal(h.content_length, 0x1234);
	assert_int_equal(h.padding_length, 5);

	fcgi_header_encode(raw, FCGI_END_REQUEST, 0xffff, 0xffff, 0xff);
	assert_int_equal(fcgi_header_decode(raw, &h), 0);
	assert_int_equal(h.request_id, 0xffff);
	assert_int_equal(h.content_length, 0xffff);
	assert_int_equal(h.padding_length, 0xff);

	raw[0] = 2;
	assert_int_equal(fcgi_header_decode(raw, &h), -EBADMSG);
	raw[0] = 0;
	assert_int_equal(fcgi_header_decode(raw, &h), -EBADMSG);
}

static void test_param_encode_short(void **state)
{
	static const uint8_t want[] = { 1, 2, 'A', 'B', 'C' };
	uint8_t buf[300];
	char v127[128];

	assert_int_equal(fcgi_param_encode(buf, sizeof(buf), "A", 1, "BC", 2), 5);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(fcgi_param_encode(NULL, 0, "A", 1, "BC", 2), 5);
	assert_int_equal(fcgi_param_encode(buf, 4, "A", 1, "BC", 2), -ENOBUFS);
	assert_int_equal(fcgi_param_encode(buf, sizeof(buf), "E", 1, "", 0), 3);
	assert_int_equal(buf[1], 0);

	/* 127 is the longest 1-byte length. */
	memset(v127, 'v', 127);
	assert_int_equal(fcgi_param_encode(buf, sizeof(buf), "N", 1, v127, 127), 1 + 1 + 1 + 127);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 127);
}

static void test_param_encode_long(void **state)
{
	uint8_t buf[70000 + 300 + 8];
	static char name[300], value[70000];
	static const uint8_t want128[] = { 1, 0x80, 0x00, 0x00, 0x80, 'N' };
	static const uint8_t want_big[] = { 0x80, 0x00, 0x01, 0x2c, 0x80, 0x01, 0x11, 0x70 };

	memset(name, 'n', sizeof(name));
	memset(value, 'v', sizeof(value));
	/* 128: the shortest 4-byte length, high bit set, big-endian. */
	assert_int_equal(fcgi_param_encode(buf, sizeof(buf), "N", 1, value, 128), 1 + 4 + 1 + 128);
	assert_memory_equal(buf, want128, sizeof(want128));

	/* Name 300 = 0x12c, value 70000 = 0x11170: both long. */
	assert_int_equal(fcgi_param_encode(buf, sizeof(buf), name, 300, value, 70000),
			 8 + 300 + 70000);
	assert_memory_equal(buf, want_big, sizeof(want_big));
	assert_int_equal(buf[8], 'n');
	assert_int_equal(buf[8 + 300], 'v');

	assert_int_equal(fcgi_param_encode(NULL, 0, "N", 1, value, (size_t)FCGI_PARAM_LEN_MAX + 1),
			 -E2BIG);
	assert_int_equal(fcgi_param_encode(NULL, 0, "N", 1, value, FCGI_PARAM_LEN_MAX),
			 (ssize_t)FCGI_PARAM_LEN_MAX + 6);
}

static void test_param_decode(void **state)
{
	uint8_t buf[512];
	struct fcgi_param_view v;
	char value[200];
	ssize_t n;

	memset(value, 'x', sizeof(value));
	n = fcgi_param_encode(buf, sizeof(buf), "HTTP_HOST", 9, value, sizeof(value));
	assert_int_equal(n, 1 + 4 + 9 + 200);
	assert_int_equal(fcgi_param_decode(buf, (size_t)n, &v), n);
	assert_int_equal(v.name_len, 9);
	assert_memory_equal(v.name, "HTTP_HOST", 9);
	assert_int_equal(v.value_len, 200);
	assert_memory_equal(v.value, value, 200);

	/* Every truncation of a valid pair is refused. */
	for (ssize_t len = 0; len < n; len++)
		assert_int_equal(fcgi_param_decode(buf, (size_t)len, &v), -EBADMSG);

	/* A length beyond the buffer, even one that would wrap a size_t sum. */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'a' };
	assert_int_equal(fcgi_param_decode(huge, sizeof(huge), &v), -EBADMSG);
	static const uint8_t short_value[] = { 1, 5, 'a', 'b' };
	assert_int_equal(fcgi_param_decode(short_value, sizeof(short_value), &v), -EBADMSG);
	static const uint8_t empty[] = { 0, 0 };
	assert_int_equal(fcgi_param_decode(empty, sizeof(empty), &v), 2);
	assert_int_equal(v.name_len, 0);
}

/* ---- fcgi_request against the fake server ---- */

static void test_request_normal(void **state)
{
	struct fake f = { .chunk = 3, .chunk_delay_ms = 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	size_t off = 0;

	/* Headers and body split across records, and across a record edge. */
	bytes_stdout(&reply, "Content-type: text/plain\r\nX-A: b\r\n", 3);
	bytes_stdout(&reply, "\r\nhello ", 0);
	bytes_stdout(&reply, "", 0);          /* empty STDOUT mid-stream: only EOF of */
	bytes_stdout(&reply, "world", 7);     /* stream per spec, php-fpm never sends */
	bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);

	assert_int_equal(run_fake(&f, &reply, 2000, MAX_BYTES, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.headers, "Content-type: text/plain\r\nX-A: b\r\n");
	assert_int_equal(r.headers_len, strlen(r.headers));
	assert_string_equal(r.body, "hello world");
	assert_int_equal(r.body_len, 11);
	assert_string_equal(r.stderr_text, "");
	assert_int_equal(r.stderr_len, 0);
	assert_int_equal(r.app_status, 0);
	fcgi_response_free(&r);
	assert_null(r.body);
	fcgi_response_free(&r);

	/* What went on the wire: responder role, no FCGI_KEEP_CONN. */
	static const uint8_t begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(f.begin, begin, 8);
	assert_true(f.all_padded_to_8);
	assert_int_equal(f.stdin_data.len, 0);
	for (size_t i = 0; i < ELEMENTSOF(basic_params); i++) {
		struct fcgi_param_view v;
		ssize_t n = fcgi_param_decode(f.params.data + off, f.params.len - off, &v);

		assert_true(n > 0);
		assert_int_equal(v.name_len, strlen(basic_params[i].name));
		assert_memory_equal(v.name, basic_params[i].name, v.name_len);
		assert_int_equal(v.value_len, strlen(basic_params[i].value));
		assert_memory_equal(v.value, basic_params[i].value, v.value_len);
		off += (size_t)n;
	}
	assert_int_equal(off, f.params.len);
	fake_free(&f);
	free(reply.data);
}

static void test_request_status_header(void **state)
{
	static const struct {
		const char *out;
		int want;          /* status, or -errno */
		const char *body;
	} cases[] = {
		{ "Status: 503 Service Unavailable\r\nContent-type: text/html\r\n\r\nbusy", 503, "busy" },
		{ "X-Powered-By: PHP/8.2\r\nstatus:404 Not Found\r\n\r\n", 404, "" },
		{ "Status: 302 Found\nLocation: /x\n\nmoved", 302, "moved" },   /* LF-only CGI */
		{ "Status: 500\r\n\r\n", 500, "" },
		{ "Status:\t204\tNo Content\r\n\r\n", 204, "" },
		{ "Location: /x\r\n\r\n", 200, "" },                  /* no Status header */
		{ "\r\nno headers at all", 200, "no headers at all" },
		{ "Status: 503\r\nStatus: 200\r\n\r\n", 503, "" },     /* the first counts */
		{ "Status: 99 Low\r\n\r\n", -EBADMSG, NULL },
		{ "Status: 600 High\r\n\r\n", -EBADMSG, NULL },
		{ "Status: 5033\r\n\r\n", -EBADMSG, NULL },
		{ "Status: abc\r\n\r\n", -EBADMSG, NULL },
		{ "Status: 50\r\n\r\n", -EBADMSG, NULL },
		{ "Status: \r\n\r\n", -EBADMSG, NULL },
		{ "Content-type: text/html\r\nno blank line", -EBADMSG, NULL },
		{ "", -EBADMSG, NULL },                                /* no output at all */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct fake f = { 0 };
		struct bytes reply = { 0 };
		struct fcgi_response r;
		int got;

		if (cases[i].out[0])
			bytes_stdout(&reply, cases[i].out, 0);
		bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);
		got = run_fake(&f, &reply, 2000, MAX_BYTES, &r);
		if (got >= 0) {
			got = r.status;
			if (cases[i].body && strcmp(r.body, cases[i].body) != 0)
				fail_msg("case %zu: body \"%s\"", i, r.body);
			fcgi_response_free(&r);
		}
		if (got != cases[i].want)
			fail_msg("case %zu (%.30s): got %d, want %d", i, cases[i].out, got,
				 cases[i].want);
		fake_free(&f);
		free(reply.data);
	}
}

static void test_request_stderr(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;

	bytes_record(&reply, FCGI_STDERR, 1, "PHP Warning:  x", 15, 1);
	bytes_stdout(&reply, "Content-type: text/html\r\n\r\n", 5);
	bytes_record(&reply, FCGI_STDERR, 1, " in /a.php\n", 11, 5);
	bytes_stdout(&reply, "ok", 6);
	bytes_end(&reply, 255, FCGI_REQUEST_COMPLETE);

	assert_int_equal(run_fake(&f, &reply, 2000, MAX_BYTES, &r), 0);
	assert_string_equal(r.stderr_text, "PHP Warning:  x in /a.php\n");
	assert_int_equal(r.stderr_len, 26);
	assert_string_equal(r.body, "ok");
	assert_int_equal(r.app_status, 255);
	fcgi_response_free(&r);
	fake_free(&f);
	free(reply.data);
}

static void test_request_app_status_bytes(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;

	bytes_stdout(&reply, "\r\n", 0);
	bytes_end(&reply, 0x81020304, FCGI_REQUEST_COMPLETE);
	assert_int_equal(run_fake(&f, &reply, 2000, MAX_BYTES, &r), 0);
	assert_int_equal(r.app_status, 0x81020304);
	fcgi_response_free(&r);
	fake_free(&f);
	free(reply.data);
}

static void test_request_truncated(void **state)
{
	static const uint8_t half_header[4] = { 1, FCGI_STDOUT, 0, 1 };
	struct bytes replies[3] = { { 0 } };

	/* Mid-record: header says 100 bytes, 10 come. */
	bytes_record(&replies[0], FCGI_STDOUT, 1, "Status: 20", 10, 0);
	replies[0].data[5] = 100;
	/* Mid-header. */
	bytes_add(&replies[1], half_header, sizeof(half_header));
	/* On a record boundary but before END_REQUEST. */
	bytes_stdout(&replies[2], "Content-type: text/plain\r\n\r\nbody", 0);

	for (size_t i = 0; i < ELEMENTSOF(replies); i++) {
		struct fake f = { .close_after_reply = true };
		struct fcgi_response r;

		assert_int_equal(run_fake(&f, &replies[i], 2000, MAX_BYTES, &r), -ECONNRESET);
		fake_free(&f);
		free(replies[i].data);
	}
}

static void test_request_peer_gone(void **state)
{
	struct fake f = { .no_read = true };
	struct fcgi_response r;

	/* Closed without reading: EPIPE on send or EOF on recv, one error. */
	assert_int_equal(run_fake(&f, NULL, 2000, MAX_BYTES, &r), -ECONNRESET);
	fake_free(&f);
}

static void test_request_too_big(void **state)
{
	struct bytes reply = { 0 };
	static char chunk[60000];
	struct fcgi_response r;
	size_t total;

	memset(chunk, 'b', sizeof(chunk));
	bytes_stdout(&reply, "Content-type: text/plain\r\n\r\n", 4);
	for (int i = 0; i < 4; i++)
		bytes_record(&reply, FCGI_STDOUT, 1, chunk, sizeof(chunk), 0);
	bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);
	total = reply.len;

	struct fake f1 = { 0 };
	assert_int_equal(run_fake(&f1, &reply, 2000, 64 * 1024, &r), -EFBIG);
	fake_free(&f1);

	/* The bound counts every byte read: exactly enough passes, one less
	 * fails before the END_REQUEST record is read. */
	struct fake f2 = { 0 };
	assert_int_equal(run_fake(&f2, &reply, 2000, total, &r), 0);
	assert_int_equal(r.body_len, 4 * sizeof(chunk));
	fcgi_response_free(&r);
	fake_free(&f2);

	struct fake f3 = { 0 };
	assert_int_equal(run_fake(&f3, &reply, 2000, total - 1, &r), -EFBIG);
	fake_free(&f3);

	struct fake f4 = { 0 };
	assert_int_equal(run_fake(&f4, &reply, 2000, 0, &r), -EFBIG);
	fake_free(&f4);
	free(reply.data);
}

static void test_request_endless_skipped_records(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;

	/* Records we skip still count against the bound. */
	for (int i = 0; i < 20000; i++)
		bytes_record(&reply, 42, 1, NULL, 0, 0);
	bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);
	assert_int_equal(run_fake(&f, &reply, 2000, 100000, &r), -EFBIG);
	fake_free(&f);
	free(reply.data);
}

static long elapsed_ms(uint64_t start)
{
	return (long)((now_ns() - start) / 1000000);
}

static void test_request_timeout(void **state)
{
	struct fake f = { 0 };
	struct fcgi_response r;
	uint64_t start = now_ns();

	/* Reads the request, never answers, holds the connection. */
	assert_int_equal(run_fake(&f, NULL, 200, MAX_BYTES, &r), -ETIMEDOUT);
	assert_in_range(elapsed_ms(start), 190, 1500);
	fake_free(&f);
}

static void test_request_timeout_is_overall(void **state)
{
	struct fake f = { .chunk = 1, .chunk_delay_ms = 40 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	uint64_t start = now_ns();

	/* A byte every 40 ms: each read succeeds, the deadline still holds. */
	bytes_stdout(&reply, "Content-type: text/plain\r\n\r\nslow", 0);
	bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);
	assert_int_equal(run_fake(&f, &reply, 300, MAX_BYTES, &r), -ETIMEDOUT);
	assert_in_range(elapsed_ms(start), 290, 1500);
	fake_free(&f);
	free(reply.data);
}

static void test_request_ignores_unknown(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	static const uint8_t unknown_type_body[8] = { 42, 0, 0, 0, 0, 0, 0, 0 };

	bytes_record(&reply, 42, 1, "whatever", 8, 3);          /* unknown type */
	bytes_record(&reply, FCGI_UNKNOWN_TYPE, 0, unknown_type_body, 8, 0); /* management */
	bytes_record(&reply, FCGI_GET_VALUES_RESULT, 0, "\x01\x01" "ab", 4, 4);
	bytes_record(&reply, FCGI_DATA, 1, "data", 4, 0);       /* not for a responder */
	bytes_stdout(&reply, "Content-type: text/plain\r\n\r\nfine", 0);
	bytes_record(&reply, 255, 1, NULL, 0, 255);             /* all padding */
	bytes_end(&reply, 0, FCGI_REQUEST_COMPLETE);

	assert_int_equal(run_fake(&f, &reply, 2000, MAX_BYTES, &r), 0);
	assert_string_equal(r.body, "fine");
	fcgi_response_free(&r);
	fake_free(&f);
	free(reply.data);
}

static void test_request_bad_records(void **state)
{
	static const uint8_t short_end[4] = { 0, 0, 0, 0 };
	struct bytes replies[6] = { { 0 } };
	static const int want[6] = { -EBADMSG, -EBADMSG, -EBADMSG, -EBUSY, -EPROTO, -EPROTO };

	/* Version 2. */
	bytes_stdout(&replies[0], "\r\n", 0);
	replies[0].data[0] = 2;
	bytes_end(&replies[0], 0, 0);
	/* A request id we never used. */
	bytes_record(&replies[1], FCGI_STDOUT, 2, "\r\n", 2, 0);
	bytes_end(&replies[1], 0, 0);
	/* END_REQUEST too short to hold its body. */
	bytes_stdout(&replies[2], "\r\n", 0);
	bytes_record(&replies[2], FCGI_END_REQUEST, 1, short_end, sizeof(short_end), 0);
	/* Refusals. */
	bytes_end(&replies[3], 0, FCGI_OVERLOADED);
	bytes_end(&replies[4], 0, FCGI_UNKNOWN_ROLE);
	bytes_end(&replies[5], 0, FCGI_CANT_MPX_CONN);

	for (size_t i = 0; i < ELEMENTSOF(replies); i++) {
		struct fake f = { 0 };
		struct fcgi_response r;
		int got = run_fake(&f, &replies[i], 2000, MAX_BYTES, &r);

		if (got != want[i])
			fail_msg("case %zu: got %d, want %d", i, got, want[i]);
		fake_free(&f);
		free(replies[i].data);
	}
}

static void test_request_reads_no_further(void **state)
{
	struct bytes reply = { 0 };
	struct fcgi_response r;
	struct fake f = { 0 };
	uint8_t end_body[12] = { 0, 0, 0, 7, 0, 0, 0, 0, 'x', 'x', 'x', 'x' };
	char after[32] = { 0 };
	ssize_t n;
	int fd;

	/* A longer END_REQUEST with padding, then bytes the client must leave. */
	bytes_stdout(&reply, "\r\nbody", 2);
	bytes_record(&reply, FCGI_END_REQUEST, 1, end_body, sizeof(end_body), 4);
	bytes_add(&reply, "TRAILER", 7);

	f.reply = &reply;
	fd = fake_start(&f);
	assert_int_equal(fcgi_request(fd, basic_params, ELEMENTSOF(basic_params), NULL, 0, 2000,
				      MAX_BYTES, &r), 0);
	assert_int_equal(r.app_status, 7);
	assert_string_equal(r.body, "body");
	fcgi_response_free(&r);
	n = recv(fd, after, sizeof(after) - 1, 0);
	assert_int_equal(n, 7);
	assert_string_equal(after, "TRAILER");
	close(fd);
	fake_join(&f);
	assert_string_equal(f.error, "");
	fake_free(&f);
	free(reply.data);
}

static void test_request_long_params(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	char name[131], value[201];
	struct fcgi_param params[3];
	const uint8_t *p;

	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	params[0] = (struct fcgi_param) { "SHORT", "x" };
	params[1] = (struct fcgi_param) { "LONG_VALUE", value };
	params[2] = (struct fcgi_param) { name, "y" };

	bytes_stdout(&reply, "\r\n", 0);
	bytes_end(&reply, 0, 0);
	f.reply = &reply;
	int fd = fake_start(&f);
	assert_int_equal(fcgi_request(fd, params, 3, NULL, 0, 2000, MAX_BYTES, &r), 0);
	fcgi_response_free(&r);
	close(fd);
	fake_join(&f);
	assert_string_equal(f.error, "");

	/* The bytes on the wire: 1-byte lengths for "SHORT"/"x", a 4-byte
	 * value length 200 = 0x800000c8, a 4-byte name length 130. */
	p = f.params.data;
	assert_int_equal(f.params.len, (2 + 5 + 1) + (1 + 4 + 10 + 200) + (4 + 1 + 130 + 1));
	static const uint8_t want0[] = { 5, 1, 'S', 'H', 'O', 'R', 'T', 'x' };
	assert_memory_equal(p, want0, sizeof(want0));
	p += sizeof(want0);
	static const uint8_t want1[] = { 10, 0x80, 0x00, 0x00, 0xc8, 'L' };
	assert_memory_equal(p, want1, sizeof(want1));
	p += 1 + 4 + 10 + 200;
	static const uint8_t want2[] = { 0x80, 0x00, 0x00, 0x82, 1, 'N' };
	assert_memory_equal(p, want2, sizeof(want2));
	assert_int_equal(p[4 + 1 + 130], 'y');
	fake_free(&f);
	free(reply.data);
}

static void test_request_params_split_on_pairs(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	static struct fcgi_param params[20];
	static char names[20][16], value[10001];
	int fd;

	memset(value, 'v', sizeof(value) - 1);
	for (int i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "P%02d", i);
		params[i] = (struct fcgi_param) { names[i], value };
	}
	bytes_stdout(&reply, "\r\n", 0);
	bytes_end(&reply, 0, 0);
	f.reply = &reply;
	fd = fake_start(&f);
	assert_int_equal(fcgi_request(fd, params, 20, NULL, 0, 2000, MAX_BYTES, &r), 0);
	fcgi_response_free(&r);
	close(fd);
	fake_join(&f);
	assert_string_equal(f.error, "");
	/* 200 kB of params: several records, each a whole number of pairs, as
	 * php-fpm parses each PARAMS record on its own. */
	assert_true(f.n_params_records >= 4);
	assert_true(f.params_records_standalone);
	assert_int_equal(f.params.len, 20 * (1 + 4 + 3 + 10000));
	fake_free(&f);
	free(reply.data);
}

static void test_request_param_limits(void **state)
{
	static char value[FCGI_RECORD_CONTENT_MAX];
	struct fcgi_param p[1] = { { "N", value } };
	struct fcgi_response r;
	int sv[2];

	/* No server needed: refused before a byte is sent. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(value, 'v', sizeof(value) - 1);    /* 1 + 4 + 1 + 65527 > 65528 */
	assert_int_equal(fcgi_request(sv[0], p, 1, NULL, 0, 1000, MAX_BYTES, &r), -E2BIG);
	p[0] = (struct fcgi_param) { "", "x" };
	assert_int_equal(fcgi_request(sv[0], p, 1, NULL, 0, 1000, MAX_BYTES, &r), -EINVAL);
	p[0] = (struct fcgi_param) { "N", NULL };
	assert_int_equal(fcgi_request(sv[0], p, 1, NULL, 0, 1000, MAX_BYTES, &r), -EINVAL);
	assert_int_equal(fcgi_request(sv[0], NULL, 1, NULL, 0, 1000, MAX_BYTES, &r), -EINVAL);
	assert_int_equal(fcgi_request(sv[0], NULL, 0, NULL, 5, 1000, MAX_BYTES, &r), -EINVAL);
	assert_int_equal(fcgi_request(sv[0], NULL, 0, NULL, 0, 0, MAX_BYTES, &r), -EINVAL);
	assert_int_equal(fcgi_request(-1, NULL, 0, NULL, 0, 1000, MAX_BYTES, &r), -EBADF);
	/* Nothing reached the socket. */
	char c;
	assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

static void test_request_stdin(void **state)
{
	struct fake f = { 0 };
	struct bytes reply = { 0 };
	struct fcgi_response r;
	static uint8_t data[150000];
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	bytes_stdout(&reply, "\r\n", 0);
	bytes_end(&reply, 0, 0);
	f.reply = &reply;
	fd = fake_start(&f);
	assert_int_equal(fcgi_request(fd, basic_params, 1, data, sizeof(data), 2000, MAX_BYTES, &r), 0);
	fcgi_response_free(&r);
	close(fd);
	fake_join(&f);
	assert_string_equal(f.error, "");
	assert_true(f.all_padded_to_8);
	assert_int_equal(f.stdin_data.len, sizeof(data));
	assert_memory_equal(f.stdin_data.data, data, sizeof(data));
	fake_free(&f);
	free(reply.data);
}

/* ---- addresses and connecting ---- */

static void test_address_parse(void **state)
{
	static const struct {
		const char *in;
		int want;
		enum fcgi_address_kind kind;
		const char *where;       /* path or host */
		unsigned port;
	} cases[] = {
		{ "unix:/run/php/php8.2-fpm.sock", 0, FCGI_ADDRESS_UNIX, "/run/php/php8.2-fpm.sock", 0 },
		{ "/run/php/x.sock", 0, FCGI_ADDRESS_UNIX, "/run/php/x.sock", 0 },
		{ "127.0.0.1:9000", 0, FCGI_ADDRESS_TCP, "127.0.0.1", 9000 },
		{ "[::1]:9000", 0, FCGI_ADDRESS_TCP, "::1", 9000 },
		{ "[fe80::1:2]:65535", 0, FCGI_ADDRESS_TCP, "fe80::1:2", 65535 },
		{ "9000", 0, FCGI_ADDRESS_TCP, "127.0.0.1", 9000 },
		{ "unix:run/php.sock", -EINVAL, 0, NULL, 0 },     /* relative */
		{ "run/php.sock", -EINVAL, 0, NULL, 0 },
		{ "unix:", -EINVAL, 0, NULL, 0 },
		{ "", -EINVAL, 0, NULL, 0 },
		{ "localhost:9000", -EINVAL, 0, NULL, 0 },        /* no resolving */
		{ "127.0.0.1", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:0", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:65536", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:09000", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:90a", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.1:-1", -EINVAL, 0, NULL, 0 },
		{ "127.0.0.256:9000", -EINVAL, 0, NULL, 0 },
		{ ":9000", -EINVAL, 0, NULL, 0 },
		{ "::1:9000", -EINVAL, 0, NULL, 0 },              /* v6 needs brackets */
		{ "[::1]9000", -EINVAL, 0, NULL, 0 },
		{ "[::1]:", -EINVAL, 0, NULL, 0 },
		{ "[]:9000", -EINVAL, 0, NULL, 0 },
		{ "[127.0.0.1]:9000", -EINVAL, 0, NULL, 0 },
		{ "[::1:9000", -EINVAL, 0, NULL, 0 },
	};
	struct fcgi_address a;
	char longpath[200];

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r;

		memset(&a, 0, sizeof(a));
		r = fcgi_address_parse(cases[i].in, &a);
		if (r != cases[i].want)
			fail_msg("\"%s\": %d, want %d", cases[i].in, r, cases[i].want);
		if (r < 0)
			continue;
		assert_int_equal(a.kind, cases[i].kind);
		if (a.kind == FCGI_ADDRESS_UNIX) {
			assert_string_equal(a.path, cases[i].where);
		} else {
			assert_string_equal(a.host, cases[i].where);
			assert_int_equal(a.port, cases[i].port);
		}
	}
	assert_int_equal(fcgi_address_parse(NULL, &a), -EINVAL);

	/* sun_path holds 107 characters and the NUL. */
	longpath[0] = '/';
	memset(longpath + 1, 'p', sizeof(longpath) - 1);
	longpath[107] = '\0';
	assert_int_equal(fcgi_address_parse(longpath, &a), 0);
	longpath[107] = 'p';
	longpath[108] = '\0';
	assert_int_equal(fcgi_address_parse(longpath, &a), -ENAMETOOLONG);
}

static int make_tmpdir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/cutover-test-fcgi-XXXXXX");
	return mkdtemp(dir) ? 0 : -errno;
}

static int listen_unix(const char *path, int backlog, bool do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(str_copy(sa.sun_path, sizeof(sa.sun_path), path), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static void test_connect_unix(void **state)
{
	char dir[64], path[128], longpath[200];
	struct fcgi_address a;
	int lfd, fd, fds[64];
	size_t n_fds = 0;
	uint64_t start;

	assert_int_equal(make_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/s.sock", dir);

	assert_int_equal(fcgi_connect_unix(path, 500), -ENOENT);
	lfd = listen_unix(path, 0, false);
	assert_int_equal(fcgi_connect_unix(path, 500), -ECONNREFUSED);   /* bound, not listening */
	close(lfd);
	unlink(path);

	lfd = listen_unix(path, 0, true);
	fd = fcgi_connect_unix(path, 500);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	fds[n_fds++] = fd;

	/* Fill the backlog: with nobody accepting, the next connect waits
	 * until the deadline. */
	for (;;) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		assert_true(c >= 0 && n_fds < ELEMENTSOF(fds));
		str_copy(sa.sun_path, sizeof(sa.sun_path), path);
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(c);
			break;
		}
		fds[n_fds++] = c;
	}
	start = now_ns();
	assert_int_equal(fcgi_connect_unix(path, 150), -ETIMEDOUT);
	assert_in_range(elapsed_ms(start), 140, 1500);

	assert_int_equal(fcgi_address_parse(path, &a), 0);
	assert_int_equal(fcgi_address_connect(&a, 100), -ETIMEDOUT);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	close(lfd);

	longpath[0] = '/';
	memset(longpath + 1, 'p', sizeof(longpath) - 2);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(fcgi_connect_unix(longpath, 100), -ENAMETOOLONG);
	assert_int_equal(fcgi_connect_unix("", 100), -EINVAL);
	assert_int_equal(fcgi_connect_unix(path, 0), -EINVAL);
	unlink(path);
	rmdir(dir);
}

static void test_connect_tcp(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct fcgi_address a;
	char spec[32];
	unsigned port;
	int lfd, fd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);

	fd = fcgi_connect_tcp("127.0.0.1", port, 1000);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);

	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	assert_int_equal(fcgi_address_parse(spec, &a), 0);
	fd = fcgi_address_connect(&a, 1000);
	assert_true(fd >= 0);
	close(fd);
	close(lfd);

	/* Nobody listens there any more. */
	assert_int_equal(fcgi_connect_tcp("127.0.0.1", port, 1000), -ECONNREFUSED);
	assert_int_equal(fcgi_connect_tcp("localhost", port, 1000), -EINVAL);
	assert_int_equal(fcgi_connect_tcp("127.0.0.1", 0, 1000), -EINVAL);
	assert_int_equal(fcgi_connect_tcp("127.0.0.1", 70000, 1000), -EINVAL);
	assert_int_equal(fcgi_connect_tcp("127.0.0.1", port, 0), -EINVAL);
}

/* ---- CGI params ---- */

static const char *param_get(const struct fcgi_cgi_params *p, const char *name)
{
	for (size_t i = 0; i < p->n_params; i++)
		if (strcmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	fail_msg("no param %s", name);
	return NULL;
}

static void test_cgi_params(void **state)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	_cleanup_free_ struct fcgi_cgi_params *q = NULL;

	assert_int_equal(fcgi_cgi_params_new("/srv/shop/releases/20261126T041056Z/public/",
					     "/health/check.php?deep=1&x=y", NULL, &p), 0);
	assert_string_equal(param_get(p, "SCRIPT_FILENAME"),
			    "/srv/shop/releases/20261126T041056Z/public/health/check.php");
	assert_string_equal(param_get(p, "SCRIPT_NAME"), "/health/check.php");
	assert_string_equal(param_get(p, "DOCUMENT_URI"), "/health/check.php");
	assert_string_equal(param_get(p, "DOCUMENT_ROOT"),
			    "/srv/shop/releases/20261126T041056Z/public");
	assert_string_equal(param_get(p, "REQUEST_URI"), "/health/check.php?deep=1&x=y");
	assert_string_equal(param_get(p, "QUERY_STRING"), "deep=1&x=y");
	assert_string_equal(param_get(p, "REQUEST_METHOD"), "GET");
	assert_string_equal(param_get(p, "SERVER_NAME"), "localhost");
	assert_string_equal(param_get(p, "HTTP_HOST"), "localhost");
	assert_string_equal(param_get(p, "SERVER_PROTOCOL"), "HTTP/1.1");
	assert_string_equal(param_get(p, "GATEWAY_INTERFACE"), "CGI/1.1");
	assert_string_equal(param_get(p, "REMOTE_ADDR"), "127.0.0.1");
	assert_string_equal(param_get(p, "SERVER_PORT"), "80");
	for (size_t i = 0; i < p->n_params; i++)
		for (size_t j = i + 1; j < p->n_params; j++)
			assert_string_not_equal(p->params[i].name, p->params[j].name);

	/* Root "/", no query, a host. */
	assert_int_equal(fcgi_cgi_params_new("/", "/fpm-status", "shop.example", &q), 0);
	assert_string_equal(param_get(q, "SCRIPT_FILENAME"), "/fpm-status");
	assert_string_equal(param_get(q, "DOCUMENT_ROOT"), "/");
	assert_string_equal(param_get(q, "QUERY_STRING"), "");
	assert_string_equal(param_get(q, "HTTP_HOST"), "shop.example");
}

static void test_cgi_params_refused(void **state)
{
	static const struct {
		const char *root, *uri, *host;
		int want;
	} cases[] = {
		{ "srv/app", "/a.php", NULL, -EINVAL },          /* relative root */
		{ "", "/a.php", NULL, -EINVAL },
		{ "/srv/\napp", "/a.php", NULL, -EINVAL },
		{ "/srv/app", "a.php", NULL, -EINVAL },           /* relative uri */
		{ "/srv/app", "", NULL, -EINVAL },
		{ "/srv/app", "?x", NULL, -EINVAL },
		{ "/srv/app", "/../etc/passwd", NULL, -EINVAL },
		{ "/srv/app", "/a/../../b.php", NULL, -EINVAL },
		{ "/srv/app", "/a/..", NULL, -EINVAL },
		{ "/srv/app", "/./a.php", NULL, -EINVAL },
		{ "/srv/app", "/%2e%2e/a.php", NULL, -EINVAL },
		{ "/srv/app", "/a b.php", NULL, -EINVAL },
		{ "/srv/app", "/a.php\n", NULL, -EINVAL },
		{ "/srv/app", "/a.php#frag", NULL, -EINVAL },
		{ "/srv/app", "/caf\xc3\xa9.php", NULL, -EINVAL },
		{ "/srv/app", "/a.php", "", -EINVAL },
		{ "/srv/app", "/a.php", "a b", -EINVAL },
		{ "/srv/app", "/a.php", "a/b", -EINVAL },
		{ "/srv/app", "/a.php", "a\r\nX-Injected: 1", -EINVAL },
		{ NULL, "/a.php", NULL, -EINVAL },
		{ "/srv/app", NULL, NULL, -EINVAL },
		{ "/srv/app", "/a..b/c.php?../x", NULL, 0 },     /* dots inside a name; query free */
		{ "/srv/app", "//a.php", NULL, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct fcgi_cgi_params *p = (void *)0x1;
		int r = fcgi_cgi_params_new(cases[i].root, cases[i].uri, cases[i].host, &p);

		if (r != cases[i].want)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].uri ? cases[i].uri : "NULL",
				 r, cases[i].want);
		if (r == 0)
			free(p);
		else
			assert_ptr_equal(p, (void *)0x1);
	}

	/* Bounded. */
	char *uri = malloc(10000);
	struct fcgi_cgi_params *p = NULL;

	assert_non_null(uri);
	uri[0] = '/';
	memset(uri + 1, 'a', 9998);
	uri[9999] = '\0';
	assert_int_equal(fcgi_cgi_params_new("/srv", uri, NULL, &p), -ENAMETOOLONG);
	free(uri);
}

/* ---- end to end against a real php-fpm8.2 ---- */

#define FPM_BINARY "/usr/sbin/php-fpm8.2"
#define FPM_TIMEOUT_MS 5000

struct fpm {
	char dir[64];
	char sock[128];
	pid_t master;
};

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* Readable by www-data whatever the umask. */
	if (fchmod(fd, 0644) < 0)
		return -errno;
	return write_all(fd, text, strlen(text));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* Stops the pool we started: SIGQUIT (graceful), then SIGKILL to its whole
 * process group (the master's children would outlive a killed master). */
static void fpm_stop(struct fpm *f)
{
	int status;

	if (f->master <= 0)
		return;
	kill(f->master, SIGQUIT);
	for (int i = 0; i < 300; i++) {
		pid_t w = waitpid(f->master, &status, WNOHANG);

		if (w == f->master || (w < 0 && errno == ECHILD)) {
			f->master = 0;
			return;
		}
		poll(NULL, 0, 10);
	}
	/* Still there, so its process group is still ours to signal. */
	kill(-f->master, SIGKILL);
	waitpid(f->master, &status, 0);
	f->master = 0;
}

static int fpm_teardown(void **state)
{
	struct fpm *f = *state;
	int r = 0;

	if (!f)
		return 0;
	fpm_stop(f);
	if (f->dir[0] && nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		r = -1;
	free(f);
	*state = NULL;
	return r;
}

static const char fpm_conf_fmt[] =
	"[global]\n"
	"pid = %1$s/fpm.pid\n"
	"error_log = %1$s/fpm.log\n"
	"daemonize = no\n"
	"\n"
	"[t]\n"
	"listen = %1$s/fpm.sock\n"
	"listen.mode = 0666\n"
	"user = www-data\n"
	"group = www-data\n"
	"pm = static\n"
	"pm.max_children = 2\n"
	"pm.status_path = /fpm-status\n";

/* Starts php-fpm in its own process group; the child never returns. */
static pid_t fpm_spawn(const struct fpm *f)
{
	char conf[256], out[256];
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	/* Own process group, so teardown can reach the pool's children; die
	 * with the test if it crashes before teardown. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(conf, sizeof(conf), "%s/fpm.conf", f->dir);
	snprintf(out, sizeof(out), "%s/fpm.out", f->dir);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	/* -n: no php.ini; nothing here needs an extension. */
	execl(FPM_BINARY, "php-fpm8.2", "-F", "-n", "-y", conf, (char *)NULL);
	_exit(127);
}

static int fpm_setup(void **state)
{
	const char *skip = getenv("CUTOVER_TEST_NO_FPM");
	char conf[4096];
	struct fpm *f;

	/* No state means skip: cmocka cannot skip from a setup function. */
	*state = NULL;
	if ((skip && *skip && strcmp(skip, "0") != 0) || geteuid() != 0 ||
	    access(FPM_BINARY, X_OK) < 0 || !getpwnam("www-data"))
		return 0;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	*state = f;   /* from here on, teardown cleans up whatever exists */
	if (make_tmpdir(f->dir, sizeof(f->dir)) < 0) {
		f->dir[0] = '\0';
		return -1;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/fpm.sock", f->dir);
	snprintf(conf, sizeof(conf), fpm_conf_fmt, f->dir);
	if (chmod(f->dir, 0755) < 0 ||
	    write_file(f->dir, "fpm.conf", conf) < 0 ||
	    write_file(f->dir, "marker.php",
		       "<?php\necho \"cutover-marker:\", $_SERVER['QUERY_STRING'], \"\\n\";\n") < 0 ||
	    write_file(f->dir, "fail.php", "<?php\nhttp_response_code(500);\necho \"broken\";\n") < 0 ||
	    write_file(f->dir, "warn.php", "<?php\nerror_log(\"cutover-stderr\");\necho \"ok\";\n") < 0 ||
	    write_file(f->dir, "sleep.php", "<?php\nusleep(300000);\necho \"slept\";\n") < 0)
		return -1;

	f->master = fpm_spawn(f);
	if (f->master < 0) {
		f->master = 0;
		return -1;
	}
	setpgid(f->master, f->master);   /* also from here, whichever runs first */

	/* Ready when the socket accepts a connection. */
	for (int i = 0; i < 500; i++) {
		int status, fd = fcgi_connect_unix(f->sock, 100);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(f->master, &status, WNOHANG) == f->master) {
			f->master = 0;
			fprintf(stderr, "php-fpm exited early, see %s/fpm.log\n", f->dir);
			return -1;
		}
		poll(NULL, 0, 10);
	}
	fprintf(stderr, "php-fpm did not open %s\n", f->sock);
	return -1;
}

/* One GET against the pool, on a fresh connection. */
static int fpm_get(const struct fpm *f, const char *uri, struct fcgi_response *ret)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = fcgi_connect_unix(f->sock, FPM_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	r = fcgi_cgi_params_new(f->dir, uri, NULL, &p);
	if (r < 0)
		return r;
	return fcgi_request(fd, p->params, p->n_params, NULL, 0, FPM_TIMEOUT_MS, MAX_BYTES, ret);
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *close_paren;
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so from the end. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

struct sleeper {
	const struct fpm *fpm;
	int result;
	struct fcgi_response response;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	s->result = fpm_get(s->fpm, "/sleep.php?cutover-sleep", &s->response);
	return NULL;
}

static void test_fpm_end_to_end(void **state)
{
	struct fpm *f = *state;
	struct fcgi_response r;
	struct fpm_status st;
	struct sleeper sl = { 0 };
	pthread_t thread;
	bool seen = false;

	if (!f)
		skip();

	/* A script: status 200 and the marker. */
	assert_int_equal(fpm_get(f, "/marker.php?x=1", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "cutover-marker:x=1\n");
	assert_non_null(strstr(r.headers, "Content-type: text/html"));
	assert_int_equal(r.app_status, 0);
	fcgi_response_free(&r);

	/* http_response_code(500) arrives as "Status: 500 ...". */
	assert_int_equal(fpm_get(f, "/fail.php", &r), 0);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body, "broken");
	fcgi_response_free(&r);

	/* error_log() goes to FCGI_STDERR. */
	assert_int_equal(fpm_get(f, "/warn.php", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok");
	assert_non_null(strstr(r.stderr_text, "cutover-stderr"));
	fcgi_response_free(&r);

	/* A script that is not there. */
	assert_int_equal(fpm_get(f, "/missing.php", &r), 0);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.stderr_text, "Primary script unknown"));
	fcgi_response_free(&r);

	/* Split between two parties, as the helper and the front end use it:
	 * the request sent and the write side shut down, then the answer
	 * read. php-fpm must answer a half-closed connection in full. */
	{
		_cleanup_free_ struct fcgi_cgi_params *p = NULL;
		_cleanup_close_ int fd = fcgi_connect_unix(f->sock, FPM_TIMEOUT_MS);

		assert_true(fd >= 0);
		assert_int_equal(fcgi_cgi_params_new(f->dir, "/marker.php?half=1", NULL, &p), 0);
		assert_int_equal(fcgi_send_request(fd, p->params, p->n_params, NULL, 0, FPM_TIMEOUT_MS), 0);
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
		assert_int_equal(fcgi_read_response(fd, FPM_TIMEOUT_MS, MAX_BYTES, &r), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "cutover-marker:half=1\n");
		fcgi_response_free(&r);
	}

	/* The status page: pool "t", two processes, both the master's. A
	 * static pool's second child may still be starting on a loaded
	 * machine: ask again, for up to 5 s, until it is on the page. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(fpm_get(f, "/fpm-status?full", &r), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.headers, "text/plain"));
		assert_int_equal(fpm_status_parse(r.body, r.body_len, &st), 0);
		fcgi_response_free(&r);
		if ((st.total == 2 && st.n_procs == 2) || i == 99)
			break;
		fpm_status_free(&st);
		poll(NULL, 0, 50);
	}
	assert_string_equal(st.pool, "t");
	assert_string_equal(st.pm, "static");
	assert_int_equal(st.total, 2);
	assert_int_equal(st.n_procs, 2);
	for (size_t i = 0; i < st.n_procs; i++) {
		pid_t parent = parent_of(st.procs[i].pid);

		/* A child may have exited since the page was made (-1); one
		 * that is alive must be the master's. */
		if (parent != -1 && parent != f->master)
			fail_msg("process %d of the status page has parent %d, not the master %d",
				 (int)st.procs[i].pid, (int)parent, (int)f->master);
	}
	assert_true(st.procs[0].pid != st.procs[1].pid);
	fpm_status_free(&st);

	/* A 300 ms request on one connection, the status page on another. */
	sl.fpm = f;
	assert_int_equal(pthread_create(&thread, NULL, sleeper_main, &sl), 0);
	for (int i = 0; i < 100 && !seen; i++) {
		poll(NULL, 0, 10);
		if (fpm_get(f, "/fpm-status?full", &r) < 0)
			continue;
		if (fpm_status_parse(r.body, r.body_len, &st) == 0) {
			for (size_t j = 0; j < st.n_procs; j++) {
				const struct fpm_proc *p = &st.procs[j];

				if (strcmp(p->request_uri, "/sleep.php?cutover-sleep") != 0 ||
				    strcmp(p->state, "Running") != 0)
					continue;
				seen = true;
				assert_true(p->request_duration_us > 0);
				assert_true(fpm_status_longest_busy_us(&st) >= p->request_duration_us);
				assert_true(fpm_status_longest_busy_us(&st) > 0);
				assert_non_null(strstr(p->script, "/sleep.php"));
			}
			fpm_status_free(&st);
		}
		fcgi_response_free(&r);
	}
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(sl.result, 0);
	assert_string_equal(sl.response.body, "slept");
	fcgi_response_free(&sl.response);
	assert_true(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_encode_decode),
		cmocka_unit_test(test_param_encode_short),
		cmocka_unit_test(test_param_encode_long),
		cmocka_unit_test(test_param_decode),
		cmocka_unit_test(test_request_normal),
		cmocka_unit_test(test_request_status_header),
		cmocka_unit_test(test_request_stderr),
		cmocka_unit_test(test_request_app_status_bytes),
		cmocka_unit_test(test_request_truncated),
		cmocka_unit_test(test_request_peer_gone),
		cmocka_unit_test(test_request_too_big),
		cmocka_unit_test(test_request_endless_skipped_records),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_request_timeout_is_overall),
		cmocka_unit_test(test_request_ignores_unknown),
		cmocka_unit_test(test_request_bad_records),
		cmocka_unit_test(test_request_reads_no_further),
		cmocka_unit_test(test_request_long_params),
		cmocka_unit_test(test_request_params_split_on_pairs),
		cmocka_unit_test(test_request_param_limits),
		cmocka_unit_test(test_request_stdin),
		cmocka_unit_test(test_address_parse),
		cmocka_unit_test(test_connect_unix),
		cmocka_unit_test(test_connect_tcp),
		cmocka_unit_test(test_cgi_params),
		cmocka_unit_test(test_cgi_params_refused),
		cmocka_unit_test_setup_teardown(test_fpm_end_to_end, fpm_setup, fpm_teardown),
	};

	/* SIGPIPE stays fatal: fcgi_request() must never raise it. */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
