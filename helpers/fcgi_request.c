/* SPDX-License-Identifier: MIT */
/*
 * Builds and sends FastCGI requests, connects to pools, and makes the CGI
 * params of the fixed requests the helper sends (helpers/fcgi_request.h).
 */
#include "fcgi_request.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* Appends one record; content is padded to a multiple of 8 as the
 * specification recommends (len <= FCGI_RECORD_CONTENT_MAX keeps the sum
 * within 65535). */
static int buf_append_record(struct fcgi_buf *b, enum fcgi_record_type type,
			     const void *content, size_t len)
{
	static const uint8_t zeros[8];
	uint8_t hdr[FCGI_HEADER_LEN];
	size_t pad = (8 - len % 8) % 8;
	int r;

	if (len > FCGI_RECORD_CONTENT_MAX)
		return -E2BIG;
	fcgi_header_encode(hdr, type, FCGI_REQUEST_ID, (uint16_t)len, (uint8_t)pad);
	r = fcgi_buf_append(b, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	if (len > 0) {
		r = fcgi_buf_append(b, content, len);
		if (r < 0)
			return r;
	}
	return fcgi_buf_append(b, zeros, pad);
}

/*
 * PHP-FPM parses every PARAMS record on its own, so records are cut only
 * between pairs: a record holds as many whole pairs as fit.
 */
static int build_params(struct fcgi_buf *out, const struct fcgi_param *params, size_t n)
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

static int build_request(struct fcgi_buf *out, const struct fcgi_param *params, size_t n_params,
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

static int conn_send_all(struct fcgi_conn *c, const uint8_t *p, size_t len)
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
			return fcgi_peer_errno(errno);
		r = fcgi_conn_wait(c, POLLOUT);
		if (r < 0)
			return r;
	}
	return 0;
}

int fcgi_send_request(int fd, const struct fcgi_param *params, size_t n_params,
		      const void *stdin_data, size_t stdin_len, unsigned timeout_ms)
{
	_cleanup_(fcgi_buf_done) struct fcgi_buf req = { 0 };
	struct fcgi_conn c;
	int r;

	if (fd < 0)
		return -EBADF;
	if (timeout_ms == 0 || (n_params > 0 && !params) || (stdin_len > 0 && !stdin_data))
		return -EINVAL;
	c = (struct fcgi_conn) {
		.fd = fd,
		.deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000u,
		.max_bytes = SIZE_MAX,
	};
	r = build_request(&req, params, n_params, stdin_data, stdin_len);
	if (r < 0)
		return r;
	return conn_send_all(&c, req.data, req.len);
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
			int left = fcgi_deadline_left_ms(deadline), r;

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
