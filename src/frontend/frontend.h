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
	EXIT_ROLLED_BACK = 3,   /* deployed, failed its health check, rolled back */
};

#include "proto.h"

struct frontend {
	struct cli cli;
	struct config *cfg;
	int sock;            /* to the helper */
	pid_t helper_pid;
	int reader_sock;     /* to the source reader, or -1 */
	struct output out;
	char from_shown[256];   /* --from, escaped for messages */
	/* While capturing, OUTPUT messages are collected here instead of printed. */
	bool capturing;
	bool capture_truncated;     /* more arrived than the capture holds */
	char *capture;
	size_t capture_len, capture_cap;
};

typedef int (*entry_fn)(struct frontend *fe, const struct proto_msg *m, void *ctx);

/*
 * Sends one request to the helper and reads until its REPLY (or END for
 * listings): build output is printed (or captured), entries go to
 * on_entry, an attached fd to ret_fd. -ECONNRESET if the helper is gone.
 */
int fe_request(struct frontend *fe, const struct proto_msg *req, entry_fn on_entry,
	       void *ctx, struct proto_msg *rep, int *ret_fd);

/* Prints the "helper stopped" error; returns EXIT_FAILED. */
int fe_helper_lost(struct frontend *fe);

/* Runs the verb; returns the process exit code. */
int frontend_run(struct frontend *fe);

/* Waits for the helper to exit (after closing our end of the socket). */
void frontend_finish(struct frontend *fe);

/* Installs SIGINT/SIGTERM/SIGHUP handling: the helper is told to stop
 * (its socket is shut down), cleans up, and we exit with EXIT_FAILED. */
void frontend_install_signals(struct frontend *fe);

#endif
