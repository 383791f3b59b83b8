/* SPDX-License-Identifier: MIT */
/*
 * Reads a FastCGI response (src/frontend/fcgi_response.h).
 */
#include "fcgi_response.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

/* Moves the contents out as a NUL-terminated string ("" when empty). */
static char *buf_steal_string(struct fcgi_buf *b)
{
	char *s;

	if (!fcgi_buf_reserve(b, 0))
		return NULL;
	b->data[b->len] = '\0';
	s = (char *)b->data;
	*b = (struct fcgi_buf) { 0 };
	return s;
}

/* Reads exactly len bytes (the caller has checked them against max_bytes). */
static int conn_recv_exact(struct fcgi_conn *c, void *buf, size_t len)
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
			return fcgi_peer_errno(errno);
		r = fcgi_conn_wait(c, POLLIN);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads and drops len bytes: padding, skipped records. */
static int conn_skip(struct fcgi_conn *c, size_t len)
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
static int conn_budget(const struct fcgi_conn *c, size_t n)
{
	return n > c->max_bytes - c->received ? -EFBIG : 0;
}

static int conn_recv_into(struct fcgi_conn *c, struct fcgi_buf *b, size_t len)
{
	uint8_t *p = fcgi_buf_reserve(b, len);
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
static int read_response(struct fcgi_conn *c, struct fcgi_buf *out, struct fcgi_buf *err,
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

int fcgi_read_response(int fd, unsigned timeout_ms, size_t max_bytes, struct fcgi_response *ret)
{
	_cleanup_(fcgi_buf_done) struct fcgi_buf out = { 0 };
	_cleanup_(fcgi_buf_done) struct fcgi_buf err = { 0 };
	_cleanup_free_ char *headers = NULL, *body = NULL, *err_text = NULL;
	size_t headers_len, body_off, err_len;
	uint32_t app_status = 0;
	struct fcgi_conn c;
	int status, r;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms == 0)
		return -EINVAL;
	c = (struct fcgi_conn) {
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

void fcgi_response_free(struct fcgi_response *r)
{
	if (!r)
		return;
	free(r->headers);
	free(r->body);
	free(r->stderr_text);
	*r = (struct fcgi_response) { 0 };
}
