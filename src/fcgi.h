/* SPDX-License-Identifier: MIT */
/*
 * A small FastCGI client (responder role only), enough to talk to a PHP-FPM
 * pool directly over its socket: read the pool's status page, health-check a
 * staged release, run a maintenance script inside the pool.
 *
 * The privileged helper connects the socket and passes the connected fd to
 * the unprivileged front end, so fcgi_request() takes an fd it does not own
 * and never changes its flags: every recv/send uses MSG_DONTWAIT and waits
 * with poll(), which keeps the deadline honest on a blocking fd too.
 *
 * Everything the peer sends is untrusted: the number of bytes read is
 * bounded, the whole exchange has one deadline, and no read goes past the
 * end of the record a header announced.
 */
#ifndef CUTOVER_FCGI_H
#define CUTOVER_FCGI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#define FCGI_VERSION_1 1
#define FCGI_HEADER_LEN 8
/* Request id of the one request per connection; 0 is for management records. */
#define FCGI_REQUEST_ID 1
/*
 * Most content we put in one record: a multiple of 8, so padding to 8 keeps
 * content + padding <= 65535. PHP-FPM rejects a PARAMS record whose content
 * plus padding exceeds 65535, and parses each PARAMS record on its own, so a
 * name-value pair must fit in one record: a longer pair is -E2BIG.
 */
#define FCGI_RECORD_CONTENT_MAX 65528
/* Longest name or value the length encoding can carry (31 bits). */
#define FCGI_PARAM_LEN_MAX 0x7fffffffu

enum fcgi_record_type {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_STDERR = 7,
	FCGI_DATA = 8,
	FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10,
	FCGI_UNKNOWN_TYPE = 11,
};

enum fcgi_role {
	FCGI_RESPONDER = 1,
};

/* protocolStatus of FCGI_END_REQUEST. */
enum fcgi_protocol_status {
	FCGI_REQUEST_COMPLETE = 0,
	FCGI_CANT_MPX_CONN = 1,
	FCGI_OVERLOADED = 2,
	FCGI_UNKNOWN_ROLE = 3,
};

struct fcgi_header {
	uint8_t version;
	uint8_t type;
	uint16_t request_id;
	uint16_t content_length;
	uint8_t padding_length;
};

struct fcgi_param {
	const char *name;
	const char *value;
};

/* A name-value pair as it lies in a decoded buffer (not NUL-terminated). */
struct fcgi_param_view {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
};

struct fcgi_response {
	int status;            /* from a "Status: NNN ..." header, else 200 */
	char *headers;         /* CGI header block without the blank line, NUL-terminated */
	size_t headers_len;
	char *body;            /* bytes after the blank line, NUL-terminated */
	size_t body_len;
	char *stderr_text;     /* the FCGI_STDERR stream, NUL-terminated, may be "" */
	size_t stderr_len;
	uint32_t app_status;   /* appStatus of FCGI_END_REQUEST (PHP: exit status) */
};

/* Record header encoding (pure). fcgi_header_decode() returns -EBADMSG for a
 * version other than 1, the only one defined. */
void fcgi_header_encode(uint8_t out[FCGI_HEADER_LEN], enum fcgi_record_type type,
			uint16_t request_id, uint16_t content_length,
			uint8_t padding_length);
int fcgi_header_decode(const uint8_t in[FCGI_HEADER_LEN], struct fcgi_header *ret);

/*
 * Encodes one name-value pair, each length in the 1-byte form when <= 127
 * and the 4-byte form (high bit set) otherwise. With buf == NULL only
 * computes the size. Returns the encoded size, -ENOBUFS if it does not fit
 * in size bytes, -E2BIG if a length exceeds FCGI_PARAM_LEN_MAX.
 */
ssize_t fcgi_param_encode(uint8_t *buf, size_t size, const char *name,
			  size_t name_len, const char *value, size_t value_len);

/*
 * Decodes the pair at the start of buf (len bytes): ret points into buf.
 * Returns the bytes consumed, or -EBADMSG if the pair is truncated.
 */
ssize_t fcgi_param_decode(const uint8_t *buf, size_t len, struct fcgi_param_view *ret);

/*
 * One request over an already-connected stream socket (unix or TCP) that the
 * caller keeps owning: FCGI_RESPONDER role, request id 1, no keep-conn.
 * Sends BEGIN_REQUEST, the params (whole pairs per record), an empty PARAMS,
 * stdin (if any) and an empty STDIN, then reads records until END_REQUEST.
 * The request is sent in full before the response is read, so stdin is meant
 * to be small.
 *
 * Bounds: at most max_bytes are read from fd, record headers and padding
 * included (-EFBIG, found before the record that would cross the limit is
 * read); one deadline of timeout_ms for the whole exchange (-ETIMEDOUT;
 * timeout_ms must be > 0). The peer closing or resetting the connection
 * before END_REQUEST, even while the request is still being sent, is
 * -ECONNRESET. A wrong version, a record for a request id other than 0 or 1,
 * a short END_REQUEST, or output with no header/body separator or a bad
 * Status header is -EBADMSG. END_REQUEST refusals: FCGI_OVERLOADED -EBUSY,
 * FCGI_CANT_MPX_CONN/FCGI_UNKNOWN_ROLE -EPROTO. Management records (id 0)
 * and record types a responder does not expect are skipped.
 *
 * On success fills *ret (release with fcgi_response_free()).
 */
int fcgi_request(int fd, const struct fcgi_param *params, size_t n_params,
		 const void *stdin_data, size_t stdin_len, unsigned timeout_ms,
		 size_t max_bytes, struct fcgi_response *ret);

/*
 * The two halves of fcgi_request(), for when one process sends a request
 * and another reads the answer (the privileged helper builds and sends
 * every request itself, shuts the write side, and hands the socket to the
 * unprivileged front end, which only reads). max_bytes counts only what
 * fcgi_read_response() reads. Same errors as fcgi_request().
 */
int fcgi_send_request(int fd, const struct fcgi_param *params, size_t n_params,
		      const void *stdin_data, size_t stdin_len, unsigned timeout_ms);
int fcgi_read_response(int fd, unsigned timeout_ms, size_t max_bytes, struct fcgi_response *ret);
void fcgi_response_free(struct fcgi_response *r);

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
