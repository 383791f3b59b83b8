/* SPDX-License-Identifier: MIT */
/*
 * What only the privileged helper does with its credentials: raise a
 * dormant capability for one call, and install its own seccomp allow-list.
 */
#ifndef CUTOVER_CAPS_H
#define CUTOVER_CAPS_H

/* Makes a permitted capability effective, or not effective again. */
int caps_raise(int cap);
int caps_lower(int cap);

/*
 * The helper's filter: an allow-list, default action kill, non-native ABIs
 * killed. Everything the helper starts inherits it (filters cannot be
 * dropped), including the build sandbox, so the list also holds what
 * ordinary build tools use; what build steps must not do is then denied
 * by the deny-list filter they add on top. Never allowed: ptrace,
 * process_vm_*, bpf, perf_event_open, userfaultfd, io_uring, keyctl,
 * kexec, module loading, mount(2)/umount2 (the helper uses the new mount
 * API), pivot_root, chroot, setns, unshare, clone with user, network,
 * cgroup, uts or time namespace flags, and any syscall newer than this
 * list.
 */
int caps_seccomp_helper(void);

#endif
