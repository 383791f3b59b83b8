/* SPDX-License-Identifier: MIT */
/*
 * Health checks: of a staged release before anyone sees it (a FastCGI
 * request into the live pool whose document root is the new release), and
 * of the live site after a switch (an HTTP GET with libcurl).
 */
#ifndef CUTOVER_HEALTH_H
#define CUTOVER_HEALTH_H

#include <stddef.h>

#include "config.h"
#include "reload.h"

/* Does a response satisfy [health]? On failure writes why into why. */
int health_evaluate(const struct health_config *h, int status, const char *body,
		    size_t body_len, char *why, size_t n);

/* Runs [health] url's request in the pool against release id, before it
 * is published. 0, or -errno with a one-line reason in err. */
int health_precheck(const struct reload_env *env, const char *id, char *err, size_t errlen);
/* The same request of another kind: FPM_REQ_SLOT_PRECHECK sends it to the
 * pool slot this run started (reload = swap) rather than [fpm] socket. */
int health_precheck_kind(const struct reload_env *env, enum fpm_request_kind kind, const char *id,
			 char *err, size_t errlen);

/* GETs [health] url up to `retries` times; 0, or -errno with a reason
 * ("GET http://127.0.0.1/up returned 500 after 3 tries"). */
int health_check(const struct health_config *h, char *err, size_t errlen);

#endif
