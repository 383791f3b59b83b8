/* SPDX-License-Identifier: MIT */
/*
 * The unprivileged front end: runs every verb by asking the helper for the
 * privileged steps, and does the rest itself (importing the source,
 * formatting output). By the time frontend_run() is called the process has
 * no capabilities, runs as the app's deploy user and has NoNewPrivs.
 */
#ifndef CUTOVER_FRONTEND_H
#define CUTOVER_FRONTEND_H

#include <sys/types.h>

#include "cli.h"
#include "client.h"
#include "config.h"
#include "migrate.h"
#include "output.h"

/* Exit codes (docs/cutover.8). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_ROLLED_BACK = 3,   /* deployed, failed its health check, rolled back */
};

struct frontend {
	struct cli cli;
	struct config *cfg;
	int sock;            /* to the helper */
	pid_t helper_pid;
	int reader_sock;     /* to the source reader, or -1 */
	struct output out;
	struct client client;   /* on sock, from frontend_run() on */
	char from_shown[256];   /* --from, escaped for messages */
	/* Output of [migrate] pretend, vetted before anything runs. */
	struct client_capture capture;
	uint64_t start_ns;      /* deploy: when it started, for the history */
	bool refused;           /* deploy: refused to go on (a destructive migration) */
	/* stage --id ID of a frozen release: this run's build is compared
	 * with it and never replaces it (messages say "left as it was"). */
	bool stage_existing;
	/* What the --json envelope (issue 12) needs beyond the exit code: */
	bool unchanged;         /* succeeded without changing anything (stage --id
	                           of the same content, migrate --pretend or with
	                           nothing to run) */
	const char *error_code; /* the contract's error.code when this run knows
	                           it better than the exit code ("exists",
	                           "not_found", "migration_refused",
	                           "migration_failed"), else NULL */
	/* [migrate] pretend's destructive statements (the first few) */
	struct migrate_finding destructive[8];
	size_t n_destructive;
	bool migrated;          /* [migrate] run has run in this run */
};

/* For the verbs in other files (migrate_verb.c): frontend.c's steps. */
int fe_lock(struct frontend *fe);                     /* EXIT_ code, printed */
int fe_helper_lost(struct frontend *fe);              /* EXIT_FAILED, printed */
void fe_why(const struct frontend *fe, const struct helper_error *e, char *buf, size_t n);
/* [migrate] pretend, the guard, [migrate] run (not with --dry-run or
 * --pretend). 0, or -errno with the one-line reason in err (-EPERM: the
 * guard refused). */
int fe_run_migrations(struct frontend *fe, char *err, size_t errlen);
/* cutover migrate APP RELEASE (src/frontend/migrate_verb.c). */
int verb_migrate(struct frontend *fe);
/* What this run made live can no longer be called unchanged: an
 * interrupt from now on says so. */
void frontend_published(void);
/* A request that may move the live link is out (true) or was refused
 * (false): an interrupt meanwhile says the site may have changed. */
void frontend_switching(bool on);
/* cutover fpm-start APP (src/frontend/fpm_start_verb.c). */
int verb_fpm_start(struct frontend *fe);

/* Runs the verb; returns the process exit code. */
int frontend_run(struct frontend *fe);

/* Waits for the helper to exit (after closing our end of the socket). */
void frontend_finish(struct frontend *fe);

/* Installs SIGINT/SIGTERM/SIGHUP handling: the helper is told to stop
 * (its socket is shut down), cleans up, and we exit with EXIT_FAILED. */
void frontend_install_signals(struct frontend *fe);

#endif
