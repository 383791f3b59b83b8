/* SPDX-License-Identifier: MIT */
/*
 * The command line contract (docs/cutover.1):
 *   cutover [-c FILE] [-q] [--json] VERB APP [ARGS]
 * Pure parsing, no side effects: unit-tested and fuzzable.
 */
#ifndef CUTOVER_CLI_H
#define CUTOVER_CLI_H

#include <stdbool.h>
#include <stddef.h>

enum verb {
	VERB_NONE = 0,
	VERB_DEPLOY,
	VERB_STAGE,
	VERB_SWITCH,
	VERB_ROLLBACK,
	VERB_LIST,
	VERB_STATUS,
	VERB_PRUNE,
	VERB_CHECK,
	VERB_MOUNT,
	VERB_VERIFY,
	VERB_HISTORY,
	VERB_LOG,
};

struct cli {
	enum verb verb;
	const char *verb_name;
	const char *app;
	const char *config;        /* -c FILE */
	bool quiet;
	bool json;
	bool help;
	bool version;
	const char *from;          /* deploy, stage */
	const char *label;
	bool keep_failed;
	bool allow_destructive;    /* deploy: let destructive migrations through */
	const char *release;       /* switch, rollback, verify */
	unsigned wait;             /* --wait SECONDS */
	unsigned keep;             /* prune --keep N; 0 = config */
	unsigned limit;            /* history -n N; 0 = all */
};

/*
 * The part the privileged launcher needs before it drops privileges: the
 * global options, the verb and the app name. Everything after APP is left
 * to cli_parse, which runs unprivileged. Returns 0, or -EINVAL with a
 * one-line reason in err (exit code 2).
 */
int cli_pick(int argc, char **argv, struct cli *ret, char *err, size_t errlen);

/* Parses the whole command line into ret. 0 or -EINVAL with a reason. */
int cli_parse(int argc, char **argv, struct cli *ret, char *err, size_t errlen);

enum verb verb_from_name(const char *name);

extern const char cli_usage[];

#endif
