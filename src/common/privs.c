/* SPDX-License-Identifier: MIT */
#include "privs.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "util.h"

static int cap_last(void)
{
	static int last = -1;

	if (last < 0) {
		/* Probe rather than trust headers: the running kernel may know
		 * more capabilities than libcap's headers do. */
		int i;
		for (i = CAP_LAST_CAP; i < 64; i++)
			if (prctl(PR_CAPBSET_READ, (unsigned long)i + 1, 0, 0, 0) < 0)
				break;
		last = i;
	}
	return last;
}

static int fd_in(int fd, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

int privs_fix_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR | O_NOCTTY);
			if (n < 0)
				return -errno;
			if (n != fd) {
				/* Lower fds are taken, so open returned a higher
				 * one; move it into place. */
				if (dup2(n, fd) < 0)
					return -errno;
				close(n);
			}
		}
	}
	return 0;
}

/* Every limit the kernel knows, fixed (docs/SECURITY.md, the launcher's
 * row): the caller's limits must not reach the helper or any step, where
 * a CPU-time or address-space limit of its choosing would kill or starve
 * the helper at a moment it picks. Finite values only where the kernel's
 * own defaults are finite, and never above them, so that a root without
 * CAP_SYS_RESOURCE can set them too unless the caller lowered a hard
 * limit (which then stops the run). */
#define MIB (1024ull * 1024ull)
static const struct {
	int resource;
	const char *name;
	rlim_t cur, max;
} fixed_limits[] = {
	{ RLIMIT_CPU,        "RLIMIT_CPU",        RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_FSIZE,      "RLIMIT_FSIZE",      RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_DATA,       "RLIMIT_DATA",       RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_STACK,      "RLIMIT_STACK",      8 * MIB,       RLIM_INFINITY },
	{ RLIMIT_CORE,       "RLIMIT_CORE",       0,             0 },
	{ RLIMIT_RSS,        "RLIMIT_RSS",        RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_NPROC,      "RLIMIT_NPROC",      4096,          4096 },
	{ RLIMIT_NOFILE,     "RLIMIT_NOFILE",     4096,          4096 },
	{ RLIMIT_MEMLOCK,    "RLIMIT_MEMLOCK",    8 * MIB,       8 * MIB },
	{ RLIMIT_AS,         "RLIMIT_AS",         RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_LOCKS,      "RLIMIT_LOCKS",      RLIM_INFINITY, RLIM_INFINITY },
	{ RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", 4096,          4096 },
	{ RLIMIT_MSGQUEUE,   "RLIMIT_MSGQUEUE",   819200,        819200 },
	{ RLIMIT_NICE,       "RLIMIT_NICE",       0,             0 },
	{ RLIMIT_RTPRIO,     "RLIMIT_RTPRIO",     0,             0 },
	{ RLIMIT_RTTIME,     "RLIMIT_RTTIME",     RLIM_INFINITY, RLIM_INFINITY },
};
_Static_assert(ELEMENTSOF(fixed_limits) == RLIM_NLIMITS, "every RLIMIT_* needs a fixed value");

int privs_reset_limits(const char **ret_failed)
{
	for (size_t i = 0; i < ELEMENTSOF(fixed_limits); i++) {
		struct rlimit rl = { fixed_limits[i].cur, fixed_limits[i].max };

		if (setrlimit(fixed_limits[i].resource, &rl) < 0) {
			if (ret_failed)
				*ret_failed = fixed_limits[i].name;
			return -errno;
		}
	}
	return 0;
}

int privs_reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* Dispositions and the mask survive execve and sudo: a caller that
	 * ignores SIGCHLD would make waitpid fail (children reaped behind our
	 * back), one that blocks SIGTERM would keep a timed-out step alive. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP &&
		    sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
			return -errno;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? -errno : 0;
}

/* ioprio_set(2) has no libc wrapper. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_NONE 0

/* A cgroup directory only root controls: root's, not group/other-writable,
 * and so are the files that move, kill or freeze what is in it. */
