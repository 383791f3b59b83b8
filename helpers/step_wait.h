/* SPDX-License-Identifier: MIT */
/*
 * Watching a running build step (the sandbox's pid 1) until every process
 * of it is gone: its output, the deadline, the disk budget and the front
 * end's socket, all for as long as the pid namespace lives. The end of
 * the output is not the end of the step: a step can close it (exec
 * >/dev/null, a double-forked daemon) and go on running; only the exit of
 * the namespace's pid 1 (a pidfd) means that nothing of it is left.
 */
#ifndef CUTOVER_STEP_WAIT_H
#define CUTOVER_STEP_WAIT_H

#include <stddef.h>
#include <stdint.h>

enum step_end {
	STEP_END_EXITED,      /* pid 1 exited on its own: reap it for the status */
	STEP_END_TIMEOUT,     /* the deadline passed */
	STEP_END_PEER_GONE,   /* the front end spoke or went away, or output could not be sent */
	STEP_END_DISK,        /* the filesystem lost more than max_bytes since the start */
	STEP_END_ERROR,       /* poll failed */
};

struct step_watch {
	int out_fd;               /* read end of the step's output pipe */
	int sock;                 /* the front end's socket: any event ends the step */
	int pidfd;                /* pidfd of the sandbox's pid 1 */
	int space_fd;             /* an fd on the release's filesystem (fstatfs) */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC, as now_ns() */
	unsigned long long max_bytes;   /* disk budget; 0: not checked */
	unsigned check_ms;        /* how often the free space is looked at */
	/* Called with each chunk of output; < 0 ends the step (STEP_END_PEER_GONE). */
	int (*on_output)(void *ctx, const char *buf, size_t n);
	void *ctx;
};

/* Returns how the step ended. Unless STEP_END_EXITED, the caller kills
 * pid 1 (which takes the namespace with it); either way it reaps it. */
enum step_end step_watch_run(const struct step_watch *w);

#endif
