/* SPDX-License-Identifier: MIT */
#include "caps.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/mount.h>

#include "privs.h"
#include "util.h"

static int cap_effective(int cap, cap_flag_value_t v)
{
	cap_t caps = cap_get_proc();
	cap_value_t c = cap;
	int r = 0;

	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, v) < 0 || cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	return r;
}

int caps_raise(int cap)
{
	return cap_effective(cap, CAP_SET);
}

int caps_lower(int cap)
{
	return cap_effective(cap, CAP_CLEAR);
}

/* Grouped by purpose; names unknown to this libseccomp are skipped. */
static const char *const helper_allowed[] = {
	/* memory, time, process */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "munlock",
	"msync", "mincore", "membarrier", "rseq", "set_tid_address", "set_robust_list",
	"get_robust_list", "futex", "futex_waitv", "arch_prctl", "prctl", "prlimit64",
	"getrlimit", "setrlimit", "getrusage", "times", "sysinfo", "uname", "getcpu",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"getpriority", "setpriority", "nanosleep", "clock_nanosleep", "clock_gettime",
	"clock_getres", "gettimeofday", "time", "alarm", "getitimer", "setitimer",
	"timer_create", "timer_settime", "timer_gettime", "timer_delete",
	"timer_getoverrun", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"exit", "exit_group", "wait4", "waitid", "fork", "vfork", "execve", "execveat",
	"kill", "tgkill", "tkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "sigaltstack", "pause", "signalfd", "signalfd4",
	"restart_syscall",
	"pidfd_open", "pidfd_send_signal", "getpid", "getppid", "gettid", "getpgid",
	"setpgid", "getpgrp", "getsid", "setsid",
	/* credentials (the sandbox drops to the deploy user) */
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setgroups", "setfsuid", "setfsgid", "capget", "capset",
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close",
	"close_range", "dup", "dup2", "dup3", "lseek", "stat", "fstat", "lstat",
	"newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
	"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
	"renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
	"fchmodat", "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate",
	"fallocate", "fadvise64", "readahead", "utime", "utimes", "utimensat",
	"futimesat", "umask", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range",
	"flock", "fcntl", "ioctl", "pipe", "pipe2", "mknod", "mknodat", "memfd_create",
	"copy_file_range", "sendfile", "splice", "tee", "vmsplice",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	"fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "fanotify_init", "fanotify_mark",
	/* polling, events */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* sockets: FastCGI to php-fpm, and builds fetching dependencies */
	"socket", "socketpair", "connect", "accept", "accept4", "bind", "listen",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	/* the build sandbox: new mount API only, no mount(2) */
	"open_tree", "move_mount", "mount_setattr", "fsopen", "fsconfig", "fsmount",
	/* System V IPC inside the sandbox's own IPC namespace */
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl",
	"getrandom",
	/* stacking the build step's own, stricter filter */
	"seccomp",
};

int caps_seccomp_helper(void)
{
	static const unsigned long forbidden_ns[] = {
		CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWTIME,
	};
	unsigned long forbidden_mask = 0;
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(helper_allowed); i++) {
		int nr = seccomp_syscall_resolve_name(helper_allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (r == 0)
		r = privs_seccomp_refuse_common(ctx);
	/* clone: the sandbox needs mount, pid and IPC namespaces; threads
	 * and plain forks need none. Any other namespace flag is refused. */
	for (size_t i = 0; i < ELEMENTSOF(forbidden_ns); i++)
		forbidden_mask |= forbidden_ns[i];
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, forbidden_mask, 0));
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(forbidden_ns); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, forbidden_ns[i], forbidden_ns[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* mode = bind: the old tree at live goes with umount2(live,
	 * MNT_DETACH | UMOUNT_NOFOLLOW) (there is no fd-based unmount), and
	 * the swap in php-fpm's mount namespace enters it with setns(pidfd,
	 * CLONE_NEWNS). Those exact arguments only; anything else fails. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(umount2), 1,
				     SCMP_A1(SCMP_CMP_EQ, MNT_DETACH | UMOUNT_NOFOLLOW));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(umount2), 1,
				     SCMP_A1(SCMP_CMP_NE, MNT_DETACH | UMOUNT_NOFOLLOW));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setns), 1,
				     SCMP_A1(SCMP_CMP_EQ, CLONE_NEWNS));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
				     SCMP_A1(SCMP_CMP_NE, CLONE_NEWNS));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
