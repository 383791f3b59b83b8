/* SPDX-License-Identifier: MIT */
/*
 * FastCGI client, responder role, one request per connection.
 * Protocol: FastCGI Specification 1.0 (Open Market, 1996). Where PHP-FPM is
 * stricter than the specification (main/fastcgi.c), we follow PHP-FPM.
 */
#include "fcgi.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

void fcgi_header_encode(uint8_t out[FCGI_HEADER_LEN], enum fcgi_record_type type,
			uint16_t request_id, uint16_t content_length,
			uint8_t padding_length)
{
	out[0] = FCGI_VERSION_1;
	out[1] = (uint8_t)type;
	out[2] = (uint8_t)(request_id >> 8);
	out[3] = (uint8_t)request_id;
	out[4] = (uint8_t)(content_length >> 8);
	out[5] = (uint8_t)content_length;
	out[6] = padding_length;
	out[7] = 0;
}

int fcgi_header_decode(const uint8_t in[FCGI_HEADER_LEN], struct fcgi_header *ret)
{
	if (in[0] != FCGI_VERSION_1)
		return -EBADMSG;
	*ret = (struct fcgi_header) {
		.version = in[0],
		.type = in[1],
		.request_id = (uint16_t)(in[2] << 8 | in[3]),
		.content_length = (uint16_t)(in[4] << 8 | in[5]),
		.padding_length = in[6],
	};
	return 0;
}

static size_t param_len_size(size_t len)
{
	return len <= 127 ? 1 : 4;
}

static uint8_t *param_len_put(uint8_t *p, size_t len)
{
	if (len <= 127) {
		*p++ = (uint8_t)len;
		return p;
	}
	*p++ = (uint8_t)(0x80 | (len >> 24));
	*p++ = (uint8_t)(len >> 16);
	*p++ = (uint8_t)(len >> 8);
	*p++ = (uint8_t)len;
	return p;
}

ssize_t fcgi_param_encode(uint8_t *buf, size_t size, const char *name,
			  size_t name_len, const char *value, size_t value_len)
{
	size_t need;
	uint8_t *p = buf;

	if (name_len > FCGI_PARAM_LEN_MAX || value_len > FCGI_PARAM_LEN_MAX)
		return -E2BIG;
	need = param_len_size(name_len) + param_len_size(value_len) + name_len + value_len;
	if (need > SSIZE_MAX)
		return -E2BIG;
	if (!buf)
		return (ssize_t)need;
	if (need > size)
		return -ENOBUFS;
	p = param_len_put(p, name_len);
	p = param_len_put(p, value_len);
	memcpy(p, name, name_len);
	memcpy(p + name_len, value, value_len);
	return (ssize_t)need;
}

/* Reads one length at *off; -EBADMSG if the buffer ends inside it. */
static int param_len_get(const uint8_t *buf, size_t len, size_t *off, size_t *ret)
{
	size_t o = *off;

	if (o >= len)
		return -EBADMSG;
	if (!(buf[o] & 0x80)) {
		*ret = buf[o];
		*off = o + 1;
		return 0;
	}
	if (len - o < 4)
		return -EBADMSG;
	*ret = (size_t)(buf[o] & 0x7f) << 24 | (size_t)buf[o + 1] << 16 |
	       (size_t)buf[o + 2] << 8 | buf[o + 3];
	*off = o + 4;
	return 0;
}

ssize_t fcgi_param_decode(const uint8_t *buf, size_t len, struct fcgi_param_view *ret)
{
	size_t off = 0, nl, vl;
	int r;

	r = param_len_get(buf, len, &off, &nl);
	if (r < 0)
		return r;
	r = param_len_get(buf, len, &off, &vl);
	if (r < 0)
		return r;
	/* Subtractions, not additions: lengths come from the peer. */
	if (nl > len - off || vl > len - off - nl)
		return -EBADMSG;
	*ret = (struct fcgi_param_view) {
		.name = buf + off,
		.name_len = nl,
		.value = buf + off + nl,
		.value_len = vl,
	};
	return (ssize_t)(off + nl + vl);
}

/* A growable byte buffer; always leaves room for a terminating NUL. */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

static void buf_done(struct buf *b)
{
	free(b->data);
	*b = (struct buf) { 0 };
}

