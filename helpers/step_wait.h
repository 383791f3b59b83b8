/* SPDX-License-Identifier: MIT */
/*
 * Watching a running build step (the sandbox's pid 1) until every process
 * of it is gone: its output, the deadline, the disk budget and the front
 * end's socket, all for as long as the pid namespace lives. The end of
 * the output is not the end of the step: a step can close it (exec
 * >/dev/null, a double-forked daemon) and go on running; only the exit of
 * the namespace's pid 1 (a pidfd) means that nothing of it is left.
 *
 * The watch never blocks on the front end's socket: a front end that does
 * not read (its stderr a pipe nobody reads, or stopped by SIGTSTP) would
 * otherwise hold the helper in a send while the step runs past its
 * deadline and its disk budget. Output waits in a bounded buffer; while
 * that is full the step's pipe is not read, so the step blocks on its own
 * output (back-pressure, nothing is lost) and the checks go on.
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
	STEP_END_DISK_FULL,   /* the filesystem has no space left */
	STEP_END_ERROR,       /* poll failed */
};

/* Output read from the step and not yet sent: a ring of bytes. */
#define STEP_PENDING_MAX (64 * 1024)

struct step_watch {
	int out_fd;               /* read end of the step's output pipe */
	int sock;                 /* the front end's socket: any event but POLLOUT ends the step */
	int pidfd;                /* pidfd of the sandbox's pid 1 */
	int space_fd;             /* an fd on the release's filesystem (fstatfs) */
	int log_fd;               /* the build log (each chunk as it is read), or -EBADF */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC, as now_ns() */
	unsigned long long max_bytes;   /* disk budget; 0: not checked */
	unsigned check_ms;        /* how often the free space is looked at */
	/* Sends one chunk (at most PROTO_TEXT_SIZE - 1 bytes) to the front
	 * end: 0 sent, -EAGAIN the socket is full (offered again once it is
	 * writable), other < 0 ends the step (STEP_END_PEER_GONE). */
	int (*send_output)(void *ctx, const char *buf, size_t n);
	void *ctx;
	/* Private: the pending output. */
	char pending[STEP_PENDING_MAX];
	size_t head, len;
};

/* Returns how the step ended. Unless STEP_END_EXITED, the caller kills
 * pid 1 (which takes the namespace with it); either way it reaps it.
 * The socket is non-blocking while it runs and blocking again when it
 * returns; output may still be pending (step_watch_flush). */
enum step_end step_watch_run(struct step_watch *w);

/* Sends what is still pending, blocking: for once the step is dead.
 * 0, or < 0 if the front end is gone. */
int step_watch_flush(struct step_watch *w);

#endif
