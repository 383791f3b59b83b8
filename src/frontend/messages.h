/* SPDX-License-Identifier: MIT */
/*
 * The sentences of the helper's refusals and failures. The helper sends an
 * error code (enum proto_error), an errno and the failing subject; the
 * front end words them here, unprivileged.
 */
#ifndef CUTOVER_MESSAGES_H
#define CUTOVER_MESSAGES_H

#include <stddef.h>

#include "config.h"
#include "proto.h"

/* A failed reply, as the client hands it to its caller. */
struct helper_error {
	int status;                   /* -errno */
	enum proto_error code;
	char subject[PROTO_TEXT_SIZE];
	char id[PROTO_ID_SIZE];       /* a release id the failure is about, or "" */
	uint64_t arg[4];
};

/* Fills e from a REPLY with status < 0. */
void helper_error_from_reply(struct helper_error *e, const struct proto_msg *rep);

/* The one-line message for e (no "cutover: " prefix, no newline). */
void messages_format(const struct helper_error *e, const struct config *cfg, char *buf, size_t n);

#endif
