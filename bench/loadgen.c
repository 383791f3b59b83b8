/* SPDX-License-Identifier: MIT */
/*
 * loadgen: a small, exact HTTP/1.1 load generator for proving zero-downtime
 * deploys. It keeps C keep-alive connections busy with GETs for a bounded
 * time, records every request (send and receive times on both clocks,
 * status, socket error), and reads the test app's "a=X b=Y [i=Z]" body to
 * count torn responses (ids that differ) and, against a switch log written
 * by the deploy script, stale ones (sent after a switch, served by an older
 * release). See bench/README.md.
 *
 *   cc -O2 -Wall -Wextra -o build/loadgen bench/loadgen.c
 *
 * Only loopback is a target: the URL must name 127.0.0.0/8 or localhost.
 * Single-threaded, epoll, edge-triggered, non-blocking sockets; no
 * pipelining, so each connection has at most one request in flight and a
 * response is matched to its request without guessing.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define NSEC 1000000000ULL
#define MSEC 1000000ULL

#define READ_BUF 16384       /* response headers must fit */
#define BODY_KEEP 256        /* body bytes kept for the id check */
#define ID_MAX 64            /* longest id + NUL */
#define IDS_MAX 4096         /* distinct ids remembered */
#define ID_NONE UINT16_MAX
#define CONNECT_BACKOFF (10 * MSEC)
#define MAX_CONNECTIONS 10000
#define DEFAULT_MAX_REQUESTS 10000000ULL

enum sock_error {
	ERR_NONE,
	ERR_CONNECT,    /* connect(2) failed */
	ERR_RESET,      /* ECONNRESET, EPIPE or another socket error mid-request */
	ERR_EOF,        /* the server closed before the response was complete */
	ERR_TIMEOUT,    /* no complete response within --timeout */
	ERR_PARSE,      /* not a well-formed HTTP/1.x response */
	ERR_UNFINISHED, /* still in flight when the drain time ran out; not an error */
	ERR__COUNT,
};

static const char *const error_names[ERR__COUNT] = {
	[ERR_NONE] = "none", [ERR_CONNECT] = "connect", [ERR_RESET] = "reset",
	[ERR_EOF] = "eof", [ERR_TIMEOUT] = "timeout", [ERR_PARSE] = "parse",
	[ERR_UNFINISHED] = "unfinished",
};

enum record_flag {
	REC_DONE = 1 << 0,   /* finished: a response or an error */
	REC_IDS = 1 << 1,    /* the body carried a= and b= */
	REC_TORN = 1 << 2,
	REC_STALE = 1 << 3,
};

/* One request attempt. Times are nanoseconds: mono on CLOCK_MONOTONIC,
 * real since the epoch on CLOCK_REALTIME (the switch log's clock). */
struct record {
	uint64_t send_mono, recv_mono;
	int64_t send_real, recv_real;
	uint32_t conn;
	uint16_t status; /* 0 when there was no response */
	uint16_t id_a, id_b, id_i;
	uint8_t error;   /* enum sock_error */
	uint8_t flags;   /* enum record_flag */
};

enum http_phase {
	HTTP_HEAD, HTTP_BODY, HTTP_CHUNK_SIZE, HTTP_CHUNK_DATA, HTTP_CHUNK_END,
	HTTP_TRAILER, HTTP_UNTIL_CLOSE, HTTP_DONE,
};

struct http_response {
	enum http_phase phase;
	int status;
	bool close;          /* the server will close after this response */
	uint64_t remaining;  /* body or chunk bytes still to come */
	char body[BODY_KEEP];
	size_t body_len;
	size_t received;     /* bytes of this response seen so far */
};

enum conn_state {
	CONN_CLOSED,     /* no socket; the next request connects */
	CONN_BACKOFF,    /* no socket until `deadline` (after a connect error) */
	CONN_CONNECTING, /* connect in progress, request pending */
	CONN_BUSY,       /* request written (or being written), awaiting response */
	CONN_IDLE,       /* keep-alive connection with nothing in flight */
};

struct conn {
	uint32_t index;
	int fd;
	enum conn_state state;
	size_t rec;           /* the in-flight record */
	uint64_t deadline;    /* request timeout, or end of back-off */
	size_t written;       /* bytes of the request written */
	struct http_response resp;
	char buf[READ_BUF];
	size_t len;
};

struct switch_entry {
	int64_t time_real;
	uint16_t id;
};

struct options {
	char host[64];
	struct sockaddr_in addr;
	char path[2048];
	unsigned connections;
	double duration;
	double rate;
	double drain;
	uint64_t timeout_ns;
	uint64_t switch_grace_ns;
	uint64_t max_requests;
	const char *switch_log;
	const char *marker_file;
	const char *out;
	bool per_second;
	bool quiet;
};

static struct options opt = {
	.connections = 1,
	.duration = 0,
	.drain = -1,
	.timeout_ns = 10 * NSEC,
	.switch_grace_ns = 2 * NSEC,
	.max_requests = DEFAULT_MAX_REQUESTS,
};

