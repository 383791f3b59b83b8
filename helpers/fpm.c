/* SPDX-License-Identifier: MIT */
#include "fpm.h"

#include <dirent.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/close_range.h>

#include "caps.h"
#include "fpm_listen.h"
#include "fsops.h"
#include "privs.h"
#include "util.h"

#define FPM_TITLE "php-fpm: master process ("
#define MAX_CHILDREN 4096

void fpm_master_close(struct fpm_master *m)
{
	closep(&m->pidfd);
	closep(&m->exe_fd);
	m->pidfd = m->exe_fd = -EBADF;
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t n)
{
	char path[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t got;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < n - 1 && (got = read(fd, buf + len, n - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	return (int)len;
}

/* A pid file written by a master started more than this after it is
 * stale: its pid was taken by another process. Covers the kernel's tick
 * (starttime is in clock ticks) and a second of mtime granularity. */
#define PID_FILE_SLACK_S 2

/*
 * Opens the pid file. Every directory above its own is trusted like the
 * config (root-owned chain, not group/other-writable); its own directory
 * may belong to another user (Debian's php8.2-fpm makes /run/php
 * www-data:www-data 0755) as long as no group or other may write in it;
 * the file itself is root's. Such an owner can at most remove the file or
 * name another pid with a file of its own, which is refused: the pid file
 * only says which process to look at, and the checks of the process
 * decide.
 */
static int pid_file_open(const char *path, struct stat *ret_st, char *err, size_t errlen)
{
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	char parent[PATH_MAX];
	const char *base, *dname;
	struct stat st;
	char *slash;
	int r;

	if (str_copy(parent, sizeof(parent), path) < 0 || !(slash = strrchr(parent, '/')) || slash == parent) {
		/* Directly in "/" (or not absolute): the plain trust check. */
		fd = path_open_trusted(path, false, err, errlen);
		if (fd >= 0 && fstat(fd, ret_st) < 0)
			return -errno;
		return fd >= 0 ? TAKE_FD(fd) : fd;
	}
	*slash = '\0';
	base = slash + 1;
	slash = strrchr(parent, '/');
	dname = slash + 1;
	if (slash == parent)
		dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else {
		*slash = '\0';
		dir = path_open_trusted(parent, true, err, errlen);
		*slash = '/';
	}
	if (dir < 0)
		return dir == -1 ? -errno : dir;
	r = fs_open_beneath(dir, dname, O_PATH | O_DIRECTORY, 0);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot open: %s%s", parent, strerror(-r),
			 r == -ELOOP || r == -EXDEV ? " (a symlink; the pid file's directories must not be symlinks)" : "");
		return r;
	}
	closep(&dir);
	dir = r;
	if (fstat(dir, &st) < 0)
		return -errno;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s must not be writable by group or others (mode %04o)", parent,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	fd = fs_open_beneath(dir, base, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, fd == -ENOENT ? "%s does not exist" : "%s: cannot open: %s", path, strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s must be a regular file owned by root and writable only by root (owner uid is %u, mode %04o)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	*ret_st = st;
	return TAKE_FD(fd);
}

/* Reads the pid from the pid file. */
static int pid_file_read(const struct fpm_config *c, pid_t *ret_pid, struct stat *ret_st, char *err, size_t errlen)
{
	unsigned long long v;
	char buf[32];
	ssize_t n;
	int fd;

	fd = pid_file_open(c->pid_file, ret_st, err, errlen);
	if (fd < 0)
		return fd;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "php-fpm pid file %s is empty", c->pid_file);
		return -EINVAL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_uint(buf, 2, 4194304, &v) < 0) {
		snprintf(err, errlen, "php-fpm pid file %s does not hold a valid pid (other than 1)", c->pid_file);
		return -EINVAL;
	}
	*ret_pid = (pid_t)v;
	return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * after boot. */
static int proc_start_ticks(pid_t pid, unsigned long long *ret)
{
	char buf[1024], *p;

	if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
		   ret) != 1)
		return -ESRCH;
	return 0;
}

/*
 * The process must be root's (real, effective, saved and filesystem uid 0):
 * a php-fpm any user can start looks the same otherwise, and its
 * configuration is that user's. And it must not have started after its pid
 * file was written: a pid file left behind by a master that died names
 * whatever process took its pid later. Start time and mtime are compared
 * on the wall clock (now minus the process's age on CLOCK_BOOTTIME).
 */
