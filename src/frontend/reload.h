/* SPDX-License-Identifier: MIT */
/*
 * Coordinating with PHP-FPM from the front end: what the pool's own
 * configuration says (from `php-fpm -tt`, run by the helper), waiting for
 * in-flight requests to drain before a reload, the reload itself through
 * the helper, and confirming the pool answers again.
 */
#ifndef CUTOVER_RELOAD_H
#define CUTOVER_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "config.h"
#include "output.h"

struct fpm_facts {
	char config[256];             /* the master's configuration file */
	long process_control_timeout; /* seconds; -1 if not found */
	long max_request_terminate;   /* seconds, largest of all pools; 0 = unlimited */
	unsigned pools;
	unsigned ondemand_pools;
};

/* Parses the dump `php-fpm -tt` prints ("NOTICE: \tkey = value" lines,
 * "[section]" headers). Pure. */
int fpm_facts_parse(const char *text, size_t len, struct fpm_facts *ret);

/* A one-line warning when a reload would cut in-flight requests, or "". */
void fpm_facts_warning(const struct fpm_facts *f, char *buf, size_t n);

/* What talking to php-fpm through the helper needs from the run. */
struct reload_env {
	struct client *client;
	const struct config *cfg;
	struct output *out;          /* warnings and errors */
};

/* Asks the helper to verify the master and test its configuration.
 * 0 (warnings printed), or -EIO (the configuration test failed), -EPERM
 * (the master cannot be trusted) or -ECONNRESET (the helper is gone) with
 * the reason in err. */
int reload_inspect(const struct reload_env *env, struct fpm_facts *ret, char *err, size_t errlen);

struct reload_report {
	uint64_t drain_wait_ns;       /* waiting for long requests before the signal */
	uint64_t reload_ns;           /* signal until the pool answered again */
	uint64_t stall_ns;            /* signal until the first request was answered */
	uint64_t longest_inflight_us; /* longest request running when we signalled */
	struct client_fpm_reload_result fpm;   /* what the helper saw of the reload */
	bool helper_lost;             /* the helper went away during the reload request
	                                 itself (set on failure too) */
};

struct fcgi_response;
/* Asks the helper for one of its fixed FastCGI requests (enum
 * fpm_request_kind; id names the release for FPM_REQ_PRECHECK) and reads
 * the answer from the socket it hands over. 0 or -errno with err set. */
int fpm_fetch(const struct reload_env *env, enum fpm_request_kind kind, const char *id,
	      struct fcgi_response *resp, char *err, size_t errlen);

/* Reloads as [fpm] reload says (graceful, opcache-reset or none) and
 * confirms it completed. 0, or -errno after printing the reason (but for
 * ret->helper_lost, which the caller words: it knows what was published). */
int reload_run(const struct reload_env *env, const struct fpm_facts *facts, struct reload_report *ret);

#endif
