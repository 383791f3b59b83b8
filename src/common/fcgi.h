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

/* A growable byte buffer; always leaves room for a terminating NUL. */
struct fcgi_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void fcgi_buf_done(struct fcgi_buf *b);
/* Makes room for n more bytes plus a NUL and returns where they go. */
uint8_t *fcgi_buf_reserve(struct fcgi_buf *b, size_t n);
int fcgi_buf_append(struct fcgi_buf *b, const void *data, size_t n);

/* One connection under one deadline and a byte budget for what is read. */
struct fcgi_conn {
	int fd;
	uint64_t deadline_ns;
	size_t max_bytes;
	size_t received;
};

/* Milliseconds to the deadline for poll(), rounded up; -ETIMEDOUT once past. */
int fcgi_deadline_left_ms(uint64_t deadline_ns);
/* Waits until the socket is ready for events or the deadline passes. */
int fcgi_conn_wait(const struct fcgi_conn *c, short events);
/* A peer that went away is one error whichever way the kernel reports it. */
int fcgi_peer_errno(int e);

#endif