static int master_check_identity(const struct fpm_config *c, pid_t pid, const struct stat *pid_st,
				 char *err, size_t errlen)
{
	char buf[2048], *uid;
	unsigned u[4];
	unsigned long long ticks;
	struct timespec boot, real;
	double started;
	long hz = sysconf(_SC_CLK_TCK);

	if (read_proc(pid, "status", buf, sizeof(buf)) <= 0 || !(uid = strstr(buf, "\nUid:")) ||
	    sscanf(uid + 5, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) != 4) {
		snprintf(err, errlen, "cannot read the credentials of pid %d", (int)pid);
		return -ESRCH;
	}
	if (u[0] || u[1] || u[2] || u[3]) {
		snprintf(err, errlen, "pid %d from %s runs as uid %u, not root: not a php-fpm master cutover may trust; nothing signalled",
			 (int)pid, c->pid_file, u[0] ? u[0] : u[1] ? u[1] : u[2] ? u[2] : u[3]);
		return -EPERM;
	}
	if (proc_start_ticks(pid, &ticks) < 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0 ||
	    clock_gettime(CLOCK_REALTIME, &real) < 0) {
		snprintf(err, errlen, "cannot read the start time of pid %d", (int)pid);
		return -ESRCH;
	}
	started = (double)real.tv_sec + real.tv_nsec / 1e9 -
		  ((double)boot.tv_sec + boot.tv_nsec / 1e9 - (double)ticks / (double)hz);
	if (started > (double)pid_st->st_mtim.tv_sec + pid_st->st_mtim.tv_nsec / 1e9 + PID_FILE_SLACK_S) {
		snprintf(err, errlen, "php-fpm pid file %s is stale: pid %d started %.0f s after the file was written; nothing signalled",
			 c->pid_file, (int)pid, started - (double)pid_st->st_mtim.tv_sec);
		return -ESRCH;
	}
	return 0;
}

/* The executable behind /proc/PID/exe: a root-owned php-fpm* binary not
 * writable by others, kept open in m->exe_fd for the -tt run. */
static int master_check_exe(const struct fpm_config *c, struct fpm_master *m, char *err, size_t errlen)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)m->pid);
	/* The master holds capabilities we dropped, so the kernel asks for
	 * CAP_SYS_PTRACE to show its executable; it is effective only here. */
	(void)caps_raise(CAP_SYS_PTRACE);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n >= 0)
		m->exe_fd = open(path, O_RDONLY | O_CLOEXEC);
	(void)caps_lower(CAP_SYS_PTRACE);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the executable of pid %d: %s", (int)m->pid, strerror(errno));
		return -EPERM;
	}
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (strncmp(base, "php-fpm", 7) != 0 || strstr(exe, " (deleted)")) {
		snprintf(err, errlen, "pid %d from %s runs %s, not a php-fpm binary; nothing signalled",
			 (int)m->pid, c->pid_file, exe);
		return -EPERM;
	}
	if (m->exe_fd < 0 || fstat(m->exe_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "the php-fpm binary %s of pid %d is not a root-owned file writable only by root", exe, (int)m->pid);
		return -EPERM;
	}
	return 0;
}

/* The title "php-fpm: master process (CONFIG)", and CONFIG trusted like
 * cutover's own config: the -tt run reads it as root, and writes where it
 * says (its error_log, for one). */
static int master_check_config(const struct fpm_config *c, struct fpm_master *m, char *err, size_t errlen)
{
	char buf[PATH_MAX + 64], why[PATH_MAX + 100];
	int len, fd;

	len = read_proc(m->pid, "cmdline", buf, sizeof(buf));
	if (len < 0 || strncmp(buf, FPM_TITLE, strlen(FPM_TITLE)) != 0 ||
	    strlen(buf) < strlen(FPM_TITLE) + 2 || buf[strlen(buf) - 1] != ')') {
		snprintf(err, errlen, "pid %d from %s is not a php-fpm master process (its title is not '%s...)'); nothing signalled",
			 (int)m->pid, c->pid_file, FPM_TITLE);
		return -EPERM;
	}
	buf[strlen(buf) - 1] = '\0';
	if (str_copy(m->config, sizeof(m->config), buf + strlen(FPM_TITLE)) < 0 || m->config[0] != '/') {
		snprintf(err, errlen, "the php-fpm master %d names no absolute configuration file", (int)m->pid);
		return -EINVAL;
	}
	fd = path_open_trusted(m->config, false, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errlen, "the configuration of the php-fpm master %d is not trusted: %s; nothing signalled",
			 (int)m->pid, why);
		return -EPERM;
	}
	close(fd);
	return 0;
}

