/* SPDX-License-Identifier: MIT */
#include "step_wait.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

static unsigned long long fs_avail(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return 0;
	return (unsigned long long)sfs.f_bavail * (unsigned long long)sfs.f_bsize;
}

/* The budget: what the filesystem of the release lost since the step
 * started (other writers count too, so it errs on the safe side). */
static bool disk_over(const struct step_watch *w, unsigned long long avail0)
{
	unsigned long long avail;

	if (!avail0 || !w->max_bytes)
		return false;
	avail = fs_avail(w->space_fd);
	return avail && avail0 > avail && avail0 - avail > w->max_bytes;
}

/* Reads one chunk of output: 1 if forwarded, 0 at EOF, < 0 to stop. */
static int forward_output(const struct step_watch *w)
{
	char buf[PROTO_TEXT_SIZE - 1];
	ssize_t n = read(w->out_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	return w->on_output(w->ctx, buf, (size_t)n) < 0 ? -EPIPE : 1;
}

enum step_end step_watch_run(const struct step_watch *w)
{
	unsigned long long avail0 = fs_avail(w->space_fd);
	bool out_open = true, exited = false;

	for (;;) {
		/* Once pid 1 is gone so is every writer of the pipe: what is
		 * left in it is read to its end, then the step is over. */
		struct pollfd p[3] = {
			{ out_open ? w->out_fd : -1, POLLIN, 0 },
			{ exited ? -1 : w->sock, POLLIN, 0 },
			{ exited ? -1 : w->pidfd, POLLIN, 0 },
		};
		uint64_t now = now_ns();
		int timeout, r;

		if (exited && !out_open)
			return STEP_END_EXITED;
		timeout = now >= w->deadline_ns ? 0 : (int)((w->deadline_ns - now) / 1000000 + 1);
		if (timeout > (int)w->check_ms)
			timeout = (int)w->check_ms;
		if (!exited && disk_over(w, avail0))
			return STEP_END_DISK;
		r = poll(p, 3, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return STEP_END_ERROR;
		if (r == 0) {
			if (now_ns() >= w->deadline_ns)
				return exited ? STEP_END_EXITED : STEP_END_TIMEOUT;
			continue;
		}
		/* The front end never speaks during a step: this is its exit
		 * (EOF) or a protocol violation. */
		if (p[1].revents)
			return STEP_END_PEER_GONE;
		if (p[0].revents) {
			r = forward_output(w);
			if (r < 0)
				return STEP_END_PEER_GONE;
			if (r == 0)
				out_open = false;
		}
		if (p[2].revents)
			exited = true;
	}
}
