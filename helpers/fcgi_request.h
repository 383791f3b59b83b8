/* SPDX-License-Identifier: MIT */
/*
 * The request half of FastCGI, run by the privileged helper only: it builds
 * and sends every request itself (fixed kinds, never bytes from the front
 * end), shuts the write side and hands the socket to the front end, which
 * reads the answer (src/frontend/fcgi_response.h).
 */
#ifndef CUTOVER_FCGI_REQUEST_H
#define CUTOVER_FCGI_REQUEST_H

#include "fcgi.h"

/*
 * One request over an already-connected stream socket (unix or TCP) that the
 * caller keeps owning: FCGI_RESPONDER role, request id 1, no keep-conn.
 * Sends BEGIN_REQUEST, the params (whole pairs per record), an empty PARAMS,
 * stdin (if any) and an empty STDIN, all under one deadline of timeout_ms
 * (-ETIMEDOUT; timeout_ms must be > 0). The peer closing or resetting the
 * connection while the request is sent is -ECONNRESET; a pair too long for
 * one record is -E2BIG.
 */
int fcgi_send_request(int fd, const struct fcgi_param *params, size_t n_params,
		      const void *stdin_data, size_t stdin_len, unsigned timeout_ms);

/*
 * Where a pool listens, in PHP-FPM's `listen =` notation:
 *   "unix:/run/php/x.sock" or "/run/php/x.sock"  (absolute paths only)
 *   "127.0.0.1:9000", "[::1]:9000"               (numeric addresses only)
 *   "9000"                                        (all addresses: 127.0.0.1)
 * Host names are refused: resolving one could block past any deadline and
 * would make the privileged helper depend on resolver configuration.
 */
enum fcgi_address_kind {
	FCGI_ADDRESS_UNIX = 1,
	FCGI_ADDRESS_TCP = 2,
};

struct fcgi_address {
	enum fcgi_address_kind kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* UNIX */
	char host[46];         /* TCP: numeric IPv4 or IPv6, without brackets */
	unsigned port;         /* TCP: 1..65535 */
};

/* Pure. Returns 0, -EINVAL (syntax, relative path, host name, bad port) or
 * -ENAMETOOLONG (socket path longer than sun_path allows). */
int fcgi_address_parse(const char *s, struct fcgi_address *ret);

/*
 * Connect with a deadline; return a blocking, close-on-exec stream socket or
 * -errno (-ETIMEDOUT when the deadline passes, -ECONNREFUSED when nobody
 * listens, -EINVAL for a host that is not a numeric address).
 */
int fcgi_connect_unix(const char *path, unsigned timeout_ms);
int fcgi_connect_tcp(const char *host, unsigned port, unsigned timeout_ms);
int fcgi_address_connect(const struct fcgi_address *a, unsigned timeout_ms);

/*
 * The standard CGI params of a GET for uri ("/path/script.php?query")
 * against document_root, the way nginx's fastcgi_params would send them:
 * SCRIPT_FILENAME = document_root + path, SCRIPT_NAME = path,
 * REQUEST_URI = uri, QUERY_STRING = query, SERVER_NAME = HTTP_HOST = host
 * ("localhost" if NULL), REMOTE_ADDR/SERVER_ADDR 127.0.0.1, SERVER_PORT 80.
 *
 * document_root must be absolute; uri must start with '/', and its path may
 * hold no "." or ".." component, no '%' (we do not percent-decode) and no
 * control bytes, space or '#', because the path becomes SCRIPT_FILENAME.
 * Returns 0 or -EINVAL/-ENAMETOOLONG/-ENOMEM; on success *ret is one
 * allocation whose params point into itself (release with free()).
 */
#define FCGI_CGI_PARAMS_MAX 18
struct fcgi_cgi_params {
	struct fcgi_param params[FCGI_CGI_PARAMS_MAX];
	size_t n_params;
	char strings[];        /* storage the params point into */
};

int fcgi_cgi_params_new(const char *document_root, const char *uri,
			const char *host, struct fcgi_cgi_params **ret);

#endif