static char request[4096];
static size_t request_len;

static struct record *records;
static size_t nrecords, records_cap;
static bool records_full;

static char ids[IDS_MAX][ID_MAX];
static unsigned nids;

static volatile sig_atomic_t interrupted;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * (int64_t)NSEC + ts.tv_nsec;
}

/* First signal: stop sending and drain. Second: abandon what is in flight. */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = interrupted + 1;
}

static const char usage_text[] =
	"usage: loadgen --url http://127.0.0.1:PORT/PATH --duration SECONDS [--connections N]\n"
	"               [--rate R] [--max-requests N] [--timeout MS] [--drain SECONDS]\n"
	"               [--switch-log FILE] [--switch-grace MS] [--expect-marker-file FILE]\n"
	"               [--out FILE]\n"
	"               [--per-second] [--quiet]\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	exit(EXIT_USAGE);
}

/* ---- ids ----------------------------------------------------------- */

/* The index of id s[0..n) in the table, adding it; ID_NONE if the table
 * is full or the id is not a plain token. Ids are few (one per release),
 * so a linear scan starting from the last hit is enough. */
static uint16_t id_intern(const char *s, size_t n)
{
	static unsigned last;
	unsigned i;

	if (n == 0 || n >= ID_MAX)
		return ID_NONE;
	if (last < nids && strncmp(ids[last], s, n) == 0 && ids[last][n] == '\0')
		return (uint16_t)last;
	for (i = 0; i < nids; i++)
		if (strncmp(ids[i], s, n) == 0 && ids[i][n] == '\0')
			return (uint16_t)(last = i);
	if (nids == IDS_MAX)
		return ID_NONE;
	memcpy(ids[nids], s, n);
	ids[nids][n] = '\0';
	return (uint16_t)(last = nids++);
}

static const char *id_name(uint16_t id)
{
	return id == ID_NONE ? "-" : ids[id];
}

/* Reads "a=X b=Y [i=Z]" tokens from a response body into r. */
static void body_parse_ids(struct record *r, const char *body, size_t len)
{
	size_t i = 0, start;
	uint16_t *slot;

	r->id_a = r->id_b = r->id_i = ID_NONE;
	while (i < len) {
		while (i < len && isspace((unsigned char)body[i]))
			i++;
		start = i;
		while (i < len && !isspace((unsigned char)body[i]))
			i++;
		if (i - start < 3 || body[start + 1] != '=')
			continue;
		switch (body[start]) {
		case 'a': slot = &r->id_a; break;
		case 'b': slot = &r->id_b; break;
		case 'i': slot = &r->id_i; break;
		default: continue;
		}
		*slot = id_intern(body + start + 2, i - start - 2);
	}
	if (r->id_a == ID_NONE || r->id_b == ID_NONE)
		return;
	r->flags |= REC_IDS;
	/* "i=static" marks a static file, which has no index.php id. */
	if (r->id_a != r->id_b ||
	    (r->id_i != ID_NONE && strcmp(ids[r->id_i], "static") != 0 && r->id_i != r->id_a))
		r->flags |= REC_TORN;
}

/* ---- records ------------------------------------------------------- */

/* A new record, or NULL once memory or --max-requests runs out. */
static struct record *record_new(size_t *ret_index)
{
	struct record *grown;
	size_t cap;

	if (nrecords == records_cap) {
		cap = records_cap ? records_cap * 2 : 65536;
		grown = realloc(records, cap * sizeof(*records));
		if (!grown) {
			records_full = true;
			return NULL;
		}
		records = grown;
		records_cap = cap;
	}
	*ret_index = nrecords;
	memset(&records[nrecords], 0, sizeof(records[0]));
	return &records[nrecords++];
}

static void record_finish(struct record *r, int status, enum sock_error error)
{
	r->recv_mono = mono_ns();
	r->recv_real = real_ns();
	r->status = (uint16_t)status;
	r->error = (uint8_t)error;
	r->flags |= REC_DONE;
}

/* ---- HTTP response parsing ----------------------------------------- */

static bool header_is(const char *line, size_t len, const char *name, const char **ret_value)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	*ret_value = line;
	return true;
}

static bool value_has(const char *value, size_t len, const char *token)
{
	size_t n = strlen(token), i;

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(value + i, token, n) == 0)
			return true;
	return false;
}

/* Parses the status line and headers in head[0..len) (ending before the
 * blank line) and picks how the body is delimited. */