/* Does the master hold the listening socket of `[fpm] socket`? */
static int master_check_socket(const struct fpm_config *c, const struct fpm_master *m, char *err, size_t errlen)
{
	unsigned long v[FPM_LISTEN_MAX];
	int n, r;

	n = fpm_listen_inodes(c->socket, v, FPM_LISTEN_MAX);
	if (n <= 0) {
		snprintf(err, errlen, n == 0 ? "nothing listens on the [fpm] socket %s, so the php-fpm master %d from %s "
			 "cannot be shown to serve this app; nothing signalled" :
			 "cannot read the listening sockets for %s (php-fpm master %d from %s): %s; nothing signalled",
			 c->socket, (int)m->pid, c->pid_file, strerror(n == 0 ? 0 : -n));
		return n == 0 ? -ENOENT : n;
	}
	/* The master holds capabilities we dropped: its fds are shown only
	 * with CAP_SYS_PTRACE, effective for this listing alone. */
	(void)caps_raise(CAP_SYS_PTRACE);
	r = fpm_listen_held(m->pid, v, (size_t)n);
	(void)caps_lower(CAP_SYS_PTRACE);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the open files of the php-fpm master %d: %s", (int)m->pid, strerror(-r));
		return r;
	}
	if (r == 0) {
		snprintf(err, errlen, "the php-fpm master %d from %s does not hold the socket %s that [fpm] socket names: "
			 "not this app's master; nothing signalled", (int)m->pid, c->pid_file, c->socket);
		return -EPERM;
	}
	return 0;
}

/*
 * Nothing above ties the master to this app: the owner of the pid file's
 * directory (www-data for Debian's /run/php) can rename another root
 * master's pid file over it. The master must hold the listening socket of
 * `[fpm] socket`, or run the configuration `[fpm] config` names (both, when
 * both are set); with neither, it is refused.
 */
static int master_check_app(const struct fpm_config *c, const struct fpm_master *m, char *err, size_t errlen)
{
	if (!c->socket[0] && !c->config[0]) {
		snprintf(err, errlen, "[fpm] pid_file needs socket (the pool's listen address) or config (the master's "
			 "php-fpm.conf) to tell this app's master from another; nothing signalled");
		return -EINVAL;
	}
	if (c->config[0] && strcmp(c->config, m->config) != 0) {
		snprintf(err, errlen, "the php-fpm master %d from %s runs %s, not the configuration %s that [fpm] config "
			 "names: not this app's master; nothing signalled", (int)m->pid, c->pid_file, m->config, c->config);
		return -EPERM;
	}
	return c->socket[0] ? master_check_socket(c, m, err, errlen) : 0;
}

