/* SPDX-License-Identifier: MIT */
/*
 * The command line contract (docs/cutover.8):
 *   cutover [-c FILE] [-q] [--json] VERB APP [ARGS]
 * Pure parsing, no side effects: unit-tested and fuzzable.
 */
#ifndef CUTOVER_CLI_H
#define CUTOVER_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

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
	VERB_MIGRATE,
	VERB_FPM_START,      /* reload = swap: root only, not through sudo */
	/* systemd's ExecStart of a reload = swap slot (src/launcher/fpm_exec.c):
	 * app holds the unit instance "APP:S"; not a verb of the front end. */
	VERB_FPM_EXEC,
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
	const char *help_verb;     /* help VERB, VERB --help; NULL: all verbs */
	const char *from;          /* deploy, stage */
	const char *label;         /* mapped (label_map): points into label_buf */
	char label_buf[LABEL_MAX + 1];
	const char *id;            /* deploy, stage --id: the caller's release id */
	bool keep_failed;
	bool dry_run;              /* deploy: stop before the switch */
	bool allow_destructive;    /* deploy, migrate: let destructive migrations through */
	bool pretend;              /* migrate: [migrate] pretend only */
	/* switch, rollback, verify, log, migrate: a release id; for switch,
	 * rollback and migrate
	 * also a unique id prefix or label, which the front end resolves
	 * (resolve.c) into release_buf and points release at. */
	const char *release;
	char release_buf[RELEASE_ID_MAX + 1];
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

/*
 * Parses the whole command line into ret. 0 or -EINVAL with a reason.
 * Pure: the launcher runs it first, before the config is loaded, so a
 * typo is reported as a typo. `help [VERB]`, `VERB --help` and `-h` set
 * help (and help_verb); --version sets version.
 */
int cli_parse(int argc, char **argv, struct cli *ret, char *err, size_t errlen);

/* The help of one verb (synopsis, options, one line each), or NULL for a
 * name that is not a verb. src/frontend/help.c. */
const char *cli_verb_help(const char *verb);

/* What `cutover --help`, `cutover help` and `cutover help VERB` print on
 * stdout; 0, or -EINVAL for an unknown verb. */
int cli_print_help(const struct cli *c);
/* The text cli_print_help prints, or NULL for an unknown verb. */
const char *cli_help_text(const struct cli *c);

enum verb verb_from_name(const char *name);

extern const char cli_usage[];

#endif