static int http_parse_head(struct http_response *resp, const char *head, size_t len)
{
	const char *line = head, *end = head + len, *eol, *value;
	bool chunked = false, has_length = false, http10;
	uint64_t length = 0;

	if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' ||
	    !isdigit((unsigned char)head[9]) || !isdigit((unsigned char)head[10]) ||
	    !isdigit((unsigned char)head[11]))
		return -EPROTO;
	http10 = head[7] == '0';
	resp->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
	resp->close = http10;
	while ((eol = memmem(line, (size_t)(end - line), "\r\n", 2)) || line < end) {
		size_t n = eol ? (size_t)(eol - line) : (size_t)(end - line);

		if (header_is(line, n, "content-length", &value)) {
			char *stop;

			errno = 0;
			length = strtoull(value, &stop, 10);
			if (errno || stop == value)
				return -EPROTO;
			has_length = true;
		} else if (header_is(line, n, "transfer-encoding", &value)) {
			chunked = value_has(value, n - (size_t)(value - line), "chunked");
		} else if (header_is(line, n, "connection", &value)) {
			size_t vn = n - (size_t)(value - line);

			if (value_has(value, vn, "close"))
				resp->close = true;
			else if (http10 && value_has(value, vn, "keep-alive"))
				resp->close = false;
		}
		if (!eol)
			break;
		line = eol + 2;
	}
	if (chunked) {
		resp->phase = HTTP_CHUNK_SIZE;
	} else if (resp->status / 100 == 1 || resp->status == 204 || resp->status == 304) {
		resp->phase = HTTP_DONE;
	} else if (has_length) {
		resp->remaining = length;
		resp->phase = length ? HTTP_BODY : HTTP_DONE;
	} else {
		resp->phase = HTTP_UNTIL_CLOSE;
		resp->close = true;
	}
	return 0;
}

static void http_keep_body(struct http_response *resp, const char *data, size_t n)
{
	size_t room = sizeof(resp->body) - resp->body_len;

	if (n > room)
		n = room;
	memcpy(resp->body + resp->body_len, data, n);
	resp->body_len += n;
}

/* Consumes what it can of buf[0..*len); returns 1 when the response is
 * complete, 0 when more bytes are needed, -EPROTO on a malformed one. */
static int http_feed(struct http_response *resp, char *buf, size_t *len)
{
	size_t used = 0, n;
	const char *eol;
	int r = 0;

	for (;;) {
		const char *p = buf + used;
		size_t avail = *len - used;

		switch (resp->phase) {
		case HTTP_HEAD:
			eol = memmem(p, avail, "\r\n\r\n", 4);
			if (!eol) {
				if (*len == READ_BUF)
					r = -EPROTO;
				goto out;
			}
			r = http_parse_head(resp, p, (size_t)(eol - p));
			if (r < 0)
				goto out;
			used += (size_t)(eol - p) + 4;
			break;
		case HTTP_BODY:
		case HTTP_CHUNK_DATA:
		case HTTP_UNTIL_CLOSE:
			n = avail;
			if (resp->phase != HTTP_UNTIL_CLOSE && n > resp->remaining)
				n = (size_t)resp->remaining;
			http_keep_body(resp, p, n);
			used += n;
			if (resp->phase == HTTP_UNTIL_CLOSE)
				goto out;
			resp->remaining -= n;
			if (resp->remaining > 0)
				goto out;
			resp->phase = resp->phase == HTTP_BODY ? HTTP_DONE : HTTP_CHUNK_END;
			break;
		case HTTP_CHUNK_SIZE: {
			char *stop;
			unsigned long long size;

			eol = memmem(p, avail, "\r\n", 2);
			if (!eol) {
				if (avail > 1024)
					r = -EPROTO;
				goto out;
			}
			if (!isxdigit((unsigned char)*p)) {
				r = -EPROTO;
				goto out;
			}
			size = strtoull(p, &stop, 16);
			if (stop > eol || (*stop != ';' && *stop != '\r' && *stop != ' ')) {
				r = -EPROTO;
				goto out;
			}
			used += (size_t)(eol - p) + 2;
			resp->remaining = size;
			resp->phase = size ? HTTP_CHUNK_DATA : HTTP_TRAILER;
			break;
		}
		case HTTP_CHUNK_END:
			if (avail < 2)
				goto out;
			if (p[0] != '\r' || p[1] != '\n') {
				r = -EPROTO;
				goto out;
			}
			used += 2;
			resp->phase = HTTP_CHUNK_SIZE;
			break;
		case HTTP_TRAILER:
			eol = memmem(p, avail, "\r\n", 2);
			if (!eol)
				goto out;
			used += (size_t)(eol - p) + 2;
			if (eol == p)
				resp->phase = HTTP_DONE;
			break;
		case HTTP_DONE:
			r = 1;
			goto out;
		}
	}
out:
	memmove(buf, buf + used, *len - used);
	*len -= used;
	return r;
}

/* ---- connections --------------------------------------------------- */

struct loop {
	int epoll_fd;
	struct conn *conns;
	uint64_t start_mono;
	uint64_t stop_sending; /* no new request from here on */
	uint64_t hard_end;     /* in-flight requests are abandoned here */
	uint64_t issued;
	unsigned in_flight;
	bool sending;
};

static void conn_close(struct loop *l, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->len = 0;
	c->state = CONN_CLOSED;
}

/* Ends the in-flight request with `error` and drops the connection; the
 * next request reconnects (after a back-off if connecting failed). */
static void conn_fail(struct loop *l, struct conn *c, enum sock_error error)
{
	record_finish(&records[c->rec], c->resp.status, error);
	l->in_flight--;
	conn_close(l, c);
	if (error == ERR_CONNECT) {
		c->state = CONN_BACKOFF;
		c->deadline = mono_ns() + CONNECT_BACKOFF;
	}
}