int fpm_master_open(const struct fpm_config *c, struct fpm_master *ret, char *err, size_t errlen)
{
	struct fpm_master m = FPM_MASTER_INIT;
	struct stat pid_st = { 0 };
	int r;

	r = pid_file_read(c, &m.pid, &pid_st, err, errlen);
	if (r < 0)
		return r;
	/* Pin the process first; everything read from /proc below is
	 * confirmed to belong to it by a final liveness check on the pidfd. */
	m.pidfd = (int)syscall(SYS_pidfd_open, m.pid, 0);
	if (m.pidfd < 0) {
		snprintf(err, errlen, "php-fpm pid file %s names pid %d, which is not running", c->pid_file, (int)m.pid);
		return -ESRCH;
	}
	r = master_check_exe(c, &m, err, errlen);
	if (r == 0)
		r = master_check_identity(c, m.pid, &pid_st, err, errlen);
	if (r == 0)
		r = master_check_config(c, &m, err, errlen);
	if (r == 0)
		r = master_check_app(c, &m, err, errlen);
	if (r == 0 && syscall(SYS_pidfd_send_signal, m.pidfd, 0, NULL, 0) < 0) {
		snprintf(err, errlen, "the php-fpm master %d exited while being checked", (int)m.pid);
		r = -ESRCH;
	}
	if (r < 0) {
		fpm_master_close(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int fpm_master_test(const struct fpm_master *m, int out_fd, unsigned timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = { "php-fpm", "-tt", "-y", (char *)m->config, NULL };
		char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };
		int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		/* php-fpm gets stdin, stdout and stderr, nothing else: not the
		 * helper's socket (fd 3), nor any directory or lock fd it holds.
		 * Close-on-exec rather than closed: fexecve still needs exe_fd
		 * (an ELF binary, so that works with the flag set). */
		if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			_exit(127);
		fexecve(m->exe_fd, argv, envp);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct child {
	pid_t pid;
	unsigned long long start;   /* field 22 of /proc/PID/stat, clock ticks */
};

/* The master's children, from /proc/PID/stat of every process. */
static int list_children(pid_t master, struct child *v, size_t max, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char buf[1024], *p;
		unsigned long long ppid, start;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || read_proc(pid, "stat", buf, sizeof(buf)) <= 0)
			continue;
		/* comm may hold spaces and parentheses: parse after the last ')'. */
		p = strrchr(buf, ')');
		if (!p)
			continue;
		/* fields 3.. after ") ": state ppid ... starttime is field 22 */
		if (sscanf(p + 2, "%*c %llu %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			   &ppid, &start) != 2)
			continue;
		if ((pid_t)ppid != master || n >= max)
			continue;
		v[n].pid = pid;
		v[n].start = start;
		n++;
	}
	*ret_n = n;
	return 0;
}

static bool in_set(const struct child *v, size_t n, const struct child *c)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == c->pid && v[i].start == c->start)
			return true;
	return false;
}

/* A zombie still answers signal 0 through its pidfd, but serves nothing:
 * a daemonized master that re-executed leaves its old pid a zombie until
 * init reaps it, which can take seconds. */
static bool is_zombie(pid_t pid)
{
	char buf[512], *p;

	if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0)
		return true;
	p = strrchr(buf, ')');
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

/* Is this (pid, start time) still alive? */
static bool child_alive(const struct child *c)
{
	char buf[1024], *p;
	unsigned long long start;

	if (read_proc(c->pid, "stat", buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 &start) != 1)
		return false;
	/* A zombie is gone for our purposes: it serves nothing. */
	return start == c->start && p[2] != 'Z';
}

int fpm_master_reload(const struct fpm_config *cfg, const struct fpm_master *m,
		      bool expect_children, unsigned timeout_s, struct fpm_reload_result *ret)
{
	_cleanup_free_ struct child *old = calloc(MAX_CHILDREN, sizeof(*old));
	_cleanup_free_ struct child *cur = calloc(MAX_CHILDREN, sizeof(*cur));
	struct fpm_master now = FPM_MASTER_INIT;
	struct fpm_reload_result res = { 0 };
	size_t n_old = 0, n_cur = 0;
	pid_t master = m->pid;
	uint64_t t0, deadline;
	char err[300];
	int r = 0;

	if (!old || !cur)
		return -ENOMEM;
	r = list_children(m->pid, old, MAX_CHILDREN, &n_old);
	if (r < 0)
		return r;
	res.old_children = (unsigned)n_old;
	t0 = now_ns();
	deadline = t0 + (uint64_t)timeout_s * 1000000000ull;
	if (syscall(SYS_pidfd_send_signal, m->pidfd, SIGUSR2, NULL, 0) < 0)
		return -errno;
	for (;;) {
		unsigned old_left = 0, fresh = 0;
		bool master_alive;

		usleep(2000);
		/* Under systemd (daemonize = no) the master re-executes itself
		 * with the same pid. Daemonized, the new image forks again and
		 * writes a new pid file: follow it, verified like the first. */
		master_alive = syscall(SYS_pidfd_send_signal, now.pidfd >= 0 ? now.pidfd : m->pidfd,
				       0, NULL, 0) == 0 && !is_zombie(master);
		if (!master_alive) {
			struct fpm_master cand = FPM_MASTER_INIT;

			if (fpm_master_open(cfg, &cand, err, sizeof(err)) == 0 && cand.pid != master &&
			    strcmp(cand.config, m->config) == 0) {
				fpm_master_close(&now);
				now = cand;
				master = now.pid;
				master_alive = true;
			} else
				fpm_master_close(&cand);
		}
		for (size_t i = 0; i < n_old; i++)
			old_left += child_alive(&old[i]);
		if (master_alive) {
			r = list_children(master, cur, MAX_CHILDREN, &n_cur);
			if (r < 0)
				break;
			for (size_t i = 0; i < n_cur; i++)
				fresh += !in_set(old, n_old, &cur[i]) && child_alive(&cur[i]);
		}
		if (old_left == 0 && !res.old_gone_ns)
			res.old_gone_ns = now_ns() - t0;
		if (fresh > 0 && !res.new_child_ns)
			res.new_child_ns = now_ns() - t0;
		res.new_children = fresh;
		res.new_pid = master_alive ? master : 0;
		if (master_alive && old_left == 0 && (fresh > 0 || !expect_children)) {
			r = 0;
			break;
		}
		if (now_ns() > deadline) {
			r = master_alive ? -ETIMEDOUT : -ESRCH;
			break;
		}
	}
	fpm_master_close(&now);
	*ret = res;
	return r;
}
