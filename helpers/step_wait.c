/* SPDX-License-Identifier: MIT */
#include "step_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

/* The largest chunk read from the step or sent in one OUTPUT message. */
#define CHUNK_MAX (PROTO_TEXT_SIZE - 1)

/* Free bytes for unprivileged writers; false when statfs fails. */
static bool fs_avail(int fd, unsigned long long *ret)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	*ret = (unsigned long long)sfs.f_bavail * (unsigned long long)sfs.f_bsize;
	return true;
}

/* The budget: what the filesystem of the release lost since the step
 * started (other writers count too, so it errs on the safe side).
 * STEP_END_EXITED when within it (the caller's "go on"). */
static enum step_end disk_over(const struct step_watch *w, unsigned long long avail0)
{
	unsigned long long avail;

	if (!avail0 || !w->max_bytes || !fs_avail(w->space_fd, &avail))
		return STEP_END_EXITED;
	/* A step that filled the filesystem is stopped whatever it used:
	 * nothing else on it can write any more. */
	if (avail == 0)
		return STEP_END_DISK_FULL;
	return avail0 > avail && avail0 - avail > w->max_bytes ? STEP_END_DISK : STEP_END_EXITED;
}

/* Appends n bytes (n <= the free space) to the pending ring. */
static void pending_put(struct step_watch *w, const char *buf, size_t n)
{
	size_t tail = (w->head + w->len) % STEP_PENDING_MAX;
	size_t first = n < STEP_PENDING_MAX - tail ? n : STEP_PENDING_MAX - tail;

	memcpy(w->pending + tail, buf, first);
	memcpy(w->pending, buf + first, n - first);
	w->len += n;
}

/* Copies the oldest pending bytes, at most CHUNK_MAX, to buf. */
static size_t pending_peek(const struct step_watch *w, char *buf)
{
	size_t n = w->len < CHUNK_MAX ? w->len : CHUNK_MAX;
	size_t first = n < STEP_PENDING_MAX - w->head ? n : STEP_PENDING_MAX - w->head;

	memcpy(buf, w->pending + w->head, first);
	memcpy(buf + first, w->pending, n - first);
	return n;
}

/* Sends pending output until none is left or the (non-blocking) socket
 * is full: 0; < 0 if the front end is gone. */
static int pending_send(struct step_watch *w)
{
	char buf[CHUNK_MAX];

	while (w->len > 0) {
		size_t n = pending_peek(w, buf);
		int r = w->send_output(w->ctx, buf, n);

		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		w->head = (w->head + n) % STEP_PENDING_MAX;
		w->len -= n;
	}
	w->head = 0;
	return 0;
}

/* Reads one chunk of output into the ring (and the log): 1 if read,
 * 0 at EOF. Only called when the ring has room. */
static int read_output(struct step_watch *w)
{
	char buf[CHUNK_MAX];
	size_t room = STEP_PENDING_MAX - w->len;
	ssize_t n = read(w->out_fd, buf, room < sizeof(buf) ? room : sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	if (w->log_fd >= 0)
		(void)write_all(w->log_fd, buf, (size_t)n);
	pending_put(w, buf, (size_t)n);
	return 1;
}

/* How long poll may sleep: until the deadline, at most check_ms. */
static int poll_timeout(const struct step_watch *w, uint64_t now)
{
	uint64_t ms = (w->deadline_ns - now) / 1000000 + 1;

	return ms > w->check_ms ? (int)w->check_ms : (int)ms;
}

/* The loop of step_watch_run, with the socket non-blocking. The deadline,
 * the disk budget and the front end are checked on every turn, whatever
 * woke poll: a step that writes without pause keeps it busy. */
static enum step_end watch_loop(struct step_watch *w)
{
	unsigned long long avail0 = 0;
	bool out_open = true, exited = false;
	enum step_end end;

	(void)fs_avail(w->space_fd, &avail0);   /* 0: not known, not checked */

	for (;;) {
		struct pollfd p[3];
		uint64_t now;
		int r;

		if (pending_send(w) < 0)
			return STEP_END_PEER_GONE;
		/* Once pid 1 is gone so is every writer of the pipe: what is
		 * left in it is read to its end, then the step is over. */
		if (exited && !out_open && w->len == 0)
			return STEP_END_EXITED;
		now = now_ns();
		if (now >= w->deadline_ns)
			return exited ? STEP_END_EXITED : STEP_END_TIMEOUT;
		if (!exited && (end = disk_over(w, avail0)) != STEP_END_EXITED)
			return end;
		/* A full ring leaves the pipe unread: the step blocks on its
		 * own output until the front end reads again. */
		p[0] = (struct pollfd){ out_open && w->len < STEP_PENDING_MAX ? w->out_fd : -1, POLLIN, 0 };
		/* The front end never speaks during a step: POLLIN is its
		 * exit (EOF) or a protocol violation. */
		p[1] = (struct pollfd){ !exited || w->len ? w->sock : -1,
					(short)((exited ? 0 : POLLIN) | (w->len ? POLLOUT : 0)), 0 };
		p[2] = (struct pollfd){ exited ? -1 : w->pidfd, POLLIN, 0 };
		r = poll(p, 3, poll_timeout(w, now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return STEP_END_ERROR;
		if (p[1].revents & ~POLLOUT)
			return STEP_END_PEER_GONE;
		if (p[0].revents && read_output(w) == 0)
			out_open = false;
		if (p[2].revents)
			exited = true;
	}
}

enum step_end step_watch_run(struct step_watch *w)
{
	int flags = fcntl(w->sock, F_GETFL);
	enum step_end end;

	w->head = w->len = 0;
	if (flags < 0 || fcntl(w->sock, F_SETFL, flags | O_NONBLOCK) < 0)
		return STEP_END_ERROR;
	end = watch_loop(w);
	if (fcntl(w->sock, F_SETFL, flags) < 0)
		return STEP_END_ERROR;
	return end;
}

int step_watch_flush(struct step_watch *w)
{
	/* On the blocking socket a send never answers -EAGAIN: this
	 * returns with nothing pending, or the front end's error. */
	return pending_send(w);
}
