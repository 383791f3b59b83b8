/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: the "unitctl" process, which runs systemctl for the
 * helper (docs/SECURITY.md, "The unitctl process"). Forked by
 * helpers/helper.c before the helper limits its capabilities and installs
 * its seccomp filter, so that systemctl runs under neither; it keeps uid 0
 * (systemd authorises its private socket's peer by uid) and nothing else:
 * no capability in any set, bounding included, NoNewPrivs, no fd but its
 * socket. It takes fixed-size requests {action, slot} and builds the
 * argument vector itself from the app's validated name: the helper cannot
 * make it run anything but the five commands below.
 */
#ifndef CUTOVER_UNITCTL_H
#define CUTOVER_UNITCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNITCTL_SYSTEMCTL "/usr/bin/systemctl"
#define UNITCTL_OUT_MAX 4096

/* The deadline of a waiting stop: the unit's TimeoutStopSec (90 s,
 * dist/cutover-fpm@.service) and a margin. */
#define UNITCTL_STOP_TIMEOUT 100

enum unitctl_action {
	UNITCTL_START = 1,
	UNITCTL_STOP,          /* waits until the master exited (UNITCTL_STOP_TIMEOUT) */
	UNITCTL_STOP_NOWAIT,   /* --no-block */
	UNITCTL_SHOW,          /* ActiveState, SubState, MainPID, NRestarts */
	UNITCTL_RESET_FAILED,
};

struct unitctl_req {
	uint32_t action;       /* enum unitctl_action */
	char slot;             /* 'a' or 'b' */
	char pad[3];
};

struct unitctl_rep {
	int32_t status;        /* systemctl's exit code (>= 0), or -errno */
	uint32_t len;          /* bytes of out used */
	char out[UNITCTL_OUT_MAX];   /* its stdout and stderr, NUL-terminated */
};

/*
 * Forks the unitctl process for app with a deadline of timeout_s per
 * systemctl run. Returns the helper's end of the SOCK_SEQPACKET pair
 * (close-on-exec) and the child's pid, or -errno. The child dies with the
 * helper (PR_SET_PDEATHSIG) and at end of file.
 */
int unitctl_spawn(const char *app, unsigned timeout_s, pid_t *ret_pid);

/* One request: 0 with *ret filled (ret->status says how systemctl
 * exited), or -errno when unitctl could not be asked. */
int unitctl_call(int fd, enum unitctl_action action, char slot, struct unitctl_rep *ret);

/* The argument vector of action for unit (argv[0] "systemctl"), into v
 * (at least 8 entries, NULL-terminated). 0 or -EINVAL. Pure. */
int unitctl_argv(enum unitctl_action action, const char *unit, const char **v, size_t n);

struct unit_show {
	char active[24];       /* ActiveState */
	char sub[32];          /* SubState ("" if not shown) */
	pid_t main_pid;        /* 0: none */
	unsigned restarts;     /* NRestarts */
};

/* Parses `systemctl show` output: Name=value lines in any order; others
 * ignored. ActiveState and MainPID are required. 0 or -EBADMSG. Pure. */
int unitctl_show_parse(const char *out, struct unit_show *ret);

#endif