static bool cgroup_dir_safe(int dfd)
{
	static const char *const files[] = { "cgroup.procs", "cgroup.kill", "cgroup.freeze", "tasks" };
	struct stat st;

	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0022))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		if (fstatat(dfd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (st.st_uid != 0 || (st.st_mode & 0022)))
			return false;
	return true;
}

/* Writes our pid into the cgroup at depth `depth` of path below mnt_fd,
 * or the nearest one above it that accepts it (v2 refuses a process in a
 * cgroup whose children have controllers: the root always accepts). */
static int cgroup_move_up(int mnt_fd, char *path, size_t depth)
{
	for (;;) {
		_cleanup_close_ int fd = -EBADF;
		char *cut = path;
		int r;

		for (size_t d = 0; d < depth && cut; d++)
			cut = strchr(cut + 1, '/');
		if (cut)
			*cut = '\0';
		fd = openat(mnt_fd, *path == '/' && path[1] ? path + 1 : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		{
			_cleanup_close_ int procs = openat(fd, "cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

			r = procs < 0 ? -errno : write_all(procs, "0\n", 2);
		}
		if (r == 0 || depth == 0)
			return r;
		depth--;
	}
}

/* One hierarchy: path is our cgroup in it (from /proc/self/cgroup). */
static int cgroup_leave_unsafe(const char *mnt, char *path)
{
	_cleanup_close_ int mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int fd = -EBADF;
	size_t depth = 0;
	char *save = NULL, copy[PATH_MAX];

	if (mnt_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	fd = fcntl(mnt_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	if (!cgroup_dir_safe(fd))
		return -EPERM;   /* a hierarchy root we do not trust: refuse */
	str_copy(copy, sizeof(copy), path);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (next < 0)
			return 0;   /* gone meanwhile: the kernel moved us up */
		if (!cgroup_dir_safe(next)) {
			close(next);
			return cgroup_move_up(mnt_fd, path, depth);
		}
		closep(&fd);
		fd = next;
		depth++;
	}
	return 0;
}

int privs_leave_caller_cgroups(char *ret_failed, size_t n)
{
	_cleanup_(fclosep) FILE *mi = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int r = 0;

	if (!mi)
		return -errno;
	while (r == 0 && fgets(line, sizeof(line), mi)) {
		char root[8], mnt[PATH_MAX], fstype[32], opts[512], want[600], cg[4096], path[PATH_MAX] = "";
		_cleanup_(fclosep) FILE *self = NULL;
		const char *dash = strstr(line, " - ");

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
		/* Only a mount of a hierarchy's root: our path in
		 * /proc/self/cgroup is relative to it, not to a bound subtree. */
		if (!dash || sscanf(line, "%*s %*s %*s %7s %4095s", root, mnt) != 2 || strcmp(root, "/") != 0 ||
		    sscanf(dash, " - %31s %*s %511s", fstype, opts) != 2 || strchr(mnt, '\\'))
			continue;
		if (strcmp(fstype, "cgroup2") == 0)
			str_copy(want, sizeof(want), "0::");
		else if (strcmp(fstype, "cgroup") == 0) {
			/* the controllers (or name=) among the super options */
			char *o = strstr(opts, "name="), *end;

			if (!o) {
				o = strchr(opts, ',');
				o = o ? o + 1 : opts;
			}
			snprintf(want, sizeof(want), ":%s", o);
			if ((end = strchr(want + 1, ' ')))
				*end = '\0';
		} else
			continue;
		self = fopen("/proc/self/cgroup", "re");
		if (!self)
			return -errno;
		while (fgets(cg, sizeof(cg), self)) {
			char *p = strstr(cg, want);

			cg[strcspn(cg, "\n")] = '\0';
			if (p && (want[0] == '0' ? p == cg : p[strlen(want)] == ':')) {
				str_copy(path, sizeof(path), p + strlen(want) + (want[0] == '0' ? 0 : 1));
				break;
			}
		}
		if (!path[0] || strcmp(path, "/") == 0)
			continue;
		r = cgroup_leave_unsafe(mnt, path);
		if (r < 0)
			snprintf(ret_failed, n, "%s%s", mnt, path);
	}
	return r;
}

int privs_reset_scheduling(const char **ret_failed)
{
	struct sched_param sp = { .sched_priority = 0 };
	cpu_set_t all;
	int adj = 0;
	FILE *f;

	/* The caller's niceness, policy, CPU mask, I/O class and OOM score
	 * reach us through sudo: none of them may let it starve the helper or
	 * make it the OOM killer's first choice in the middle of a switch. */
	*ret_failed = "the scheduling policy";
	if (sched_setscheduler(0, SCHED_OTHER, &sp) < 0)
		return -errno;
	*ret_failed = "the nice value";
	if (setpriority(PRIO_PROCESS, 0, 0) < 0)
		return -errno;
	*ret_failed = "the I/O priority";
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_CLASS_NONE << 13) < 0)
		return -errno;
	/* Every CPU the kernel lets us have (a cpuset cgroup may allow fewer:
	 * the kernel then keeps the allowed ones, which is what we want). */
	CPU_ZERO(&all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	(void)sched_setaffinity(0, sizeof(all), &all);
	/* Only a raised OOM score is undone; a protective one is kept. */
	*ret_failed = "oom_score_adj";
	f = fopen("/proc/self/oom_score_adj", "r+e");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &adj) != 1)
		adj = 0;
	if (adj > 0 && (rewind(f), fprintf(f, "0\n") < 0 || fflush(f) != 0)) {
		int e = errno ? errno : EIO;

		fclose(f);
		return -e;
	}
	fclose(f);
	*ret_failed = NULL;
	return 0;
}

