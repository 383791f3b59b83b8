/* SPDX-License-Identifier: MIT */
/*
 * Process credentials: the start-of-run hygiene every cutover process does
 * while still root, and the one-way drop to an unprivileged user with no
 * capabilities in any set.
 */
#ifndef CUTOVER_PRIVS_H
#define CUTOVER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The only environment any cutover process or build step starts from. */
#define SAFE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Reopens fds 0-2 on /dev/null where the caller left them closed; first
 * thing in main, before any other open could land on one of them. */
int privs_fix_stdio(void);

/*
 * Sets every resource limit (all RLIMIT_*) to its fixed value
 * (docs/SECURITY.md). A hard limit the caller lowered can only be raised
 * with CAP_SYS_RESOURCE: without it, -EPERM and *ret_failed (if not NULL)
 * names the limit.
 */
int privs_reset_limits(const char **ret_failed);

/* Every signal to its default disposition, an empty signal mask (part of
 * privs_sanitize_process). */
int privs_reset_signals(void);

/*
 * SCHED_OTHER, nice 0, no I/O class, every allowed CPU, and an OOM score
 * the caller raised back to 0: the launcher, once, as root. On failure
 * *ret_failed names what could not be reset.
 */
int privs_reset_scheduling(const char **ret_failed);

/*
 * Leaves any cgroup the caller may control: for each hierarchy, when a
 * directory on the path of our cgroup (or its cgroup.procs, cgroup.kill,
 * cgroup.freeze) belongs to another user, or is writable by group or
 * others, the process moves up to the deepest cgroup above that root
 * alone controls (a delegated subtree, as systemd gives user@UID.service,
 * lets its owner kill or freeze everything in it, uid 0 included). 0, or
 * -errno with *ret_failed naming the cgroup it could not leave.
 */
int privs_leave_caller_cgroups(char *ret_failed, size_t n);

/*
 * Makes fds 0-2 valid (reopened on /dev/null when closed), closes every
 * other fd except those in keep, resets every signal's disposition and the
 * signal mask, sets umask 022, chdir("/"), every
 * resource limit fixed (privs_reset_limits; core dumps off) and not
 * dumpable. Does not touch the environment
 * (callers copy what they need first, then call privs_reset_environment).
 */
int privs_sanitize_process(const int *keep, size_t n_keep);

/* clearenv() and a fixed PATH, LANG; nothing of the caller survives. */
int privs_reset_environment(void);

/*
 * Drops every capability from the bounding set, then switches to uid/gid
 * with exactly the given supplementary groups, clears the ambient and
 * inheritable sets, sets NoNewPrivs and keeps the process not dumpable.
 * Verifies afterwards that all five capability sets are empty and that the
 * uid cannot be regained. Irreversible. 0 or -errno.
 */
int privs_drop_to(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);

/*
 * Keeps only the capabilities in keep (CAP_* numbers) in the effective and
 * permitted sets, empties inheritable, ambient and bounding sets (except
 * keep in bounding), stays uid 0. Used by the helper, and by the source reader of a run
 * that root started itself.
 */
int privs_limit_caps(const int *keep, size_t n_keep);

/* Like privs_limit_caps, plus capabilities kept in the permitted set only:
 * not effective until the helper raises them, briefly (helpers/caps.h). */
int privs_limit_caps_dormant(const int *keep, size_t n_keep, const int *dormant, size_t n_dormant);

/* Sets a seccomp filter for unprivileged processes (front end, build
 * steps, source reader): kills non-native ABIs and fails the syscalls an
 * unprivileged build never needs (mount family, namespaces, ptrace,
 * keyctl, bpf, ...). allow_exec=false also denies execve/execveat. */
int privs_seccomp_unprivileged(bool allow_exec);

/*
 * Adds to a libseccomp filter (scmp_filter_ctx) an EPERM rule for each
 * syscall no cutover process needs and that only widens what a
 * compromised one could do: other mount APIs than the helper's, ptrace and
 * process_vm_*, keys, bpf, io_uring, kernel modules and the like. The
 * front end's and the helper's filters share it. Names unknown to this
 * libseccomp are skipped. 0 or -errno.
 */
int privs_seccomp_refuse_common(void *ctx);

#endif
