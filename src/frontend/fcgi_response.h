/* SPDX-License-Identifier: MIT */
/*
 * The response half of FastCGI, run by the unprivileged front end on a
 * socket the helper connected and sent the request on.
 */
#ifndef CUTOVER_FCGI_RESPONSE_H
#define CUTOVER_FCGI_RESPONSE_H

#include "fcgi.h"

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

/*
 * Reads records until END_REQUEST. Bounds: at most max_bytes are read from
 * fd, record headers and padding included (-EFBIG, found before the record
 * that would cross the limit is read); one deadline of timeout_ms
 * (-ETIMEDOUT; timeout_ms must be > 0). The peer closing or resetting the
 * connection before END_REQUEST is -ECONNRESET. A wrong version, a record
 * for a request id other than 0 or 1, a short END_REQUEST, or output with
 * no header/body separator or a bad Status header is -EBADMSG.
 * END_REQUEST refusals: FCGI_OVERLOADED -EBUSY, FCGI_CANT_MPX_CONN and
 * FCGI_UNKNOWN_ROLE -EPROTO. Management records (id 0) and record types a
 * responder does not expect are skipped.
 *
 * On success fills *ret (release with fcgi_response_free()).
 */
int fcgi_read_response(int fd, unsigned timeout_ms, size_t max_bytes, struct fcgi_response *ret);
void fcgi_response_free(struct fcgi_response *r);

#endif