/* Makes room for n more bytes plus a NUL and returns where they go. */
static uint8_t *buf_reserve(struct buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (n > SIZE_MAX - 1 - b->len)
		return NULL;
	want = b->len + n + 1;
	if (want <= b->cap)
		return b->data + b->len;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return NULL;
	b->data = p;
	b->cap = cap;
	return b->data + b->len;
}

static int buf_append(struct buf *b, const void *data, size_t n)
{
	uint8_t *p = buf_reserve(b, n);

	if (!p)
		return -ENOMEM;
	memcpy(p, data, n);
	b->len += n;
	return 0;
}

/* Moves the contents out as a NUL-terminated string ("" when empty). */
static char *buf_steal_string(struct buf *b)
{
	char *s;

	if (!buf_reserve(b, 0))
		return NULL;
	b->data[b->len] = '\0';
	s = (char *)b->data;
	*b = (struct buf) { 0 };
	return s;
}

/* Appends one record; content is padded to a multiple of 8 as the
 * specification recommends (len <= FCGI_RECORD_CONTENT_MAX keeps the sum
 * within 65535). */
static int buf_append_record(struct buf *b, enum fcgi_record_type type,
			     const void *content, size_t len)
{
	static const uint8_t zeros[8];
	uint8_t hdr[FCGI_HEADER_LEN];
	size_t pad = (8 - len % 8) % 8;
	int r;

	if (len > FCGI_RECORD_CONTENT_MAX)
		return -E2BIG;
	fcgi_header_encode(hdr, type, FCGI_REQUEST_ID, (uint16_t)len, (uint8_t)pad);
	r = buf_append(b, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	if (len > 0) {
		r = buf_append(b, content, len);
		if (r < 0)
			return r;
	}
	return buf_append(b, zeros, pad);
}

/*
 * PHP-FPM parses every PARAMS record on its own, so records are cut only
 * between pairs: a record holds as many whole pairs as fit.
 */
static int build_params(struct buf *out, const struct fcgi_param *params, size_t n)
{
	_cleanup_free_ uint8_t *rec = malloc(FCGI_RECORD_CONTENT_MAX);
	size_t used = 0;
	int r;

	if (!rec)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t nl, vl;
		ssize_t sz;

		if (!params[i].name || !params[i].value || params[i].name[0] == '\0')
			return -EINVAL;
		nl = strlen(params[i].name);
		vl = strlen(params[i].value);
		sz = fcgi_param_encode(NULL, 0, params[i].name, nl, params[i].value, vl);
		if (sz < 0)
			return (int)sz;
		if ((size_t)sz > FCGI_RECORD_CONTENT_MAX)
			return -E2BIG;
		if (used + (size_t)sz > FCGI_RECORD_CONTENT_MAX) {
			r = buf_append_record(out, FCGI_PARAMS, rec, used);
			if (r < 0)
				return r;
			used = 0;
		}
		sz = fcgi_param_encode(rec + used, FCGI_RECORD_CONTENT_MAX - used,
				       params[i].name, nl, params[i].value, vl);
		if (sz < 0)
			return (int)sz;
		used += (size_t)sz;
	}
	if (used > 0) {
		r = buf_append_record(out, FCGI_PARAMS, rec, used);
		if (r < 0)
			return r;
	}
	return buf_append_record(out, FCGI_PARAMS, NULL, 0);
}

