/* SPDX-License-Identifier: MIT */
/*
 * trysys [PID]: attempts every system call a cutover build step must be
 * denied (docs/SECURITY.md, the seccomp deny-list) and prints one line per
 * attempt: "NAME RESULT", RESULT being the errno name (EPERM, ENOSYS, ...),
 * "OK" if the call succeeded, or "KILLED(SIGNAME)" if the process making
 * it died. Each attempt runs in a child of its own, so a kill or a
 * namespace change affects only that attempt. PID (default 1) is the
 * target of ptrace, process_vm_readv and pidfd_getfd.
 *
 * Arguments are chosen to be harmless should a call get through (paths
 * that do not exist, invalid commands, bad fds), so that a broken sandbox
 * shows up as "OK" or as an errno other than the one seccomp returns,
 * never as damage.
 *
 * trysys --forks N: forks up to N children that sleep for 60 s, stopping
 * at the first failure; prints "forks=K" and the errno that stopped it
 * ("forks=K ENONE" if none did). The children are left running: whoever
 * contains this process must clean them up.
 *
 * trysys --bomb: a fork bomb (every process forks for ever). Only for a
 * sandbox whose process limit and timeout are under test.
 *
 * Built by make (integration/tools.mk) into build/tools/trysys, linked
 * statically when the toolchain can (it runs inside the build sandbox).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_fspick
#define SYS_fspick 433
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NOWHERE "/nonexistent-cutover-trysys"

static pid_t target = 1;

/* The raw result of one attempt: >= 0 success, else -errno. */
static long sys_result(long r)
{
	return r < 0 ? -errno : r;
}

/* clone with flags: the child (if any) leaves at once. */
static long try_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return sys_result(r);
}

