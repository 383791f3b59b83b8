/* SPDX-License-Identifier: MIT */
/*
 * The running PHP-FPM master: finding it from its pid file, making sure it
 * is what it claims to be, testing its configuration with its own binary,
 * and reloading it gracefully through a pidfd.
 */
#ifndef CUTOVER_FPM_H
#define CUTOVER_FPM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct fpm_master {
	pid_t pid;
	int pidfd;            /* pins the process: a recycled pid cannot be signalled */
	int exe_fd;           /* the master's own binary, for -t */
	char config[PATH_MAX];
};

#define FPM_MASTER_INIT { .pid = 0, .pidfd = -EBADF, .exe_fd = -EBADF }

/*
 * Reads the pid file (root-owned; its own directory not group/other-
 * writable, every one above it trusted), and accepts the process only if
 * it is not pid 1, runs a binary named php-fpm* that is root-owned and not
 * writable by others, runs as root (every uid 0), did not start after the
 * pid file was written (a stale file names a reused pid), and carries the
 * title "php-fpm: master process (CONFIG)" with CONFIG trusted like
 * cutover's own config, and is this app's: it holds the listening socket
 * of c->socket, and CONFIG is c->config when that is set (one of the two
 * is required). Returns 0 or -errno with the reason.
 */
int fpm_master_open(const struct fpm_config *c, struct fpm_master *ret, char *err, size_t errlen);
void fpm_master_close(struct fpm_master *m);

/*
 * Runs the master's binary with -tt -y CONFIG (which tests the
 * configuration and prints the effective values) and writes its output to
 * out_fd. Returns the exit status (0: the configuration is valid), or
 * -errno.
 */
int fpm_master_test(const struct fpm_master *m, int out_fd, unsigned timeout_s);

struct fpm_reload_result {
	uint64_t old_gone_ns;      /* signal until the last old child exited */
	uint64_t new_child_ns;     /* signal until the first new child appeared (0: none) */
	unsigned old_children;
	unsigned new_children;
	pid_t new_pid;             /* the master afterwards (another pid if daemonized) */
};

/*
 * Sends SIGUSR2 through the pidfd and waits until every child that existed
 * before the signal has exited, a master (the same pid, or the new one a
 * daemonized php-fpm writes to its pid file) runs with the same
 * configuration, and, when expect_children, it has started new children.
 * -ETIMEDOUT after timeout_s, -ESRCH if no master came back.
 */
int fpm_master_reload(const struct fpm_config *cfg, const struct fpm_master *m,
		      bool expect_children, unsigned timeout_s, struct fpm_reload_result *ret);

#endif