int privs_sanitize_process(const int *keep, size_t n_keep)
{
	int max_keep = 2, r;

	r = privs_fix_stdio();
	if (r == 0)
		r = privs_reset_signals();
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] > max_keep)
			max_keep = keep[i];
	/* Close everything above 2 that is not kept, in ranges. */
	for (int lo = 3; lo <= max_keep + 1; ) {
		int hi = lo;
		if (fd_in(lo, keep, n_keep)) {
			lo++;
			continue;
		}
		while (hi + 1 <= max_keep && !fd_in(hi + 1, keep, n_keep))
			hi++;
		if (lo > max_keep)
			hi = ~0U >> 1;
		if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0) < 0)
			return -errno;
		if (hi == (int)(~0U >> 1))
			break;
		lo = hi + 1;
	}
	umask(022);
	if (chdir("/") < 0)
		return -errno;
	/* Again, for the helper: the launcher fixed them before it started
	 * it, and setting the same values needs no capability. */
	r = privs_reset_limits(NULL);
	if (r < 0)
		return r;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int privs_reset_environment(void)
{
	if (clearenv() != 0)
		return -ENOMEM;
	if (setenv("PATH", SAFE_PATH, 1) < 0 || setenv("LANG", "C.UTF-8", 1) < 0)
		return -errno;
	return 0;
}

