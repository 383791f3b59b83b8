/* SPDX-License-Identifier: MIT */
/*
 * Resource limits for one build step through a cgroup of its own: at most
 * max_procs tasks (a fork bomb stops there) and max_memory bytes. cgroup v2
 * when /sys/fs/cgroup is the unified hierarchy with the pids and memory
 * controllers, else the v1 pids and memory hierarchies; neither (a
 * container without cgroup access) is reported, and the caller falls back
 * to RLIMIT_NPROC.
 */
#ifndef CUTOVER_CGROUP_H
#define CUTOVER_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

struct build_cgroup {
	int version;                 /* 2, 1, or 0 when none could be made */
	char v2[256];                /* /sys/fs/cgroup/cutover-build-PID */
	char v1_pids[512];
	char v1_memory[512];
};

/* Makes a cgroup for the process pid (not yet running the step) with the
 * limits, and moves pid into it. 0, or -errno when no cgroup could be used. */
int cgroup_create(pid_t pid, unsigned max_procs, unsigned long long max_memory,
		  struct build_cgroup *ret);

/* Removes the cgroup; call after every process in it has exited. */
void cgroup_destroy(struct build_cgroup *cg);

#endif
