/* SPDX-License-Identifier: MIT */
#include "unitctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "config.h"
#include "fpm_slot.h"
#include "names.h"
#include "util.h"

#define UNITCTL_SOCK_FD 3

int unitctl_argv(enum unitctl_action action, const char *unit, const char **v, size_t n)
{
	static const char *const common[] = { "--quiet", "--no-ask-password", "--no-pager" };
	size_t k = 0;

	if (n < 8 || !unit)
		return -EINVAL;
	v[k++] = "systemctl";
	if (action == UNITCTL_SHOW) {
		v[k++] = "--no-ask-password";
		v[k++] = "--no-pager";
		v[k++] = "show";
		v[k++] = "--property=ActiveState,SubState,MainPID,NRestarts";
	} else {
		for (size_t i = 0; i < ELEMENTSOF(common); i++)
			v[k++] = common[i];
		switch (action) {
		case UNITCTL_START: v[k++] = "start"; break;
		case UNITCTL_STOP: v[k++] = "stop"; break;
		case UNITCTL_STOP_NOWAIT: v[k++] = "--no-block"; v[k++] = "stop"; break;
		case UNITCTL_RESET_FAILED: v[k++] = "reset-failed"; break;
		default: return -EINVAL;
		}
	}
	v[k++] = unit;
	v[k] = NULL;
	return 0;
}

int unitctl_show_parse(const char *out, struct unit_show *ret)
{
	struct unit_show s = { .main_pid = -1 };
	const char *line = out;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[128];
		unsigned long long v;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			if (strncmp(buf, "ActiveState=", 12) == 0 && str_copy(s.active, sizeof(s.active), buf + 12) < 0)
				return -EBADMSG;
			if (strncmp(buf, "SubState=", 9) == 0 && str_copy(s.sub, sizeof(s.sub), buf + 9) < 0)
				return -EBADMSG;
			if (strncmp(buf, "MainPID=", 8) == 0) {
				if (parse_uint(buf + 8, 0, 4194304, &v) < 0)
					return -EBADMSG;
				s.main_pid = (pid_t)v;
			}
			if (strncmp(buf, "NRestarts=", 10) == 0) {
				if (parse_uint(buf + 10, 0, 1000000000, &v) < 0)
					return -EBADMSG;
				s.restarts = (unsigned)v;
			}
		}
		line = end ? end + 1 : NULL;
	}
	if (!s.active[0] || s.main_pid < 0)
		return -EBADMSG;
	*ret = s;
	return 0;
}

/* The child's side of one systemctl run: stdin /dev/null, stdout and
 * stderr the pipe, no other fd, a fixed environment. */
static void unitctl_exec(int exe_fd, int out_fd, const char *const *argv)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(127);
	/* Close-on-exec rather than closed: fexecve still needs exe_fd. */
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		_exit(127);
	fexecve(exe_fd, (char *const *)argv, envp);
	_exit(127);
}

/* Reads what is there without blocking, at most up to the buffer's end;
 * anything beyond is read and dropped so that systemctl never blocks. */
static void unitctl_drain(int fd, struct unitctl_rep *rep)
{
	char sink[512];
	ssize_t n;

	for (;;) {
		if (rep->len < UNITCTL_OUT_MAX - 1)
			n = read(fd, rep->out + rep->len, UNITCTL_OUT_MAX - 1 - rep->len);
		else
			n = read(fd, sink, sizeof(sink));
		if (n <= 0)
			return;
		if (rep->len < UNITCTL_OUT_MAX - 1)
			rep->len += (uint32_t)n;
	}
}

/*
 * Runs systemctl with argv and waits for it, not for its output to close
 * (the test double hands the work to a daemon that may keep the pipe), at
 * most timeout_s: then SIGKILL and -ETIMEDOUT.
 */
