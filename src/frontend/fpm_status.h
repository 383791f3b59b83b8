/* SPDX-License-Identifier: MIT */
/*
 * Parser for the plain-text PHP-FPM status page (pm.status_path), requested
 * as "STATUS_PATH?full" so that it lists every process. Observed with
 * php-fpm 8.2: "key:" padded with spaces to a column, then the value; a pool
 * block first, then one block per process, each introduced by a blank line
 * and a line of 24 asterisks:
 *
 *   pool:                 www
 *   process manager:      static
 *   start time:           26/Nov/2026:05:36:22 +0000
 *   ...
 *   total processes:      2
 *   ...
 *
 *   ************************
 *   pid:                  6261
 *   state:                Running
 *   request duration:     306206        (microseconds)
 *   request URI:          /sleep.php?x=1
 *   ...
 *
 * The page is untrusted input (its URIs come from clients): the parser
 * accepts keys it does not know and skips lines without a colon, but a known
 * numeric field must be a plain decimal number, a known field may appear
 * only once per block, and the input size and process count are bounded.
 * Only the plain-text format is parsed. PHP-FPM 8.2 matches the query keys
 * loosely (observed: "?full&x=1" and "?full&xm=1" both answer in XML), so
 * request exactly "?full" and let a page in another format fail here.
 */
#ifndef CUTOVER_FPM_STATUS_H
#define CUTOVER_FPM_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest page accepted (-EFBIG) and most process blocks (-E2BIG): a pool
 * with pm.max_children beyond this is not one cutover manages. */
#define FPM_STATUS_TEXT_MAX (8u * 1024 * 1024)
#define FPM_STATUS_PROCS_MAX 4096

struct fpm_proc {
	pid_t pid;                                 /* "pid:" (required) */
	char state[32];                            /* "state:" (required), see below */
	unsigned long long start_since_s;          /* "start since:" */
	unsigned long long requests;               /* "requests:" served so far */
	/* "request duration:" (required): of the current request while busy,
	 * of the last one when Idle. */
	unsigned long long request_duration_us;
	char request_method[16];                   /* "request method:", "-" if none, truncated */
	char request_uri[256];                     /* "request URI:", truncated to fit */
	char script[512];                          /* "script:", "-" if none, truncated */
};

struct fpm_status {
	char pool[64];                             /* "pool:" (required) */
	char pm[16];                               /* "process manager:" (required) */
	char start_time[64];                       /* "start time:" as printed */
	unsigned long long start_since_s;
	unsigned long long accepted_conn;
	unsigned long long listen_queue;
	unsigned long long max_listen_queue;
	unsigned long long listen_queue_len;
	unsigned long long idle;                   /* "idle processes:" */
	unsigned long long active;                 /* "active processes:" */
	unsigned long long total;                  /* "total processes:" (required) */
	unsigned long long max_active;
	unsigned long long max_children_reached;
	unsigned long long slow_requests;
	struct fpm_proc *procs;                    /* one per block, page order */
	size_t n_procs;                            /* 0 without "?full" */
};

/*
 * Parses len bytes of status page text (NUL bytes are refused, no
 * terminator is needed). Fields not marked required above are 0 or "" when
 * absent. Returns 0 and fills *ret (release with fpm_status_free()), or
 * -EBADMSG (not a status page, a bad number, a duplicated field, a missing
 * required field, a value too long for an identifier field), -EFBIG (more
 * than FPM_STATUS_TEXT_MAX bytes), -E2BIG (more than FPM_STATUS_PROCS_MAX
 * processes) or -ENOMEM.
 */
int fpm_status_parse(const char *text, size_t len, struct fpm_status *ret);
void fpm_status_free(struct fpm_status *s);

/*
 * Whether a process is serving a request. PHP-FPM 8.2 states are "Idle"
 * (waiting in accept), "Reading headers", "Getting request information",
 * "Running", "Ending" and "Finishing" (later versions add "Creating").
 * Every state but "Idle" may hold a request that a reload would have to
 * wait for or cut, so all of them count as busy, and so does any state we
 * do not know: erring towards busy only makes a reload wait longer.
 */
bool fpm_status_proc_is_busy(const struct fpm_proc *p);

/*
 * The longest request duration among busy processes, 0 if none is busy.
 * The process that served the status page is itself busy (a few hundred
 * microseconds), so on a live page this is rarely 0: compare it with a
 * threshold rather than with 0.
 */
unsigned long long fpm_status_longest_busy_us(const struct fpm_status *s);

#endif