static long a_mount(void) { return sys_result(mount("none", NOWHERE, "tmpfs", 0, NULL)); }
static long a_umount2(void) { return sys_result(umount2(NOWHERE, 0)); }
static long a_pivot_root(void) { return sys_result(syscall(SYS_pivot_root, NOWHERE "-a", NOWHERE "-b")); }
static long a_chroot(void) { return sys_result(chroot(NOWHERE)); }
static long a_open_tree(void) { return sys_result(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */)); }
static long a_move_mount(void) { return sys_result(syscall(SYS_move_mount, -1, "", -1, "", 0)); }
static long a_fsopen(void) { return sys_result(syscall(SYS_fsopen, "tmpfs", 0)); }
static long a_fsconfig(void) { return sys_result(syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0)); }
static long a_fsmount(void) { return sys_result(syscall(SYS_fsmount, -1, 0, 0)); }
static long a_fspick(void) { return sys_result(syscall(SYS_fspick, AT_FDCWD, NOWHERE, 0)); }
static long a_mount_setattr(void)
{
	uint64_t attr[4] = { 0 };

	return sys_result(syscall(SYS_mount_setattr, -1, "", 0x1000 /* AT_EMPTY_PATH */, attr, sizeof(attr)));
}
static long a_unshare_user(void) { return sys_result(unshare(CLONE_NEWUSER)); }
static long a_unshare_ns(void) { return sys_result(unshare(CLONE_NEWNS)); }
static long a_unshare_net(void) { return sys_result(unshare(CLONE_NEWNET)); }
static long a_unshare_pid(void) { return sys_result(unshare(CLONE_NEWPID)); }
static long a_setns(void)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	return sys_result(setns(fd, 0));
}
static long a_clone_newuser(void) { return try_clone(CLONE_NEWUSER); }
static long a_clone_newns(void) { return try_clone(CLONE_NEWNS); }
static long a_clone_newpid(void) { return try_clone(CLONE_NEWPID); }
static long a_clone_newnet(void) { return try_clone(CLONE_NEWNET); }
static long a_clone_newuts(void) { return try_clone(CLONE_NEWUTS); }
static long a_clone_newipc(void) { return try_clone(CLONE_NEWIPC); }
static long a_clone_newcgroup(void) { return try_clone(CLONE_NEWCGROUP); }
/* CLONE_NEWTIME shares its bit with the exit signal in clone(2): unshare only. */
static long a_unshare_time(void) { return sys_result(unshare(CLONE_NEWTIME)); }
static long a_clone3(void)
{
	/* struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, ... */
	uint64_t args[11] = { 0 };
	long r;

	args[4] = SIGCHLD;
	r = syscall(SYS_clone3, args, sizeof(args));
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return sys_result(r);
}
static long a_ptrace_attach(void) { return sys_result(syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, target, 0, 0)); }
static long a_ptrace_traceme(void) { return sys_result(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0)); }
static long a_process_vm_readv(void)
{
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };

	return sys_result(process_vm_readv(target, &local, 1, &remote, 1, 0));
}
static long a_process_vm_writev(void)
{
	char buf[16] = { 0 };
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x400000, sizeof(buf) };

	return sys_result(process_vm_writev(target, &local, 1, &remote, 1, 0));
}
static long a_pidfd_getfd(void)
{
	long pidfd = syscall(SYS_pidfd_open, target, 0);

	/* Without a pidfd the call is still made: seccomp answers first. */
	return sys_result(syscall(SYS_pidfd_getfd, pidfd < 0 ? -1 : pidfd, 0, 0));
}
static long a_kill_target(void) { return sys_result(kill(target, 0)); }
static long a_keyctl(void) { return sys_result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)); }
static long a_add_key(void) { return sys_result(syscall(SYS_add_key, "user", "cutover-trysys", "x", 1, KEY_SPEC_PROCESS_KEYRING)); }
static long a_request_key(void) { return sys_result(syscall(SYS_request_key, "user", "cutover-trysys", NULL, 0)); }
static long a_bpf(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	return sys_result(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}
static long a_perf_event_open(void)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.exclude_kernel = 1;
	return sys_result(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}
static long a_userfaultfd(void) { return sys_result(syscall(SYS_userfaultfd, 0)); }
static long a_io_uring_setup(void)
{
	char params[120];

	memset(params, 0, sizeof(params));
	return sys_result(syscall(SYS_io_uring_setup, 1, params));
}
static long a_kexec_load(void) { return sys_result(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL)); }
static long a_kexec_file_load(void) { return sys_result(syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0xdead0000UL)); }
static long a_init_module(void) { return sys_result(syscall(SYS_init_module, NULL, 0, "")); }
static long a_finit_module(void) { return sys_result(syscall(SYS_finit_module, -1, "", 0)); }
static long a_delete_module(void) { return sys_result(syscall(SYS_delete_module, "cutover_trysys_none", 0)); }
static long a_open_by_handle_at(void)
{
	struct { unsigned int bytes; int type; unsigned char h[64]; } fh;

	memset(&fh, 0, sizeof(fh));
	fh.bytes = 8;
	return sys_result(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
}
static long a_name_to_handle_at(void)
{
	struct { unsigned int bytes; int type; unsigned char h[128]; } fh;
	int mount_id;

	memset(&fh, 0, sizeof(fh));
	fh.bytes = 128;
	return sys_result(syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0));
}
static long a_mknod_chr(void)
{
	long r = sys_result(mknod("trysys-chr", S_IFCHR | 0600, makedev(1, 3)));

	if (r >= 0)
		unlink("trysys-chr");
	return r;
}
static long a_mknodat_blk(void)
{
	long r = sys_result(mknodat(AT_FDCWD, "trysys-blk", S_IFBLK | 0600, makedev(7, 0)));

	if (r >= 0)
		unlink("trysys-blk");
	return r;
}
static long a_reboot(void)
{
	/* An invalid command: EINVAL if it ever got that far. */
	return sys_result(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x0badc0deU, NULL));
}
static long a_swapon(void) { return sys_result(syscall(SYS_swapon, NOWHERE, 0)); }
static long a_swapoff(void) { return sys_result(syscall(SYS_swapoff, NOWHERE)); }
static long a_acct(void) { return sys_result(syscall(SYS_acct, NOWHERE)); }
static long a_quotactl(void)
{
	char buf[128];

	return sys_result(syscall(SYS_quotactl, QCMD(Q_GETQUOTA, USRQUOTA), "/dev/null", 0, buf));
}
static long a_syslog(void) { return sys_result(syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0)); }
static long a_iopl(void) { return sys_result(syscall(SYS_iopl, 3)); }
static long a_ioperm(void) { return sys_result(syscall(SYS_ioperm, 0x80, 1, 1)); }
static long a_tiocsti(void)
{
	char c = 'x';

	return sys_result(ioctl(0, TIOCSTI, &c));
}
static long a_personality(void) { return sys_result(syscall(SYS_personality, 0x0008 /* ADDR_NO_RANDOMIZE */)); }
static long a_vhangup(void) { return sys_result(syscall(SYS_vhangup)); }