static int privs_drop_bounding_set(void)
{
	for (int c = 0; c <= cap_last(); c++)
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

static int caps_set_exact2(const int *keep, size_t n_keep, const int *dormant, size_t n_dormant)
{
	cap_t caps = cap_init();   /* all sets empty */
	int r = 0;

	if (!caps)
		return -errno;
	if (n_keep > 0 &&
	    (cap_set_flag(caps, CAP_EFFECTIVE, (int)n_keep, keep, CAP_SET) < 0 ||
	     cap_set_flag(caps, CAP_PERMITTED, (int)n_keep, keep, CAP_SET) < 0))
		r = -errno;
	if (r == 0 && n_dormant > 0 &&
	    cap_set_flag(caps, CAP_PERMITTED, (int)n_dormant, dormant, CAP_SET) < 0)
		r = -errno;
	if (r == 0 && cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	return r;
}

static int caps_set_exact(const int *keep, size_t n_keep)
{
	return caps_set_exact2(keep, n_keep, NULL, 0);
}

int privs_drop_to(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups)
{
	int r;

	if (uid == 0 || gid == 0)
		return -EPERM;
	r = privs_drop_bounding_set();
	if (r < 0)
		return r;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(n_groups, groups) < 0)
		return -errno;
	if (setresgid(gid, gid, gid) < 0)
		return -errno;
	if (setresuid(uid, uid, uid) < 0)
		return -errno;
	/* setresuid from 0 clears permitted and effective; inheritable
	 * survives, so empty every set explicitly. */
	r = caps_set_exact(NULL, 0);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* setuid resets dumpable to the suid_dumpable sysctl; force it off so
	 * processes of the same uid cannot ptrace or read our memory. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	/* Paranoia: the drop must be irreversible. */
	if (setresuid(0, 0, 0) == 0 || geteuid() != uid || getegid() != gid)
		return -EPERM;
	return 0;
}

int privs_limit_caps(const int *keep, size_t n_keep)
{
	return privs_limit_caps_dormant(keep, n_keep, NULL, 0);
}

int privs_limit_caps_dormant(const int *keep, size_t n_keep, const int *dormant, size_t n_dormant)
{
	int r;

	for (int c = 0; c <= cap_last(); c++) {
		bool k = false;
		for (size_t i = 0; i < n_keep; i++)
			k |= keep[i] == c;
		for (size_t i = 0; i < n_dormant; i++)
			k |= dormant[i] == c;
		if (!k && prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	r = caps_set_exact2(keep, n_keep, dormant, n_dormant);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int privs_seccomp_refuse_common(void *ctx)
{
	/* Refused with an error rather than killed: build tools probe some of
	 * these (libuv tries io_uring, container-aware tools try unshare) and
	 * must see a clean failure. */
	static const char *const refused[] = {
		"mount", "pivot_root", "chroot", "unshare", "fspick",
		"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
		"keyctl", "add_key", "request_key", "bpf", "perf_event_open",
		"userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
		"open_by_handle_at", "name_to_handle_at", "personality", "acct",
		"quotactl", "syslog", "vhangup", "lookup_dcookie", "swapon", "swapoff",
		"kexec_load", "kexec_file_load", "init_module", "finit_module",
		"delete_module", "reboot", "iopl", "ioperm",
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ELEMENTSOF(refused); i++) {
		int nr = seccomp_syscall_resolve_name(refused[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	return r;
}

int privs_seccomp_unprivileged(bool allow_exec)
{
	/* Beyond the common list: the helper's own mount API and setns. */
	static const int denied[] = {
		SCMP_SYS(umount2), SCMP_SYS(open_tree), SCMP_SYS(move_mount),
		SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(fsconfig),
		SCMP_SYS(mount_setattr), SCMP_SYS(setns),
	};
	static const unsigned long ns_flags[] = {
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
		CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
	};
	scmp_filter_ctx ctx;
	int r = 0;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* A 32-bit syscall table would bypass every rule below. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = privs_seccomp_refuse_common(ctx);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(denied); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	/* clone3 takes its flags in memory we cannot inspect: make callers
	 * fall back to clone, whose flags we can. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* clone with any namespace flag: one rule per flag, since a masked
	 * comparison can only test for "all of these bits set". */
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(ns_flags); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknod), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknod), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknodat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFCHR));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mknodat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK));
	/* fallocate reserves gigabytes in one call, faster than any watch on
	 * the disk budget can stop it; without it, tools fall back to writes. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(fallocate), 0);
	if (r == 0 && !allow_exec) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0);
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0);
	}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
