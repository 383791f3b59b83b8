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
	char detail[PROTO_TEXT_SIZE]; /* ERR_FPM_TEST: php-fpm's line, from an ENTRY */
};

/* Fills e from a REPLY with status < 0. */
void helper_error_from_reply(struct helper_error *e, const struct proto_msg *rep);

/* Fills note from a successful REPLY or an ENTRY: its NOTE_ or CHECK_
 * code (ERR_NONE: nothing to say), subject, id and arg[]. */
void helper_note_from_msg(struct helper_error *note, const struct proto_msg *m);

/* The one-line message for e (no "cutover: " prefix, no newline). */
void messages_format(const struct helper_error *e, const struct config *cfg, char *buf, size_t n);

/* The same for a note; "" when there is none (ERR_NONE). */
void messages_format_note(const struct helper_error *note, const struct config *cfg, char *buf, size_t n);

/* The --json error code (docs/cutover.8, JSON OUTPUT) a failure of the
 * helper's implies, or NULL when the caller's context decides. */
const char *messages_code(const struct helper_error *e);

/* A code's name for --json, lowercase and without CHECK_: "current_bad".
 * Points to a static buffer. */
const char *messages_code_name(enum proto_error code);

#endif