static int build_request(struct buf *out, const struct fcgi_param *params, size_t n_params,
			 const void *stdin_data, size_t stdin_len)
{
	/* role (2 bytes), flags (0: the server closes after the request), reserved */
	const uint8_t begin[8] = { 0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
	const uint8_t *in = stdin_data;
	int r;

	r = buf_append_record(out, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	if (r < 0)
		return r;
	r = build_params(out, params, n_params);
	if (r < 0)
		return r;
	while (stdin_len > 0) {
		size_t chunk = stdin_len < FCGI_RECORD_CONTENT_MAX ?
			       stdin_len : FCGI_RECORD_CONTENT_MAX;

		r = buf_append_record(out, FCGI_STDIN, in, chunk);
		if (r < 0)
			return r;
		in += chunk;
		stdin_len -= chunk;
	}
	return buf_append_record(out, FCGI_STDIN, NULL, 0);
}

struct conn {
	int fd;
	uint64_t deadline_ns;
	size_t max_bytes;
	size_t received;
};

/* Milliseconds to the deadline for poll(), rounded up; -ETIMEDOUT once past. */
static int deadline_left_ms(uint64_t deadline_ns)
{
	uint64_t now = now_ns(), left;

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	left = (deadline_ns - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until fd is ready for events or the deadline passes. Readiness
 * includes POLLHUP/POLLERR: the following recv/send reports those. */
static int conn_wait(const struct conn *c, short events)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int left = deadline_left_ms(c->deadline_ns), r;

		if (left < 0)
			return left;
		r = poll(&pfd, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r > 0)
			return pfd.revents & POLLNVAL ? -EBADF : 0;
	}
}

/* A peer that went away is one error whichever way the kernel reports it. */
static int peer_errno(int e)
{
	return e == EPIPE ? -ECONNRESET : -e;
}

static int conn_send_all(struct conn *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a peer that closed must not kill us with SIGPIPE. */
		ssize_t n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		int r;

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return peer_errno(errno);
		r = conn_wait(c, POLLOUT);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads exactly len bytes (the caller has checked them against max_bytes). */
static int conn_recv_exact(struct conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(c->fd, p, len, MSG_DONTWAIT);
		int r;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			c->received += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return peer_errno(errno);
		r = conn_wait(c, POLLIN);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads and drops len bytes: padding, skipped records. */
static int conn_skip(struct conn *c, size_t len)
{
	uint8_t scratch[512];

	while (len > 0) {
		size_t chunk = len < sizeof(scratch) ? len : sizeof(scratch);
		int r = conn_recv_exact(c, scratch, chunk);

		if (r < 0)
			return r;
		len -= chunk;
	}
	return 0;
}

/* Checks that n more bytes stay within max_bytes before they are read. */
static int conn_budget(const struct conn *c, size_t n)
{
	return n > c->max_bytes - c->received ? -EFBIG : 0;
}

static int conn_recv_into(struct conn *c, struct buf *b, size_t len)
{
	uint8_t *p = buf_reserve(b, len);
	int r;

	if (!p)
		return -ENOMEM;
	r = conn_recv_exact(c, p, len);
	if (r < 0)
		return r;
	b->len += len;
	return 0;
}

static int end_request_status(uint8_t protocol_status)
{
	switch (protocol_status) {
	case FCGI_REQUEST_COMPLETE:
		return 0;
	case FCGI_OVERLOADED:
		return -EBUSY;
	case FCGI_CANT_MPX_CONN:
	case FCGI_UNKNOWN_ROLE:
		return -EPROTO;
	default:
		return -EBADMSG;
	}
}

/* Reads records until END_REQUEST, collecting STDOUT and STDERR. */
static int read_response(struct conn *c, struct buf *out, struct buf *err,
			 uint32_t *ret_app_status)
{
	for (;;) {
		uint8_t raw[FCGI_HEADER_LEN], end[8];
		struct fcgi_header h;
		size_t body;
		int r;

		r = conn_budget(c, sizeof(raw));
		if (r < 0)
			return r;
		r = conn_recv_exact(c, raw, sizeof(raw));
		if (r < 0)
			return r;
		r = fcgi_header_decode(raw, &h);
		if (r < 0)
			return r;
		body = (size_t)h.content_length + h.padding_length;
		r = conn_budget(c, body);
		if (r < 0)
			return r;

		if (h.request_id == 0) {
			/* Management record (e.g. FCGI_UNKNOWN_TYPE): not ours. */
			r = conn_skip(c, body);
		} else if (h.request_id != FCGI_REQUEST_ID) {
			return -EBADMSG;
		} else if (h.type == FCGI_STDOUT || h.type == FCGI_STDERR) {
			r = conn_recv_into(c, h.type == FCGI_STDOUT ? out : err, h.content_length);
			if (r >= 0)
				r = conn_skip(c, h.padding_length);
		} else if (h.type == FCGI_END_REQUEST) {
			if (h.content_length < sizeof(end))
				return -EBADMSG;
			r = conn_recv_exact(c, end, sizeof(end));
			if (r < 0)
				return r;
			/* Read the rest of the record, so the stream ends on a record boundary. */
			r = conn_skip(c, body - sizeof(end));
			if (r < 0)
				return r;
			r = end_request_status(end[4]);
			if (r < 0)
				return r;
			*ret_app_status = (uint32_t)end[0] << 24 | (uint32_t)end[1] << 16 |
					  (uint32_t)end[2] << 8 | end[3];
			return 0;
		} else {
			r = conn_skip(c, body);
		}
		if (r < 0)
			return r;
	}
}

/*
 * Splits CGI output at the first empty line ("\r\n" or "\n", CGI allows
 * both) and takes the status from a "Status:" header. Output without an
 * empty line is not a CGI response.
 */
static int split_cgi_output(const char *s, size_t len, size_t *ret_headers_len,
			    size_t *ret_body_off, int *ret_status)
{
	int status = 200;
	bool have_status = false;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(s + off, '\n', len - off);
		size_t line_len, next;

		if (!nl)
			return -EBADMSG;
		next = (size_t)(nl - s) + 1;
		line_len = next - 1 - off;
		if (line_len > 0 && s[off + line_len - 1] == '\r')
			line_len--;
		if (line_len == 0) {
			*ret_headers_len = off;
			*ret_body_off = next;
			*ret_status = status;
			return 0;
		}
		if (!have_status && line_len >= 7 && strncasecmp(s + off, "Status:", 7) == 0) {
			const char *p = s + off + 7, *e = s + off + line_len;

			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (e - p < 3 || !isdigit((unsigned char)p[0]) ||
			    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
			    (e - p > 3 && p[3] != ' ' && p[3] != '\t'))
				return -EBADMSG;
			status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
			if (status < 100 || status > 599)
				return -EBADMSG;
			have_status = true;
		}
		off = next;
	}
	return -EBADMSG;
}

static char *memdup_string(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

int fcgi_send_request(int fd, const struct fcgi_param *params, size_t n_params,
		      const void *stdin_data, size_t stdin_len, unsigned timeout_ms)
{
	_cleanup_(buf_done) struct buf req = { 0 };
	struct conn c;
	int r;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms == 0 || (n_params > 0 && !params) || (stdin_len > 0 && !stdin_data))
		return -EINVAL;
	c = (struct conn) {
		.fd = fd,
		.deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000u,
		.max_bytes = SIZE_MAX,
	};
	r = build_request(&req, params, n_params, stdin_data, stdin_len);
	if (r < 0)
		return r;
	return conn_send_all(&c, req.data, req.len);
}

int fcgi_read_response(int fd, unsigned timeout_ms, size_t max_bytes, struct fcgi_response *ret)
{
	_cleanup_(buf_done) struct buf out = { 0 };
	_cleanup_(buf_done) struct buf err = { 0 };
	_cleanup_free_ char *headers = NULL, *body = NULL, *err_text = NULL;
	size_t headers_len, body_off, err_len;
	uint32_t app_status = 0;
	struct conn c;
	int status, r;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms == 0)
		return -EINVAL;
	c = (struct conn) {
		.fd = fd,
		.deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000u,
		.max_bytes = max_bytes,
	};
	r = read_response(&c, &out, &err, &app_status);
	if (r < 0)
		return r;

	r = split_cgi_output((const char *)out.data, out.len, &headers_len, &body_off, &status);
	if (r < 0)
		return r;
	headers = memdup_string((const char *)out.data, headers_len);
	body = memdup_string((const char *)out.data + body_off, out.len - body_off);
	err_len = err.len;
	err_text = buf_steal_string(&err);
	if (!headers || !body || !err_text)
		return -ENOMEM;

	*ret = (struct fcgi_response) {
		.status = status,
		.headers = TAKE_PTR(headers),
		.headers_len = headers_len,
		.body = TAKE_PTR(body),
		.body_len = out.len - body_off,
		.stderr_text = TAKE_PTR(err_text),
		.stderr_len = err_len,
		.app_status = app_status,
	};
	return 0;
}

int fcgi_request(int fd, const struct fcgi_param *params, size_t n_params,
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

void fcgi_response_free(struct fcgi_response *r)
{
	if (!r)
		return;
	free(r->headers);
	free(r->body);
	free(r->stderr_text);
	*r = (struct fcgi_response) { 0 };
}

static bool port_parse(const char *s, unsigned *ret)
{
	unsigned long long v;

	/* parse_uint accepts leading zeros; a port never needs them. */
	if (s[0] == '0' || parse_uint(s, 1, 65535, &v) < 0)
		return false;
	*ret = (unsigned)v;
	return true;
}

int fcgi_address_parse(const char *s, struct fcgi_address *ret)
{
	struct fcgi_address a = { 0 };
	const char *colon;
	unsigned char addr[sizeof(struct in6_addr)];
	size_t host_len;

	if (!s)
		return -EINVAL;
	if (strncmp(s, "unix:", 5) == 0 || s[0] == '/') {
		const char *path = s[0] == '/' ? s : s + 5;

		if (path[0] != '/')
			return -EINVAL;
		a.kind = FCGI_ADDRESS_UNIX;
		if (str_copy(a.path, sizeof(a.path), path) < 0)
			return -ENAMETOOLONG;
		*ret = a;
		return 0;
	}

	a.kind = FCGI_ADDRESS_TCP;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host_len = (size_t)(close - s - 1);
		if (host_len == 0 || host_len >= sizeof(a.host))
			return -EINVAL;
		memcpy(a.host, s + 1, host_len);
		a.host[host_len] = '\0';
		if (inet_pton(AF_INET6, a.host, addr) != 1 || !port_parse(close + 2, &a.port))
			return -EINVAL;
		*ret = a;
		return 0;
	}

	colon = strrchr(s, ':');
	if (!colon) {
		/* "9000": PHP-FPM listens on every address; loopback reaches it. */
		if (!port_parse(s, &a.port))
			return -EINVAL;
		memcpy(a.host, "127.0.0.1", sizeof("127.0.0.1"));
		*ret = a;
		return 0;
	}
	host_len = (size_t)(colon - s);
	if (host_len == 0 || host_len >= sizeof(a.host))
		return -EINVAL;
	memcpy(a.host, s, host_len);
	a.host[host_len] = '\0';
	if (inet_pton(AF_INET, a.host, addr) != 1 || !port_parse(colon + 1, &a.port))
		return -EINVAL;
	*ret = a;
	return 0;
}

int fcgi_connect_unix(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};
	const struct timeval zero = { 0 };
	_cleanup_close_ int fd = -EBADF;

	if (!path || path[0] == '\0' || timeout_ms == 0)
		return -EINVAL;
	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A non-blocking connect() to a unix socket whose backlog is full fails
	 * with EAGAIN instead of completing later, so connect blocking and let
	 * SO_SNDTIMEO bound the wait (unix_stream_connect honours it; expiry
	 * is EAGAIN, or EINPROGRESS on some kernels).
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS)
			return -ETIMEDOUT;
		return -errno;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int fcgi_connect_tcp(const char *host, unsigned port, unsigned timeout_ms)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	_cleanup_close_ int fd = -EBADF;
	uint64_t deadline;
	int flags, soerr = 0;
	socklen_t soerr_len = sizeof(soerr);

	if (!host || port == 0 || port > 65535 || timeout_ms == 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*sin6);
	} else {
		return -EINVAL;
	}

	deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			return -errno;
		/* EINTR also leaves the connection in progress. */
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int left = deadline_left_ms(deadline), r;

			if (left < 0)
				return left;
			r = poll(&pfd, 1, left);
			if (r < 0 && errno != EINTR)
				return -errno;
			if (r > 0)
				break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0)
			return -errno;
		if (soerr != 0)
			return -soerr;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int fcgi_address_connect(const struct fcgi_address *a, unsigned timeout_ms)
{
	if (!a)
		return -EINVAL;
	switch (a->kind) {
	case FCGI_ADDRESS_UNIX:
		return fcgi_connect_unix(a->path, timeout_ms);
	case FCGI_ADDRESS_TCP:
		return fcgi_connect_tcp(a->host, a->port, timeout_ms);
	default:
		return -EINVAL;
	}
}

