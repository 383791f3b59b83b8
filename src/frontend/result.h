/* SPDX-License-Identifier: MIT */
/*
 * The --json document (docs/cutover.8, JSON OUTPUT): one object on stdout
 * for every outcome of every invocation. What the run learns is collected
 * here as it goes (verb, app, the live release before and after, whether
 * anything changed, an error code, the verb's own keys) and printed once,
 * at exit: by the launcher's main(), or by the signal handler.
 */
#ifndef CUTOVER_RESULT_H
#define CUTOVER_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "output.h"

#define RESULT_SCHEMA 1

struct result {
	bool json;                 /* --json somewhere on the command line */
	bool printed;
	char verb[32];             /* "": null */
	char app[APP_NAME_MAX + 1];
	const char *code;          /* error.code; NULL: derived from the exit code */
	char message[1024];        /* error.message; "": out_last_error() */
	bool before_known, after_known;
	char before[RELEASE_ID_MAX + 1], after[RELEASE_ID_MAX + 1];   /* "": null */
	bool changed;
	char *body;                /* the verb's keys: "k":v,... without braces */
	struct json steps;         /* [{name, seconds}] of the steps out_step showed */
};

/* The one result of this process. */
struct result *result_get(void);

/* True when argv holds --json anywhere: pure, usable before parsing. */
bool result_argv_json(int argc, char *const *argv);

void result_set_verb(struct result *r, const char *verb);
void result_set_app(struct result *r, const char *app);
/* The error code of this run: the first one set wins (the first failure
 * is the cause, what follows is consequence)... */
void result_set_code(struct result *r, const char *code);
/* ...except these, which say the run itself was cut short. */
void result_force_code(struct result *r, const char *code);
/* A message where no out_error() line says it. */
void result_set_message(struct result *r, const char *msg);
/* Takes the inside of a JSON object built with json_begin('{') ...
 * json_end('}') as the verb's keys (replacing any earlier ones). */
void result_take_body(struct result *r, const struct json *obj);

/* A finished step (out_step): its name and duration, for "steps". */
void result_add_step(struct result *r, const char *name, uint64_t ns);

/* The release ROOT/current points to, read with readlink only (usable in
 * a signal handler). Returns true and the id, or false ("" : none or
 * unreadable). */
bool result_read_current(const char *root, char *id, size_t n);
void result_set_before(struct result *r, const char *root);
void result_set_after(struct result *r, const char *root);

/* The error code a run that ended with exit code ex and no explicit code
 * gets. */
const char *result_default_code(int ex);

/*
 * Writes the document for r ended with exit code ex into buf (at most n
 * bytes, NUL-terminated), the newline included. Uses no allocation nor
 * stdio: the signal handler calls it. with_body false leaves the verb's
 * keys out. Returns the length, or -ENOBUFS when it did not fit.
 */
long result_format(const struct result *r, int ex, bool with_body, const char *last_error,
		   char *buf, size_t n);

/* Prints the document on stdout once, if --json was given; returns ex. */
int result_finish(struct result *r, int ex);

/* For the signal handler: prints the document with code "interrupted"
 * and message msg (no body), with write(2) only. */
void result_finish_signal(struct result *r, int ex, const char *msg, const char *root);

void result_reset(struct result *r);

#endif