static void unitctl_run(int exe_fd, const char *const *argv, unsigned timeout_s, struct unitctl_rep *rep)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	int p[2], status = 0;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		rep->status = -errno;
		return;
	}
	pid = fork();
	if (pid == 0)
		unitctl_exec(exe_fd, p[1], argv);
	close(p[1]);
	if (pid < 0) {
		rep->status = -errno;
		close(p[0]);
		return;
	}
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		pid_t w;

		(void)poll(&pfd, 1, 10);
		unitctl_drain(p[0], rep);
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			rep->status = -ETIMEDOUT;
			break;
		}
	}
	unitctl_drain(p[0], rep);
	close(p[0]);
	rep->out[rep->len] = '\0';
	if (rep->status == 0)
		rep->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* No capability in any set (bounding too: systemctl, executed as uid 0,
 * would otherwise get the full set back), no ambient ones, NoNewPrivs. */
static int unitctl_drop_privileges(void)
{
	cap_t none;
	int r = 0;

	for (int c = 0; c < 64; c++)   /* beyond the kernel's last: EINVAL */
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	none = cap_init();
	if (!none)
		return -errno;
	if (cap_set_proc(none) < 0)
		r = -errno;
	cap_free(none);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	return r;
}

/* The child: only its socket and systemctl's fd, then serves requests
 * until the helper hangs up. Never returns. */
static void unitctl_main(int sock, const char *app, unsigned timeout_s, pid_t parent)
{
	char err[300];
	int null_fd, exe_fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0 ||
	    dup2(sock, UNITCTL_SOCK_FD) != UNITCTL_SOCK_FD || syscall(SYS_close_range, 4U, ~0U, 0) < 0)
		_exit(1);
	exe_fd = path_open_trusted(UNITCTL_SYSTEMCTL, false, err, sizeof(err));
	if (unitctl_drop_privileges() < 0)
		_exit(1);
	for (;;) {
		struct unitctl_req req;
		struct unitctl_rep rep;
		const char *argv[10];
		char unit[APP_NAME_MAX + 32];
		ssize_t n = recv(UNITCTL_SOCK_FD, &req, sizeof(req), 0);

		if (n < 0 && errno == EINTR)
			continue;   /* a signal to the caller's group: caught, ignored */
		if (n <= 0)
			_exit(0);
		if (n != (ssize_t)sizeof(req) || fpm_slot_unit(unit, sizeof(unit), app, req.slot) < 0 ||
		    unitctl_argv((enum unitctl_action)req.action, unit, argv, ELEMENTSOF(argv)) < 0)
			_exit(1);   /* only the helper talks to us: a bad request is a bug */
		if (exe_fd < 0) {
			memset(&rep, 0, sizeof(rep));
			rep.status = exe_fd;
			rep.len = (uint32_t)snprintf(rep.out, sizeof(rep.out), "%s", err);
		} else
			/* A waiting stop lasts as long as the master's busy workers
			 * may (process_control_timeout, bounded by the unit's
			 * TimeoutStopSec): the deploy waits for it rather than
			 * failing (review 14, F5: a connection held to an old
			 * slot made the next deploy's stop time out). */
			unitctl_run(exe_fd, argv,
				    req.action == UNITCTL_STOP && timeout_s < UNITCTL_STOP_TIMEOUT ?
				    UNITCTL_STOP_TIMEOUT : timeout_s, &rep);
		if (send(UNITCTL_SOCK_FD, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
			_exit(0);
	}
}

int unitctl_spawn(const char *app, unsigned timeout_s, pid_t *ret_pid)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (!app_name_valid(app))
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		unitctl_main(sv[1], app, timeout_s, parent);
	}
	close(sv[1]);
	*ret_pid = pid;
	return sv[0];
}

int unitctl_call(int fd, enum unitctl_action action, char slot, struct unitctl_rep *ret)
{
	struct unitctl_req req = { .action = (uint32_t)action, .slot = slot };
	ssize_t n;

	if (fd < 0)
		return -ENOTCONN;
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return errno ? -errno : -EIO;
	do
		n = recv(fd, ret, sizeof(*ret), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*ret))
		return n < 0 ? -errno : -ECONNRESET;
	ret->out[UNITCTL_OUT_MAX - 1] = '\0';
	if (ret->len >= UNITCTL_OUT_MAX)
		ret->len = UNITCTL_OUT_MAX - 1;
	return 0;
}