/* Writes what is left of the request; the send time is taken when the
 * first byte goes out, so a connect's own latency is not counted. */
static void conn_write(struct loop *l, struct conn *c)
{
	struct record *r = &records[c->rec];
	ssize_t n;

	if (c->written == 0) {
		r->send_mono = mono_ns();
		r->send_real = real_ns();
		c->deadline = r->send_mono + opt.timeout_ns;
	}
	while (c->written < request_len) {
		n = send(c->fd, request + c->written, request_len - c->written, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_fail(l, c, ERR_RESET);
			return;
		}
		c->written += (size_t)n;
	}
}

static int conn_connect(struct loop *l, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr)) < 0 && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	ev.data.ptr = c;
	if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	c->fd = fd;
	return 0;
}

/* Starts a request on c: a new record, a connection if there is none. */
static bool conn_issue(struct loop *l, struct conn *c)
{
	struct record *r = record_new(&c->rec);
	uint64_t now = mono_ns();

	if (!r)
		return false;
	r->conn = c->index;
	r->send_mono = now;
	r->send_real = real_ns();
	r->id_a = r->id_b = r->id_i = ID_NONE;
	memset(&c->resp, 0, sizeof(c->resp));
	c->written = 0;
	c->deadline = now + opt.timeout_ns;
	l->issued++;
	l->in_flight++;
	if (c->fd < 0) {
		if (conn_connect(l, c) < 0) {
			c->state = CONN_BUSY;
			conn_fail(l, c, ERR_CONNECT);
			return true;
		}
		c->state = CONN_CONNECTING;
		return true;
	}
	c->state = CONN_BUSY;
	conn_write(l, c);
	return true;
}

static void conn_response_done(struct loop *l, struct conn *c)
{
	struct record *r = &records[c->rec];

	record_finish(r, c->resp.status, ERR_NONE);
	body_parse_ids(r, c->resp.body, c->resp.body_len);
	l->in_flight--;
	/* A server that sends more than one response per request, or a
	 * server that closes, gets a fresh connection for the next one. */
	if (c->resp.close || c->len > 0)
		conn_close(l, c);
	else
		c->state = CONN_IDLE;
}

