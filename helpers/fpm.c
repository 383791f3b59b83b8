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

#include "caps.h"
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

int fpm_master_open(const struct fpm_config *c, struct fpm_master *ret, char *err, size_t errlen)
{
	struct fpm_master m = FPM_MASTER_INIT;
	char buf[PATH_MAX + 64], exe[PATH_MAX];
	unsigned long long v;
	const char *base;
	struct stat st;
	ssize_t n;
	int fd, len;

	fd = path_open_trusted(c->pid_file, false, err, errlen);
	if (fd < 0)
		return fd;
	n = read(fd, buf, 31);
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
	m.pid = (pid_t)v;
	/* Pin the process first; everything read from /proc below is
	 * confirmed to belong to it by a final liveness check on the pidfd. */
	m.pidfd = (int)syscall(SYS_pidfd_open, m.pid, 0);
	if (m.pidfd < 0) {
		snprintf(err, errlen, "php-fpm pid file %s names pid %d, which is not running", c->pid_file, (int)m.pid);
		return -ESRCH;
	}
	snprintf(buf, sizeof(buf), "/proc/%d/exe", (int)m.pid);
	/* The master holds capabilities we dropped, so the kernel asks for
	 * CAP_SYS_PTRACE to show its executable; it is effective only here. */
	(void)caps_raise(CAP_SYS_PTRACE);
	n = readlink(buf, exe, sizeof(exe) - 1);
	if (n >= 0)
		m.exe_fd = open(buf, O_RDONLY | O_CLOEXEC);
	(void)caps_lower(CAP_SYS_PTRACE);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the executable of pid %d: %s", (int)m.pid, strerror(errno));
		fpm_master_close(&m);
		return -EPERM;
	}
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (strncmp(base, "php-fpm", 7) != 0 || strstr(exe, " (deleted)")) {
		snprintf(err, errlen, "pid %d from %s runs %s, not a php-fpm binary; nothing signalled",
			 (int)m.pid, c->pid_file, exe);
		fpm_master_close(&m);
		return -EPERM;
	}
	if (m.exe_fd < 0 || fstat(m.exe_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "the php-fpm binary %s of pid %d is not a root-owned file writable only by root", exe, (int)m.pid);
		fpm_master_close(&m);
		return -EPERM;
	}
	len = read_proc(m.pid, "cmdline", buf, sizeof(buf));
	if (len < 0 || strncmp(buf, FPM_TITLE, strlen(FPM_TITLE)) != 0 ||
	    strlen(buf) < strlen(FPM_TITLE) + 2 || buf[strlen(buf) - 1] != ')') {
		snprintf(err, errlen, "pid %d from %s is not a php-fpm master process (its title is not '%s...)'); nothing signalled",
			 (int)m.pid, c->pid_file, FPM_TITLE);
		fpm_master_close(&m);
		return -EPERM;
	}
	buf[strlen(buf) - 1] = '\0';
	if (str_copy(m.config, sizeof(m.config), buf + strlen(FPM_TITLE)) < 0 || m.config[0] != '/') {
		snprintf(err, errlen, "the php-fpm master %d names no absolute configuration file", (int)m.pid);
		fpm_master_close(&m);
		return -EINVAL;
	}
	if (syscall(SYS_pidfd_send_signal, m.pidfd, 0, NULL, 0) < 0) {
		snprintf(err, errlen, "the php-fpm master %d exited while being checked", (int)m.pid);
		fpm_master_close(&m);
		return -ESRCH;
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
