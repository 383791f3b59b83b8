/* SPDX-License-Identifier: MIT */
/*
 * fcgi_read_response() on arbitrary bytes as the stream a PHP-FPM pool
 * sends back. The input is written into one end of a unix stream
 * socketpair whose write side is then shut down, so the reader always
 * meets the end of the stream: it may fail, but never by timing out.
 *
 * Each input is read three times: with a max_bytes beyond its size, with
 * max_bytes equal to its size and with half of it. What the reader took
 * from the socket (measured with SIOCINQ) must stay within max_bytes, and
 * the bounded reads must agree with the unbounded one: a bound is only
 * ever the reason for -EFBIG, and it is exactly when the unbounded read
 * needed more bytes than the bound allows.
 */
#include "fuzz.h"

#include <errno.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcgi_response.h"

/* Inputs beyond this are cut: they must fit in the socket buffer, since
 * the whole stream is written before the reader starts. */
#define FZ_FCGI_INPUT_MAX (48 * 1024)
#define FZ_FCGI_TIMEOUT_MS 2000

struct fz_fcgi_read {
	int r;
	size_t sent;          /* bytes that made it into the socket */
	size_t consumed;      /* bytes the reader took out of it */
	struct fcgi_response resp;
};

/* false if the test could not be set up (not the code under test). */
static bool fz_fcgi_read(const uint8_t *data, size_t size, size_t max_bytes,
			 struct fz_fcgi_read *ret)
{
	int sv[2], left = 0;
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	while (off < size) {
		ssize_t w = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0)
			break;   /* buffer full: the reader sees a shorter stream */
		off += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	ret->sent = off;
	ret->r = fcgi_read_response(sv[0], FZ_FCGI_TIMEOUT_MS, max_bytes, &ret->resp);
	if (ioctl(sv[0], SIOCINQ, &left) < 0 || left < 0 || (size_t)left > off) {
		close(sv[0]);
		close(sv[1]);
		if (ret->r == 0)
			fcgi_response_free(&ret->resp);
		return false;
	}
	ret->consumed = off - (size_t)left;
	close(sv[0]);
	close(sv[1]);
	return true;
}

static void fz_fcgi_check(const struct fz_fcgi_read *x, size_t max_bytes)
{
	const struct fcgi_response *resp = &x->resp;

	FUZZ_CHECK(x->r == 0 || x->r == -ECONNRESET || x->r == -EBADMSG || x->r == -EFBIG ||
		   x->r == -EBUSY || x->r == -EPROTO || x->r == -ENOMEM);
	/* The stream always ends: a timeout would mean a read past EOF. */
	FUZZ_CHECK(x->r != -ETIMEDOUT);
	FUZZ_CHECK(x->consumed <= max_bytes);
	if (x->r != 0)
		return;
	FUZZ_CHECK(resp->status >= 100 && resp->status <= 599);
	FUZZ_CHECK(resp->headers && resp->body && resp->stderr_text);
	if (!resp->headers || !resp->body || !resp->stderr_text)
		return;
	FUZZ_CHECK(resp->headers[resp->headers_len] == '\0');
	FUZZ_CHECK(resp->body[resp->body_len] == '\0');
	FUZZ_CHECK(resp->stderr_text[resp->stderr_len] == '\0');
	/* Every byte came from the stream: 8 for END_REQUEST's header, 8 for
	 * its body, at least 1 for the blank line that ends the headers. */
	FUZZ_CHECK(resp->headers_len + resp->body_len + resp->stderr_len + 17 <= x->consumed);
}

/* A read bounded by k against the unbounded read full. */
static void fz_fcgi_compare(const struct fz_fcgi_read *full, const struct fz_fcgi_read *b,
			    size_t k)
{
	if (full->r == 0 && full->consumed <= k)
		FUZZ_CHECK(b->r == 0);
	if (b->r == -EFBIG) {
		FUZZ_CHECK(full->r != 0 || full->consumed > k);
		return;
	}
	FUZZ_CHECK(b->r == full->r);
	FUZZ_CHECK(b->consumed == full->consumed);
	if (b->r == 0 && full->r == 0) {
		const struct fcgi_response *x = &full->resp, *y = &b->resp;

		FUZZ_CHECK(x->status == y->status && x->app_status == y->app_status);
		FUZZ_CHECK(x->headers_len == y->headers_len && x->body_len == y->body_len &&
			   x->stderr_len == y->stderr_len);
		if (x->headers_len == y->headers_len && x->body_len == y->body_len &&
		    x->stderr_len == y->stderr_len)
			FUZZ_CHECK(memcmp(x->headers, y->headers, x->headers_len) == 0 &&
				   memcmp(x->body, y->body, x->body_len) == 0 &&
				   memcmp(x->stderr_text, y->stderr_text, x->stderr_len) == 0);
	}
}

int fuzz_fcgi(const uint8_t *data, size_t size)
{
	struct fz_fcgi_read full, b;
	size_t bounds[2];

	if (size > FZ_FCGI_INPUT_MAX)
		size = FZ_FCGI_INPUT_MAX;
	bounds[0] = size;
	bounds[1] = size / 2;
	if (!fz_fcgi_read(data, size, 1u << 20, &full))
		return 0;
	fz_fcgi_check(&full, 1u << 20);
	for (size_t i = 0; i < 2; i++) {
		if (!fz_fcgi_read(data, size, bounds[i], &b))
			continue;
		/* Only compare streams that reached the socket alike. */
		fz_fcgi_check(&b, bounds[i]);
		if (b.sent == full.sent)
			fz_fcgi_compare(&full, &b, bounds[i]);
		if (b.r == 0)
			fcgi_response_free(&b.resp);
	}
	if (full.r == 0)
		fcgi_response_free(&full.resp);
	return 0;
}

FUZZ_ENTRY(fuzz_fcgi)