/* A byte that must not appear in a URI we turn into a script path. */
static bool uri_byte_bad(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '#';
}

/* The path part of uri: absolute, no "." or ".." component, no '%'. */
static int uri_path_check(const char *path, size_t len)
{
	size_t i = 0;

	if (len == 0 || path[0] != '/')
		return -EINVAL;
	while (i < len) {
		size_t start, seg;

		while (i < len && path[i] == '/')
			i++;
		start = i;
		while (i < len && path[i] != '/') {
			if (path[i] == '%')
				return -EINVAL;
			i++;
		}
		seg = i - start;
		if ((seg == 1 && path[start] == '.') ||
		    (seg == 2 && path[start] == '.' && path[start + 1] == '.'))
			return -EINVAL;
	}
	return 0;
}

/* Appends a followed by b and a NUL at *used; returns where it starts. */
static const char *strings_put(char *s, size_t *used, const char *a, size_t a_len,
			       const char *b, size_t b_len)
{
	char *start = s + *used;

	memcpy(start, a, a_len);
	memcpy(start + a_len, b, b_len);
	start[a_len + b_len] = '\0';
	*used += a_len + b_len + 1;
	return start;
}

static bool text_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int fcgi_cgi_params_new(const char *document_root, const char *uri,
			const char *host, struct fcgi_cgi_params **ret)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	const char *q, *root_s, *filename_s, *path_s, *query_s, *uri_s, *host_s;
	size_t root_len, path_len, query_len, uri_len, host_len, used = 0;

	if (!document_root || document_root[0] != '/' || text_has_control(document_root) ||
	    !uri)
		return -EINVAL;
	if (!host)
		host = "localhost";
	for (const char *c = uri; *c; c++)
		if (uri_byte_bad((unsigned char)*c))
			return -EINVAL;
	host_len = strlen(host);
	if (host_len == 0)
		return -EINVAL;
	for (const char *c = host; *c; c++)
		if (uri_byte_bad((unsigned char)*c) || *c == '/')
			return -EINVAL;

	/* "/srv/app/" and "/srv/app" are one root; so that SCRIPT_FILENAME has
	 * no "//", the root is joined without its trailing slashes. */
	root_len = strlen(document_root);
	while (root_len > 0 && document_root[root_len - 1] == '/')
		root_len--;
	uri_len = strlen(uri);
	q = strchr(uri, '?');
	path_len = q ? (size_t)(q - uri) : uri_len;
	query_len = q ? uri_len - path_len - 1 : 0;
	if (uri_path_check(uri, path_len) < 0)
		return -EINVAL;
	if (root_len + path_len >= PATH_MAX || uri_len > 8192 || host_len > 255)
		return -ENAMETOOLONG;

	/* root, root + path, path, query, uri, host, each with its NUL. */
	p = calloc(1, sizeof(*p) + 2 * root_len + 2 * path_len + query_len + uri_len +
		   host_len + 6);
	if (!p)
		return -ENOMEM;
	root_s = strings_put(p->strings, &used, document_root, root_len, "", 0);
	filename_s = strings_put(p->strings, &used, document_root, root_len, uri, path_len);
	path_s = strings_put(p->strings, &used, uri, path_len, "", 0);
	query_s = strings_put(p->strings, &used, q ? q + 1 : "", query_len, "", 0);
	uri_s = strings_put(p->strings, &used, uri, uri_len, "", 0);
	host_s = strings_put(p->strings, &used, host, host_len, "", 0);
	if (root_len == 0)
		root_s = "/";

	const struct fcgi_param list[] = {
		{ "GATEWAY_INTERFACE", "CGI/1.1" },
		{ "SERVER_SOFTWARE", "cutover" },
		{ "SERVER_PROTOCOL", "HTTP/1.1" },
		{ "SERVER_NAME", host_s },
		{ "SERVER_ADDR", "127.0.0.1" },
		{ "SERVER_PORT", "80" },
		{ "REMOTE_ADDR", "127.0.0.1" },
		{ "REMOTE_PORT", "0" },
		{ "REQUEST_METHOD", "GET" },
		{ "REQUEST_URI", uri_s },
		{ "DOCUMENT_URI", path_s },
		{ "SCRIPT_NAME", path_s },
		{ "SCRIPT_FILENAME", filename_s },
		{ "DOCUMENT_ROOT", root_s },
		{ "QUERY_STRING", query_s },
		{ "HTTP_HOST", host_s },
		{ "HTTP_USER_AGENT", "cutover" },
		/* nginx's fastcgi_params send it; php-cgi with cgi.force_redirect
		 * refuses to run without it, so a pool never minds it. */
		{ "REDIRECT_STATUS", "200" },
	};
	_Static_assert(ELEMENTSOF(list) <= FCGI_CGI_PARAMS_MAX, "params array too small");
	memcpy(p->params, list, sizeof(list));
	p->n_params = ELEMENTSOF(list);
	*ret = TAKE_PTR(p);
	return 0;
}
