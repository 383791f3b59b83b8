/* SPDX-License-Identifier: MIT */
/*
 * The build sandbox: one build step, run as the app's deploy user in a
 * private mount and pid namespace where the whole filesystem is read-only
 * except the release being built (and private tmpfs /tmp, /var/tmp,
 * /dev/shm), with no capabilities, NoNewPrivs, a seccomp filter, a fixed
 * environment and a timeout. When the step ends, every process it started
 * dies with its pid namespace.
 */
#ifndef CUTOVER_SANDBOX_H
#define CUTOVER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A [shared] entry mounted on the release inside the sandbox (mode = bind). */
struct sandbox_bind {
	int fd;                    /* ROOT/shared/REL, O_PATH */
	const char *rel;           /* its place in the release, a mount point */
	bool is_dir;
};

/*
 * A git+ fetch through the app's repository cache: the cache directory is
 * attached writable at path (in the sandbox's private /tmp), and command
 * runs there as uid (the config's git_user, never the deploy user, whose
 * processes could otherwise reach it through /proc/PID/cwd) with the
 * spec's gid, its stdout piped into the step's stdin. The step (the deploy
 * user's, in the release) only ever sees that byte stream.
 */
struct sandbox_cache {
	int fd;                    /* ROOT/.cutover/git, O_DIRECTORY */
	const char *path;          /* where it is attached, a new directory in the private /tmp */
	uid_t uid;                 /* who runs command */
	const char *command;       /* run with /bin/sh -c, $1.. from the spec's args */
	char *const *env;          /* its complete environment */
	int key_fd;                /* the ssh key's memfd (git_user's), open on fd 3
	                              of command's shell only; or -1 */
};

struct sandbox_spec {
	int tree_fd;               /* staging directory (O_DIRECTORY), attached writable
	                              at mount_path; -1: the release is already there
	                              (frozen) and stays read-only */
	bool tree_readonly;        /* tree_fd is a frozen release, attached read-only
	                              (mode = bind: it is not at mount_path otherwise) */
	const char *app_root;      /* ROOT, absolute */
	const char *mount_path;    /* where the release appears: ROOT/releases/ID, or
	                              live in mode = bind (the path its code is run from) */
	int mount_point_fd;        /* what is at mount_path in our namespace, for identity:
	                              the placeholder, or the top of what is mounted at live */
	const struct sandbox_bind *binds;   /* mounted on the release, nosuid, nodev, noexec */
	size_t n_binds;
	bool binds_writable;       /* directories writable; else all read-only (files always) */
	uid_t uid;
	gid_t gid;
	gid_t extra_gid;           /* a supplementary group, or 0 for none */
	char *const *env;          /* complete environment, NULL-terminated */
	const char *command;       /* run with /bin/sh -c */
	char *const *args;         /* $1.. for the command, NULL-terminated, or NULL */
	int shared_fd;             /* ROOT/shared, made writable (noexec) inside; -1: read-only */
	const char *shared_path;   /* its path */
	unsigned long long fsize_limit;   /* RLIMIT_FSIZE for the step */
	unsigned max_procs;               /* tasks in the step's cgroup */
	unsigned long long max_memory;    /* bytes in the step's cgroup */
	bool pass_fd_set;                 /* pass_fd is given to the step */
	int pass_fd;                      /* then open in the step on fd 3 (the
	                                     git fetch's ssh key); every other fd
	                                     above 2 is closed */
	const struct sandbox_cache *cache;   /* a cached git fetch, or NULL */
};

struct build_cgroup;

/*
 * Starts the step with stdout and stderr on out_fd and returns the pid of
 * the namespace's init in ret_pid (the caller reads the output, enforces
 * the timeout by killing that pid, and reaps it with waitpid). The init
 * exits with the step's exit code, or 128 + signal. The init is put in a
 * cgroup of its own (ret_cg; remove it with cgroup_destroy after the
 * reap) before it runs anything; without cgroups, RLIMIT_NPROC stands in
 * for the task limit.
 */
int sandbox_start(const struct sandbox_spec *spec, int out_fd, pid_t *ret_pid,
		  struct build_cgroup *ret_cg);

#endif