static const struct attempt {
	const char *name;
	long (*fn)(void);
} attempts[] = {
	{ "mount", a_mount }, { "umount2", a_umount2 }, { "pivot_root", a_pivot_root },
	{ "chroot", a_chroot }, { "open_tree", a_open_tree }, { "move_mount", a_move_mount },
	{ "fsopen", a_fsopen }, { "fsconfig", a_fsconfig }, { "fsmount", a_fsmount },
	{ "fspick", a_fspick }, { "mount_setattr", a_mount_setattr },
	{ "unshare(CLONE_NEWUSER)", a_unshare_user }, { "unshare(CLONE_NEWNS)", a_unshare_ns },
	{ "unshare(CLONE_NEWNET)", a_unshare_net }, { "unshare(CLONE_NEWPID)", a_unshare_pid },
	{ "setns", a_setns },
	{ "clone(CLONE_NEWUSER)", a_clone_newuser }, { "clone(CLONE_NEWNS)", a_clone_newns },
	{ "clone(CLONE_NEWPID)", a_clone_newpid }, { "clone(CLONE_NEWNET)", a_clone_newnet },
	{ "clone(CLONE_NEWUTS)", a_clone_newuts }, { "clone(CLONE_NEWIPC)", a_clone_newipc },
	{ "clone(CLONE_NEWCGROUP)", a_clone_newcgroup }, { "unshare(CLONE_NEWTIME)", a_unshare_time },
	{ "clone3", a_clone3 },
	{ "ptrace(PTRACE_ATTACH)", a_ptrace_attach }, { "ptrace(PTRACE_TRACEME)", a_ptrace_traceme },
	{ "process_vm_readv", a_process_vm_readv }, { "process_vm_writev", a_process_vm_writev },
	{ "pidfd_getfd", a_pidfd_getfd },
	{ "keyctl", a_keyctl }, { "add_key", a_add_key }, { "request_key", a_request_key },
	{ "bpf", a_bpf }, { "perf_event_open", a_perf_event_open }, { "userfaultfd", a_userfaultfd },
	{ "io_uring_setup", a_io_uring_setup }, { "kexec_load", a_kexec_load },
	{ "kexec_file_load", a_kexec_file_load }, { "init_module", a_init_module },
	{ "finit_module", a_finit_module }, { "delete_module", a_delete_module },
	{ "open_by_handle_at", a_open_by_handle_at }, { "name_to_handle_at", a_name_to_handle_at },
	{ "mknod(S_IFCHR)", a_mknod_chr }, { "mknodat(S_IFBLK)", a_mknodat_blk },
	{ "reboot", a_reboot }, { "swapon", a_swapon }, { "swapoff", a_swapoff },
	{ "acct", a_acct }, { "quotactl", a_quotactl }, { "syslog", a_syslog },
	{ "iopl", a_iopl }, { "ioperm", a_ioperm }, { "ioctl(TIOCSTI)", a_tiocsti },
	{ "personality", a_personality }, { "vhangup", a_vhangup },
};

/* Not every errno has a name in every libc; fall back to the number. */
static const char *errno_name(int e, char *buf, size_t n)
{
	const char *s = strerrorname_np(e);

	if (s)
		return s;
	snprintf(buf, n, "errno%d", e);
	return buf;
}

/* "kill" is a plain probe that the target exists and is signalable; it is
 * reported separately by the test, not a denied call. */
static const struct attempt probe_kill = { "kill(target,0)", a_kill_target };

static void run_one(const struct attempt *a)
{
	int pipefd[2], status;
	long result = 0;
	char buf[32];
	pid_t pid;

	if (pipe(pipefd) < 0) {
		printf("%s SETUP-FAILED(pipe)\n", a->name);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("%s SETUP-FAILED(fork)\n", a->name);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		result = a->fn();
		(void)!write(pipefd[1], &result, sizeof(result));
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &result, sizeof(result)) != sizeof(result))
		result = 1L << 40;   /* no answer: the child died */
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		printf("%s KILLED(%s)\n", a->name, sigabbrev_np(WTERMSIG(status)) ?: "?");
	else if (result == 1L << 40)
		printf("%s NO-ANSWER\n", a->name);
	else if (result >= 0)
		printf("%s OK\n", a->name);
	else
		printf("%s %s\n", a->name, errno_name((int)-result, buf, sizeof(buf)));
}

static int forks(long n)
{
	char buf[32];
	long k;
	int err = 0;

	for (k = 0; k < n; k++) {
		pid_t pid = fork();

		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			sleep(60);
			_exit(0);
		}
	}
	printf("forks=%ld %s\n", k, err ? errno_name(err, buf, sizeof(buf)) : "ENONE");
	return 0;
}

static _Noreturn void bomb(void)
{
	printf("bomb: forking for ever\n");
	fflush(stdout);
	for (;;)
		(void)fork();
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--forks") == 0)
		return forks(atol(argv[2]));
	if (argc > 1 && strcmp(argv[1], "--bomb") == 0)
		bomb();
	if (argc > 1)
		target = (pid_t)atoi(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++)
		run_one(&attempts[i]);
	run_one(&probe_kill);
	return 0;
}