static void conn_readable(struct loop *l, struct conn *c)
{
	ssize_t n;
	int r;

	for (;;) {
		if (c->state != CONN_BUSY) {
			/* Bytes or EOF on an idle keep-alive connection: the server
			 * timed it out; reconnect for the next request. */
			char sink[512];

			n = recv(c->fd, sink, sizeof(sink), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			conn_close(l, c);
			return;
		}
		if (c->len == READ_BUF) { /* nothing consumed from a full buffer */
			conn_fail(l, c, ERR_PARSE);
			return;
		}
		n = recv(c->fd, c->buf + c->len, READ_BUF - c->len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_fail(l, c, ERR_RESET);
			return;
		}
		if (n == 0) {
			if (c->resp.phase == HTTP_UNTIL_CLOSE) {
				c->resp.phase = HTTP_DONE;
				conn_response_done(l, c);
				conn_close(l, c);
			} else {
				conn_fail(l, c, ERR_EOF);
			}
			return;
		}
		c->len += (size_t)n;
		c->resp.received += (size_t)n;
		r = http_feed(&c->resp, c->buf, &c->len);
		if (r < 0) {
			conn_fail(l, c, ERR_PARSE);
			return;
		}
		if (r > 0) {
			conn_response_done(l, c);
			if (c->fd < 0)
				return;
		}
	}
}

static void conn_event(struct loop *l, struct conn *c, uint32_t events)
{
	if (c->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail(l, c, ERR_CONNECT);
			return;
		}
		c->state = CONN_BUSY;
		conn_write(l, c);
		if (c->fd < 0)
			return;
	} else if (c->state == CONN_BUSY && (events & EPOLLOUT) && c->written < request_len) {
		conn_write(l, c);
		if (c->fd < 0)
			return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_readable(l, c);
}

/* ---- the loop ------------------------------------------------------ */

/* With --rate, the n-th request may start at start + n / rate: paced from
 * the start, so after a stall the schedule catches up (open-loop). */
static uint64_t rate_slot(const struct loop *l)
{
	return l->start_mono + (uint64_t)((double)l->issued * (double)NSEC / opt.rate);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Starts requests on every connection that can take one; returns the
 * earliest time something may need doing (a back-off or rate slot). */
static uint64_t loop_issue(struct loop *l, uint64_t now)
{
	uint64_t wake = UINT64_MAX;
	unsigned i;

	for (i = 0; i < opt.connections && l->sending; i++) {
		struct conn *c = &l->conns[i];

		if (c->state == CONN_BACKOFF) {
			if (now < c->deadline) {
				wake = min_u64(wake, c->deadline);
				continue;
			}
			c->state = CONN_CLOSED;
		}
		if (c->state != CONN_CLOSED && c->state != CONN_IDLE)
			continue;
		if (l->issued >= opt.max_requests) {
			l->sending = false;
			break;
		}
		if (opt.rate > 0) {
			uint64_t slot = rate_slot(l);

			if (now < slot) {
				wake = min_u64(wake, slot);
				break;
			}
		}
		if (!conn_issue(l, c)) {
			l->sending = false;
			break;
		}
	}
	return wake;
}

static uint64_t loop_timeouts(struct loop *l, uint64_t now)
{
	uint64_t wake = UINT64_MAX;
	unsigned i;

	for (i = 0; i < opt.connections; i++) {
		struct conn *c = &l->conns[i];

		if (c->state != CONN_BUSY && c->state != CONN_CONNECTING)
			continue;
		if (now >= c->deadline)
			conn_fail(l, c, ERR_TIMEOUT);
		else
			wake = min_u64(wake, c->deadline);
	}
	return wake;
}

static void loop_run(struct loop *l)
{
	struct epoll_event events[256];
	uint64_t now, wake;
	int n, i, timeout_ms;

	l->sending = true;
	for (;;) {
		now = mono_ns();
		if (now >= l->stop_sending || interrupted)
			l->sending = false;
		if (!l->sending && l->in_flight == 0)
			break;
		if (now >= l->hard_end || interrupted > 1)
			break;
		wake = min_u64(loop_timeouts(l, now), l->hard_end);
		if (l->sending)
			wake = min_u64(min_u64(wake, loop_issue(l, now)), l->stop_sending);
		now = mono_ns();
		timeout_ms = wake <= now ? 0 : (int)min_u64((wake - now + MSEC - 1) / MSEC, 1000);
		n = epoll_wait(l->epoll_fd, events, (int)(sizeof(events) / sizeof(events[0])), timeout_ms);
		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++)
			conn_event(l, events[i].data.ptr, events[i].events);
	}
	for (i = 0; i < (int)opt.connections; i++) {
		struct conn *c = &l->conns[i];

		if (c->state == CONN_BUSY || c->state == CONN_CONNECTING)
			conn_fail(l, c, ERR_UNFINISHED);
		conn_close(l, c);
	}
}

/* ---- staleness ----------------------------------------------------- */

static int switch_cmp(const void *x, const void *y)
{
	const struct switch_entry *a = x, *b = y;

	return (a->time_real > b->time_real) - (a->time_real < b->time_real);
}

/* Reads "<realtime-ns> <release-id>" lines; blank and '#' lines are
 * skipped, malformed ones reported and skipped. */
static struct switch_entry *switch_log_read(const char *path, size_t *ret_count)
{
	struct switch_entry *list = NULL, *grown;
	size_t n = 0, cap = 0;
	char line[256], id[ID_MAX];
	long long t;
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");

	*ret_count = 0;
	if (!f) {
		fprintf(stderr, "loadgen: cannot read switch log %s: %s; staleness not judged\n",
			path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (sscanf(line, "%lld %63s", &t, id) != 2 || t <= 0) {
			fprintf(stderr, "loadgen: %s:%u: not '<realtime-ns> <release-id>'; skipped\n",
				path, lineno);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown)
				break;
			list = grown;
		}
		list[n].time_real = t;
		list[n].id = id_intern(id, strlen(id));
		n++;
	}
	fclose(f);
	if (n > 1)
		qsort(list, n, sizeof(*list), switch_cmp);
	*ret_count = n;
	return list;
}

/* The release expected from the start, from the first word of FILE. */
static uint16_t marker_read(const char *path)
{
	char id[ID_MAX];
	FILE *f = fopen(path, "re");
	int ok;

	if (!f) {
		fprintf(stderr, "loadgen: cannot read marker file %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	ok = fscanf(f, "%63s", id) == 1;
	fclose(f);
	if (!ok) {
		fprintf(stderr, "loadgen: marker file %s holds no release id\n", path);
		exit(EXIT_USAGE);
	}
	return id_intern(id, strlen(id));
}

struct stale_result {
	uint64_t stale;
	double seconds;
	size_t switches;
};

/* A response sent at time t, after switch k (the last line with time <=
 * t), must come from release k. Within --switch-grace before the next
 * line it may also come from release k+1: the deploy script logs a switch
 * after it happened, so the next release is live a little before its
 * line's time. The grace is bounded so that a rollback (A, B, A) still
 * counts old A responses during B as stale. Anything else is stale.
 * Before the first switch, the expected release is the marker file's
 * (if given). The stale window of switch k runs from its time to the
 * send time of its last stale response; the windows are summed. */
static struct stale_result stale_classify(const struct switch_entry *sw, size_t nsw,
					  uint16_t initial, int64_t first_send)
{
	struct stale_result res = { .switches = nsw };
	int64_t *last_stale;
	size_t i, k;

	last_stale = calloc(nsw + 1, sizeof(*last_stale));
	if (!last_stale)
		return res;
	for (i = 0; i < nrecords; i++) {
		struct record *r = &records[i];
		size_t lo = 0, hi = nsw;
		uint16_t expect, next;

		if (!(r->flags & REC_IDS))
			continue;
		while (lo < hi) { /* lo = number of switches at or before the send */
			size_t mid = (lo + hi) / 2;

			if (sw[mid].time_real <= r->send_real)
				lo = mid + 1;
			else
				hi = mid;
		}
		k = lo; /* slot 0: before any switch; slot k: after switch k-1 */
		expect = k == 0 ? initial : sw[k - 1].id;
		next = ID_NONE;
		if (k < nsw && r->send_real >= sw[k].time_real - (int64_t)opt.switch_grace_ns)
			next = sw[k].id;
		if (expect == ID_NONE)
			continue;
		if ((r->id_a == expect || r->id_a == next) && (r->id_b == expect || r->id_b == next))
			continue;
		r->flags |= REC_STALE;
		res.stale++;
		if (r->send_real > last_stale[k])
			last_stale[k] = r->send_real;
	}
	for (k = 0; k <= nsw; k++) {
		int64_t from = k == 0 ? first_send : sw[k - 1].time_real;

		if (last_stale[k] > 0 && last_stale[k] >= from)
			res.seconds += (double)(last_stale[k] - from) / (double)NSEC;
	}
	free(last_stale);
	return res;
}

/* ---- report -------------------------------------------------------- */

struct summary {
	uint64_t requests, ok, non2xx, errors, unfinished, torn, unparsed;
	uint64_t by_error[ERR__COUNT];
	uint64_t by_status[600];
	double p50, p99, max, duration, rate;
};

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

/* Nearest-rank percentile of sorted v[0..n), in milliseconds. */
static double percentile_ms(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / (double)MSEC;
}

static void summarize(struct summary *s, uint64_t start, uint64_t end)
{
	uint64_t *lat = malloc((nrecords ? nrecords : 1) * sizeof(*lat));
	size_t nlat = 0, i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nrecords; i++) {
		const struct record *r = &records[i];

		s->requests++;
		s->by_error[r->error]++;
		if (r->error == ERR_UNFINISHED)
			s->unfinished++;
		else if (r->error != ERR_NONE)
			s->errors++;
		if (r->status && r->error == ERR_NONE) {
			if (r->status / 100 == 2)
				s->ok++;
			else
				s->non2xx++;
			if (r->status < 600)
				s->by_status[r->status]++;
			if (lat)
				lat[nlat++] = r->recv_mono - r->send_mono;
			if (r->status / 100 == 2 && !(r->flags & REC_IDS))
				s->unparsed++;
		}
		if (r->flags & REC_TORN)
			s->torn++;
	}
	if (lat) {
		qsort(lat, nlat, sizeof(*lat), u64_cmp);
		s->p50 = percentile_ms(lat, nlat, 0.50);
		s->p99 = percentile_ms(lat, nlat, 0.99);
		s->max = nlat ? (double)lat[nlat - 1] / (double)MSEC : 0;
		free(lat);
	}
	s->duration = (double)(end - start) / (double)NSEC;
	s->rate = s->duration > 0 ? (double)(s->requests - s->unfinished) / s->duration : 0;
}

/* The non-2xx status codes seen: " 502:3" for people, " code_502=3" for
 * scripts. */
static void print_codes(const struct summary *s, bool keys)
{
	int code;

	for (code = 100; code < 600; code++) {
		if (code / 100 == 2 || !s->by_status[code])
			continue;
		if (keys)
			printf(" code_%d=%" PRIu64, code, s->by_status[code]);
		else
			printf(" %d:%" PRIu64, code, s->by_status[code]);
	}
}

/* The per-second timeline, by send time: what a reader scans for the
 * moment a switch or reload happened. */
static void print_timeline(uint64_t start, double duration)
{
	size_t secs = (size_t)duration + 2, i, s;
	struct bucket {
		uint64_t req, ok, non2xx, err, torn, stale, lat_max;
		uint16_t top_id[3];
		uint64_t top_n[3];
	} *b = calloc(secs, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < nrecords; i++) {
		const struct record *r = &records[i];
		struct bucket *k;
		int j;

		s = (size_t)((r->send_mono - start) / NSEC);
		if (s >= secs)
			s = secs - 1;
		k = &b[s];
		k->req++;
		k->ok += r->error == ERR_NONE && r->status / 100 == 2;
		k->non2xx += r->error == ERR_NONE && r->status && r->status / 100 != 2;
		k->err += r->error != ERR_NONE && r->error != ERR_UNFINISHED;
		k->torn += !!(r->flags & REC_TORN);
		k->stale += !!(r->flags & REC_STALE);
		if (r->error == ERR_NONE && r->recv_mono - r->send_mono > k->lat_max)
			k->lat_max = r->recv_mono - r->send_mono;
		if (!(r->flags & REC_IDS))
			continue;
		for (j = 0; j < 3; j++) {
			if (k->top_n[j] && k->top_id[j] != r->id_a)
				continue;
			k->top_id[j] = r->id_a;
			k->top_n[j]++;
			break;
		}
	}
	printf("%4s %8s %8s %7s %6s %6s %6s %9s  %s\n",
	       "sec", "requests", "2xx", "non2xx", "errors", "torn", "stale", "max_ms", "served (a=)");
	for (s = 0; s < secs; s++) {
		int j;

		if (!b[s].req)
			continue;
		printf("%4zu %8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9.1f ",
		       s, b[s].req, b[s].ok, b[s].non2xx, b[s].err, b[s].torn, b[s].stale,
		       (double)b[s].lat_max / (double)MSEC);
		for (j = 0; j < 3 && b[s].top_n[j]; j++)
			printf(" %s:%" PRIu64, id_name(b[s].top_id[j]), b[s].top_n[j]);
		printf("\n");
	}
	free(b);
}

static void print_report(const struct summary *s, const struct stale_result *st, bool judged)
{
	int e;

	if (!opt.quiet) {
		printf("loadgen: GET http://%s:%u%s, %u connections, %.2f s\n", opt.host,
		       ntohs(opt.addr.sin_port), opt.path, opt.connections, s->duration);
		printf("  %-14s %10" PRIu64 "   %.1f/s\n", "requests", s->requests, s->rate);
		printf("  %-14s %10" PRIu64 "   (without a= and b=: %" PRIu64 ")\n", "2xx", s->ok,
		       s->unparsed);
		printf("  %-14s %10" PRIu64 "  ", "non-2xx", s->non2xx);
		print_codes(s, false);
		printf("\n  %-14s %10" PRIu64 "  ", "socket errors", s->errors);
		for (e = ERR_CONNECT; e < ERR_UNFINISHED; e++)
			printf(" %s:%" PRIu64, error_names[e], s->by_error[e]);
		printf("\n  %-14s %10" PRIu64 "   (still in flight when --drain ran out)\n",
		       "unfinished", s->unfinished);
		printf("  %-14s %10" PRIu64 "\n", "torn", s->torn);
		if (judged)
			printf("  %-14s %10" PRIu64 "   window %.3f s over %zu switch%s\n", "stale",
			       st->stale, st->seconds, st->switches, st->switches == 1 ? "" : "es");
		else
			printf("  %-14s %10s   (no --switch-log or --expect-marker-file)\n", "stale", "-");
		printf("  %-14s %10s   p50 %.2f  p99 %.2f  max %.2f\n", "latency ms", "", s->p50,
		       s->p99, s->max);
	}
	/* The one line scripts read: always last, always the same keys. */
	printf("summary requests=%" PRIu64 " ok=%" PRIu64 " non2xx=%" PRIu64, s->requests, s->ok,
	       s->non2xx);
	print_codes(s, true);
	printf(" errors=%" PRIu64, s->errors);
	for (e = ERR_CONNECT; e < ERR__COUNT; e++)
		printf(" err_%s=%" PRIu64, error_names[e], s->by_error[e]);
	printf(" torn=%" PRIu64 " unparsed=%" PRIu64 " stale=%" PRIu64 " stale_seconds=%.3f switches=%zu",
	       s->torn, s->unparsed, st->stale, st->seconds, st->switches);
	printf(" p50_ms=%.3f p99_ms=%.3f max_ms=%.3f duration_s=%.3f rate=%.1f\n", s->p50, s->p99,
	       s->max, s->duration, s->rate);
}

static int write_records(const char *path)
{
	FILE *f = fopen(path, "we");
	size_t i;

	if (!f)
		return -errno;
	fprintf(f, "seq\tconn\tsend_mono_ns\trecv_mono_ns\tsend_real_ns\trecv_real_ns\t"
		   "latency_us\tstatus\terror\ta\tb\ti\ttorn\tstale\n");
	for (i = 0; i < nrecords; i++) {
		const struct record *r = &records[i];

		fprintf(f, "%zu\t%" PRIu32 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64
			   "\t%" PRIu64 "\t%u\t%s\t%s\t%s\t%s\t%d\t%d\n",
			i, r->conn, r->send_mono, r->recv_mono, r->send_real, r->recv_real,
			(r->recv_mono - r->send_mono) / 1000, r->status, error_names[r->error],
			id_name(r->id_a), id_name(r->id_b), id_name(r->id_i),
			!!(r->flags & REC_TORN), !!(r->flags & REC_STALE));
	}
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

/* ---- options ------------------------------------------------------- */

static double parse_number(const char *s, const char *what, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v != v || v < min || v > max)
		usage_error("bad value for %s", what);
	return v;
}

/* Accepts http://HOST[:PORT][/PATH] where HOST is localhost or an IPv4
 * address in 127.0.0.0/8: this tool may only load this machine. */
static void parse_url(const char *url)
{
	const char *p, *host_end, *path;
	size_t n;
	unsigned long port = 80;

	if (strncmp(url, "http://", 7) != 0)
		usage_error("--url '%s': only http:// URLs", url);
	p = url + 7;
	host_end = p + strcspn(p, ":/");
	n = (size_t)(host_end - p);
	if (n == 0 || n >= sizeof(opt.host))
		usage_error("--url '%s': no host", url);
	memcpy(opt.host, p, n);
	opt.host[n] = '\0';
	path = host_end;
	if (*host_end == ':') {
		char *end;

		errno = 0;
		port = strtoul(host_end + 1, &end, 10);
		if (errno || end == host_end + 1 || port == 0 || port > 65535 || (*end && *end != '/'))
			usage_error("--url '%s': bad port", url);
		path = end;
	}
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)port);
	if (strcmp(opt.host, "localhost") == 0)
		opt.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, opt.host, &opt.addr.sin_addr) != 1)
		usage_error("--url host '%s' is not localhost or a 127.x.x.x address", opt.host);
	if ((ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127)
		usage_error("--url host '%s' is not on loopback (127.0.0.0/8); refusing to send load", opt.host);
	if (!*path)
		path = "/";
	for (p = path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			usage_error("--url '%s': the path holds spaces or control characters", url);
	if (strlen(path) >= sizeof(opt.path))
		usage_error("--url '%s': path too long", url);
	strcpy(opt.path, path);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "max-requests", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "drain", required_argument, NULL, 'D' },
		{ "switch-log", required_argument, NULL, 's' },
		{ "switch-grace", required_argument, NULL, 'g' },
		{ "expect-marker-file", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "per-second", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "u:c:d:r:n:t:D:s:g:m:o:pqh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'c': opt.connections = (unsigned)parse_number(optarg, "--connections", 1, MAX_CONNECTIONS); break;
		case 'd': opt.duration = parse_number(optarg, "--duration", 0.001, 86400); break;
		case 'r': opt.rate = parse_number(optarg, "--rate", 0.001, 1e7); break;
		case 'n': opt.max_requests = (uint64_t)parse_number(optarg, "--max-requests", 1, 1e9); break;
		case 't': opt.timeout_ns = (uint64_t)(parse_number(optarg, "--timeout", 1, 3.6e6) * (double)MSEC); break;
		case 'D': opt.drain = parse_number(optarg, "--drain", 0, 3600); break;
		case 's': opt.switch_log = optarg; break;
		case 'g': opt.switch_grace_ns = (uint64_t)(parse_number(optarg, "--switch-grace", 0, 3.6e6) * (double)MSEC); break;
		case 'm': opt.marker_file = optarg; break;
		case 'o': opt.out = optarg; break;
		case 'p': opt.per_second = true; break;
		case 'q': opt.quiet = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage_error("unknown option (see --help)"); break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!url)
		usage_error("--url is required");
	if (opt.duration <= 0)
		usage_error("--duration is required");
	parse_url(url);
	if (opt.drain < 0)
		opt.drain = (double)opt.timeout_ns / (double)NSEC;
	if (snprintf(request, sizeof(request),
		     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: cutover-loadgen\r\nAccept: */*\r\n\r\n",
		     opt.path, opt.host, ntohs(opt.addr.sin_port)) >= (int)sizeof(request))
		usage_error("--url too long");
	request_len = strlen(request);
}

/* C connections need C descriptors, plus a few. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < opt.connections + 64ULL) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct loop l = { .epoll_fd = -1 };
	struct summary sum;
	struct stale_result stale = { 0 };
	struct switch_entry *switches = NULL;
	size_t nswitches = 0;
	uint16_t initial = ID_NONE;
	uint64_t end;
	unsigned i;

	parse_options(argc, argv);
	if (opt.marker_file)
		initial = marker_read(opt.marker_file);
	raise_fd_limit();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	l.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	l.conns = calloc(opt.connections, sizeof(*l.conns));
	if (l.epoll_fd < 0 || !l.conns) {
		perror("loadgen: setting up");
		return 1;
	}
	for (i = 0; i < opt.connections; i++) {
		l.conns[i].index = i;
		l.conns[i].fd = -1;
	}
	l.start_mono = mono_ns();
	l.stop_sending = l.start_mono + (uint64_t)(opt.duration * (double)NSEC);
	l.hard_end = l.stop_sending + (uint64_t)(opt.drain * (double)NSEC);
	loop_run(&l);
	end = mono_ns();
	if (records_full)
		fprintf(stderr, "loadgen: out of memory for records after %zu requests; stopped sending\n",
			nrecords);

	if (opt.switch_log)
		switches = switch_log_read(opt.switch_log, &nswitches);
	if (opt.switch_log || opt.marker_file)
		stale = stale_classify(switches, nswitches, initial,
				       nrecords ? records[0].send_real : 0);
	summarize(&sum, l.start_mono, end);
	if (opt.per_second && !opt.quiet)
		print_timeline(l.start_mono, sum.duration);
	print_report(&sum, &stale, opt.switch_log || opt.marker_file);
	if (opt.out) {
		int r = write_records(opt.out);

		if (r < 0)
			fprintf(stderr, "loadgen: writing %s: %s\n", opt.out, strerror(-r));
	}
	free(switches);
	free(records);
	free(l.conns);
	close(l.epoll_fd);
	return 0;
}
