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
#include "config.h"
#include "output.h"

/* Exit codes (docs/cutover.1). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
};

struct frontend {
	struct cli cli;
	struct config *cfg;
	int sock;            /* to the helper */
	pid_t helper_pid;
	int reader_sock;     /* to the source reader, or -1 */
	struct output out;
	char from_shown[256];   /* --from, escaped for messages */
};

/* Runs the verb; returns the process exit code. */
int frontend_run(struct frontend *fe);

/* Waits for the helper to exit (after closing our end of the socket). */
void frontend_finish(struct frontend *fe);

/* Installs SIGINT/SIGTERM/SIGHUP handling: the helper is told to stop
 * (its socket is shut down), cleans up, and we exit with EXIT_FAILED. */
void frontend_install_signals(struct frontend *fe);

/* The source reader: answers one request for --from, opened with the
 * invoking user's credentials (see src/main.c). */
int reader_serve(int sock, int cwd_fd);

#endif
