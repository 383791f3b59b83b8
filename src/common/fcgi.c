/* SPDX-License-Identifier: MIT */
/*
 * FastCGI wire format and the bounded socket I/O both halves of a request
 * use: the helper builds and sends (helpers/fcgi_request.c), the front end
 * reads the answer (src/frontend/fcgi_response.c).
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

void fcgi_buf_done(struct fcgi_buf *b)
{
	free(b->data);
	*b = (struct fcgi_buf) { 0 };
}

/* Makes room for n more bytes plus a NUL and returns where they go. */
uint8_t *fcgi_buf_reserve(struct fcgi_buf *b, size_t n)
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

int fcgi_buf_append(struct fcgi_buf *b, const void *data, size_t n)
{
	uint8_t *p = fcgi_buf_reserve(b, n);

	if (!p)
		return -ENOMEM;
	memcpy(p, data, n);
	b->len += n;
	return 0;
}


/* Milliseconds to the deadline for poll(), rounded up; -ETIMEDOUT once past. */
int fcgi_deadline_left_ms(uint64_t deadline_ns)
{
	uint64_t now = now_ns(), left;

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	left = (deadline_ns - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until fd is ready for events or the deadline passes. Readiness
 * includes POLLHUP/POLLERR: the following recv/send reports those. */
int fcgi_conn_wait(const struct fcgi_conn *c, short events)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int left = fcgi_deadline_left_ms(c->deadline_ns), r;

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
int fcgi_peer_errno(int e)
{
	return e == EPIPE ? -ECONNRESET : -e;
}
