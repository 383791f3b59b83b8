/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bind.h"
#include "cgroup.h"
#include "privs.h"
#include "util.h"

/* In the child: report what failed on the output pipe (the helper shows it
 * as the step's output) and exit with a distinctive code. */
static _Noreturn void die(int out_fd, const char *what, int err)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "cutover sandbox: %s: %s\n", what, strerror(err));

	if (n > 0)
		(void)write_all(out_fd, buf, (size_t)n);
	_exit(125);
}

/* mkdir -p of path (absolute) in the current namespace. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static bool path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * Attaches a fresh tmpfs at path if path exists in this namespace. When
 * the app's root lies below it (an app under /tmp), the app root is cloned
 * first and put back at the same path inside the new tmpfs, so the build
 * still sees its release and shared/ where they really are.
 */
static int mount_tmpfs(const char *path, const char *app_root)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF, target = -EBADF, keep = -EBADF;
	int r;

	target = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return errno == ENOENT ? 0 : -errno;
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "1g", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "1777", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return -errno;
	if (path_below(app_root, path)) {
		keep = open_tree(AT_FDCWD, app_root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (keep < 0)
			return -errno;
	}
	if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	if (keep >= 0) {
		r = mkdir_p(app_root);
		if (r < 0)
			return r;
		if (move_mount(keep, "", AT_FDCWD, app_root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return -errno;
	}
	return 0;
}

static int mount_proc(void)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF, target = -EBADF;

	target = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return -errno;
	fs = fsopen("proc", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return -errno;
	if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/*
 * Puts the writable clone of the release at mount_path. The path is looked
 * up again in this namespace (fds from the helper belong to the host's
 * mounts and cannot be mount targets here), and must be the same inode as
 * the placeholder the helper opened, so a rename race cannot redirect it.
 */
static int attach_at(int clone_fd, int expect_fd, const char *path, uint64_t set, uint64_t clr)
{
	_cleanup_close_ int target = -EBADF;
	struct stat want, got;

	if (fstat(expect_fd, &want) < 0)
		return -errno;
	target = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return -errno;
	if (fstat(target, &got) < 0)
		return -errno;
	if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return -ESTALE;
	/* Private too: the clone was made in the host's namespace, and a
	 * clone of a shared mount is its peer; nothing mounted on it here
	 * (the shared entries in mode = bind) may propagate back. */
	if (bind_setattr(clone_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, set, clr, MS_PRIVATE) < 0)
		return -errno;
	if (move_mount(clone_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

/*
 * The repository cache, at a directory made here in the private /tmp
 * before any child runs (so nothing can have put something there): below
 * ROOT/.cutover, root 0700, git_user could not reach it. Its own mode
 * (git_user's, 0700) keeps the deploy user's step out. Nothing in it runs.
 */
static int attach_cache(int clone_fd, const char *path)
{
	_cleanup_close_ int target = -EBADF;

	if (mkdir(path, 0700) < 0)
		return -errno;
	target = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return -errno;
	if (bind_setattr(clone_fd, "", AT_EMPTY_PATH | AT_RECURSIVE,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_RDONLY,
			 MS_PRIVATE) < 0)
		return -errno;
	if (move_mount(clone_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static int attach_release(int clone_fd, const struct sandbox_spec *s)
{
	if (s->tree_readonly)
		return attach_at(clone_fd, s->mount_point_fd, s->mount_path,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0);
	return attach_at(clone_fd, s->mount_point_fd, s->mount_path,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY);
}

/* mode = bind: the shared entries on the release just attached at
 * mount_path, as a publish mounts them (read-only for build steps). */
static int attach_binds(const struct sandbox_spec *s, const int *clones)
{
	_cleanup_close_ int rel = -EBADF;
	int r;

	if (s->n_binds == 0)
		return 0;
	rel = open(s->mount_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rel < 0)
		return -errno;
	for (size_t i = 0; i < s->n_binds; i++) {
		bool rw = s->binds_writable && s->binds[i].is_dir;

		r = bind_attach_clone(clones[i], rel, s->binds[i].rel, s->binds[i].is_dir,
				      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
				      (rw ? 0 : MOUNT_ATTR_RDONLY), rw ? MOUNT_ATTR_RDONLY : 0);
		if (r < 0)
			return r;
		close(clones[i]);
	}
	return 0;
}

static _Noreturn void run_step(const struct sandbox_spec *s, int in_fd, int out_fd, bool nproc_fallback)
{
	char *argv[8] = { "sh", "-c", (char *)s->command, NULL };
	struct rlimit rl;
	int null_fd, r;

	if (s->args) {
		/* Positional parameters: data for the command, never parsed by
		 * the shell as code. */
		size_t k = 3;
		argv[k++] = "cutover";
		for (size_t i = 0; s->args[i] && k < ELEMENTSOF(argv) - 1; i++)
			argv[k++] = s->args[i];
		argv[k] = NULL;
	}
	/* The ssh key of a cached fetch is git_user's alone: gone before
	 * anything here runs as the deploy user. */
	if (s->cache && s->cache->key_fd >= 0)
		close(s->cache->key_fd);
	if (setsid() < 0)   /* no controlling terminal: TIOCSTI has no target */
		die(out_fd, "setsid", errno);
	null_fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		die(out_fd, "redirect stdio", errno);
	if (chdir(s->mount_path) < 0)
		die(out_fd, "chdir into the release", errno);
	/* What migrations and hooks write into shared/ (logs, cache, a SQLite
	 * database) must stay writable for web_group, which runs the app. */
	umask(s->shared_fd >= 0 ? 0007 : 0022);
	rl.rlim_cur = rl.rlim_max = s->fsize_limit;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		die(out_fd, "RLIMIT_FSIZE", errno);
	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	if (nproc_fallback) {
		/* Counts every process of the deploy user, not just ours: only
		 * a stand-in for the cgroup's pids.max. */
		rl.rlim_cur = rl.rlim_max = s->max_procs;
		if (setrlimit(RLIMIT_NPROC, &rl) < 0)
			die(out_fd, "RLIMIT_NPROC", errno);
	}
	r = privs_drop_to(s->uid, s->gid, s->extra_gid ? &s->extra_gid : NULL, s->extra_gid ? 1 : 0);
	if (r < 0)
		die(out_fd, "dropping privileges", -r);
	r = privs_seccomp_unprivileged(true);
	if (r < 0)
		die(out_fd, "seccomp", -r);
	if (s->pass_fd_set) {
		/* dup2 leaves the copy without close-on-exec; a pass_fd that
		 * is already 3 keeps its own flags, so clear them. */
		if (s->pass_fd != 3 ? dup2(s->pass_fd, 3) < 0 : fcntl(3, F_SETFD, 0) < 0)
			die(1, "passing an fd", errno);
	}
	if (syscall(SYS_close_range, s->pass_fd_set ? 4U : 3U, ~0U, 0) < 0)
		die(1, "close_range", errno);
	execve("/bin/sh", argv, s->env);
	die(1, "exec /bin/sh", errno);
}

/* The trusted side of a cached git fetch: in the cache, as git_user, its
 * stdout the pipe the step reads, its stderr the step's output. */
static _Noreturn void run_cache_side(const struct sandbox_spec *s, int pipe_wr, int out_fd)
{
	char *argv[8] = { "sh", "-c", (char *)s->cache->command, "cutover", NULL };
	size_t k = 4;
	struct rlimit rl;
	int null_fd, r;

	for (size_t i = 0; s->args && s->args[i] && k < ELEMENTSOF(argv) - 1; i++)
		argv[k++] = s->args[i];
	argv[k] = NULL;
	if (setsid() < 0)
		die(out_fd, "setsid", errno);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(pipe_wr, 1) < 0 || dup2(out_fd, 2) < 0)
		die(out_fd, "redirect stdio", errno);
	if (chdir(s->cache->path) < 0)
		die(out_fd, "chdir into the repository cache", errno);
	umask(0077);
	rl.rlim_cur = rl.rlim_max = s->fsize_limit;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		die(out_fd, "RLIMIT_FSIZE", errno);
	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	r = privs_drop_to(s->cache->uid, s->gid, NULL, 0);
	if (r < 0)
		die(out_fd, "dropping privileges", -r);
	r = privs_seccomp_unprivileged(true);
	if (r < 0)
		die(out_fd, "seccomp", -r);
	if (s->cache->key_fd >= 0) {
		/* As in run_step: the copy on 3 must survive the exec. */
		if (s->cache->key_fd != 3 ? dup2(s->cache->key_fd, 3) < 0 : fcntl(3, F_SETFD, 0) < 0)
			die(2, "passing an fd", errno);
	}
	if (syscall(SYS_close_range, s->cache->key_fd >= 0 ? 4U : 3U, ~0U, 0) < 0)
		die(2, "close_range", errno);
	execve("/bin/sh", argv, s->cache->env);
	die(2, "exec /bin/sh", errno);
}

/* Starts the step (and, for a cached fetch, the cache side feeding it);
 * ret_cache is 0 without one. */
static void start_children(const struct sandbox_spec *s, int out_fd, bool nproc_fallback,
			   pid_t *ret_step, pid_t *ret_cache)
{
	int p[2] = { -1, -1 };

	*ret_cache = 0;
	if (s->cache) {
		if (pipe2(p, O_CLOEXEC) < 0)
			die(out_fd, "pipe", errno);
		*ret_cache = fork();
		if (*ret_cache < 0)
			die(out_fd, "fork", errno);
		if (*ret_cache == 0) {
			close(p[0]);
			run_cache_side(s, p[1], out_fd);
		}
		close(p[1]);
	}
	*ret_step = fork();
	if (*ret_step < 0)
		die(out_fd, "fork", errno);
	if (*ret_step == 0)
		run_step(s, p[0], out_fd, nproc_fallback);
	if (p[0] >= 0)
		close(p[0]);
}

/* 0-255 from a wait status: the exit code, or 128 + the signal. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* pid 1 of the step's pid namespace. Its exit takes every process the step
 * left behind with it (the kernel kills the namespace). */
static _Noreturn void sandbox_init(const struct sandbox_spec *s, int clone_fd, int shared_clone,
				   int cache_clone, const int *bind_clones, int out_fd, int sync_fd)
{
	pid_t step, cache, p;
	int status = 0, cache_status = 0, r;
	char go = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(out_fd, "PR_SET_PDEATHSIG", errno);
	/* Nothing runs before the helper has put us in our cgroup. */
	if (read(sync_fd, &go, 1) != 1)
		_exit(125);
	close(sync_fd);
	/* Nothing mounted here may reach the host: private first. */
	r = bind_setattr(AT_FDCWD, "/", AT_RECURSIVE, 0, 0, MS_PRIVATE);
	if (r < 0)
		die(out_fd, "making mounts private", -r);
	r = bind_setattr(AT_FDCWD, "/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0);
	if (r < 0)
		die(out_fd, "making the filesystem read-only", -r);
	if ((r = mount_tmpfs("/tmp", s->app_root)) < 0 ||
	    (r = mount_tmpfs("/var/tmp", s->app_root)) < 0 ||
	    (r = mount_tmpfs("/dev/shm", s->app_root)) < 0)
		die(out_fd, "mounting a private tmpfs", -r);
	if (clone_fd >= 0) {
		r = attach_release(clone_fd, s);
		if (r < 0)
			die(out_fd, "mounting the release", -r);
		close(clone_fd);
	}
	r = attach_binds(s, bind_clones);
	if (r < 0)
		die(out_fd, "mounting the shared entries on the release", -r);
	if (shared_clone >= 0) {
		/* Migrations and hooks write the app's shared state (a SQLite
		 * database, the cache queue:restart uses); nothing there runs. */
		r = attach_at(shared_clone, s->shared_fd, s->shared_path,
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_RDONLY);
		if (r < 0)
			die(out_fd, "mounting shared/ writable", -r);
		close(shared_clone);
	}
	if (cache_clone >= 0) {
		r = attach_cache(cache_clone, s->cache->path);
		if (r < 0)
			die(out_fd, "mounting the repository cache", -r);
		close(cache_clone);
	}
	r = mount_proc();
	if (r < 0)
		die(out_fd, "mounting /proc", -r);

	start_children(s, out_fd, go == 'n', &step, &cache);
	close(out_fd);
	/* Reap everything re-parented to us until the step (and the cache
	 * side) exit. */
	while (step > 0 || cache > 0) {
		int st;
		p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			_exit(125);
		}
		if (p == step) {
			status = st;
			step = 0;
		} else if (p == cache) {
			cache_status = st;
			cache = 0;
		}
	}
	/* A failed fetch explains the step's failure, not the reverse. */
	_exit(exit_code(cache_status) != 0 ? exit_code(cache_status) : exit_code(status));
}

/* The clones of the shared entries, closed together. */
struct clone_fds {
	int fd[2 * CONFIG_MAX_LIST];
	size_t n;
};

static void clone_fds_close(struct clone_fds *c)
{
	while (c->n > 0)
		close(c->fd[--c->n]);
}

int sandbox_start(const struct sandbox_spec *spec, int out_fd, pid_t *ret_pid,
		  struct build_cgroup *ret_cg)
{
	_cleanup_close_ int clone_fd = -EBADF, shared_clone = -EBADF, cache_clone = -EBADF;
	_cleanup_close_ int sync_rd = -EBADF, sync_wr = -EBADF;
	_cleanup_(clone_fds_close) struct clone_fds clones = { .n = 0 };
	int sync[2], r;
	char go;
	pid_t pid;

	/* Clone the staging tree while still in the host namespace; inside
	 * the new one, fds of host mounts cannot be cloned any more. */
	if (spec->tree_fd >= 0) {
		clone_fd = open_tree(spec->tree_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (clone_fd < 0)
			return -errno;
	}
	if (spec->shared_fd >= 0) {
		shared_clone = open_tree(spec->shared_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (shared_clone < 0)
			return -errno;
	}
	if (spec->cache) {
		cache_clone = open_tree(spec->cache->fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (cache_clone < 0)
			return -errno;
	}
	if (spec->n_binds > ELEMENTSOF(clones.fd))
		return -E2BIG;
	for (; clones.n < spec->n_binds; clones.n++) {
		clones.fd[clones.n] = open_tree(spec->binds[clones.n].fd, "",
						OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (clones.fd[clones.n] < 0)
			return -errno;
	}
	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	sync_rd = sync[0];
	sync_wr = sync[1];
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD,
			     NULL, NULL, NULL, 0);
	if (pid == 0) {
		closep(&sync_wr);
		sandbox_init(spec, clone_fd, shared_clone, cache_clone, clones.fd, out_fd, sync_rd);
	}
	r = pid < 0 ? -errno : 0;
	/* The sandbox holds its own copies now (or there is none). */
	clone_fds_close(&clones);
	if (r < 0)
		return r;
	closep(&sync_rd);
	sync_rd = -EBADF;
	go = cgroup_create(pid, spec->max_procs, spec->max_memory, ret_cg) == 0 ? 'c' : 'n';
	if (write(sync_wr, &go, 1) != 1) {
		/* Closed first: the sandbox, if still waiting, sees EOF. */
		closep(&sync_wr);
		sync_wr = -EBADF;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cgroup_destroy(ret_cg);
		return -EIO;
	}
	*ret_pid = pid;
	return 0;
}
