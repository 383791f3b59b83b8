/* SPDX-License-Identifier: MIT */
#include "cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util.h"

static int write_file(const char *dir, const char *name, const char *value)
{
	char path[600];
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return write_all(fd, value, strlen(value));
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (strcmp(w, word) == 0)
			return true;
	return false;
}

static int try_v2(pid_t pid, unsigned max_procs, unsigned long long max_memory,
		  struct build_cgroup *cg)
{
	struct statfs sfs;
	char num[32];
	int r;

	if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOTSUP;
	if (!file_has_word("/sys/fs/cgroup/cgroup.controllers", "pids") ||
	    !file_has_word("/sys/fs/cgroup/cgroup.controllers", "memory"))
		return -ENOTSUP;
	/* The root cgroup may hold processes and still delegate controllers
	 * to children, so the step's cgroup goes directly below it. */
	if (!file_has_word("/sys/fs/cgroup/cgroup.subtree_control", "pids") ||
	    !file_has_word("/sys/fs/cgroup/cgroup.subtree_control", "memory")) {
		r = write_file("/sys/fs/cgroup", "cgroup.subtree_control", "+pids +memory");
		if (r < 0)
			return r;
	}
	snprintf(cg->v2, sizeof(cg->v2), "/sys/fs/cgroup/cutover-build-%d", (int)pid);
	if (mkdir(cg->v2, 0700) < 0)
		return -errno;
	snprintf(num, sizeof(num), "%u", max_procs);
	r = write_file(cg->v2, "pids.max", num);
	snprintf(num, sizeof(num), "%llu", max_memory);
	if (r == 0)
		r = write_file(cg->v2, "memory.max", num);
	/* Swap would let a step go past memory.max; the file is absent
	 * without swap accounting, which is as good. */
	if (r == 0)
		(void)write_file(cg->v2, "memory.swap.max", "0");
	snprintf(num, sizeof(num), "%d", (int)pid);
	if (r == 0)
		r = write_file(cg->v2, "cgroup.procs", num);
	if (r < 0) {
		rmdir(cg->v2);
		cg->v2[0] = '\0';
		return r;
	}
	cg->version = 2;
	return 0;
}

/* Our own path in a v1 hierarchy, from /proc/self/cgroup. */
static int v1_own_path(const char *controller, char *buf, size_t n)
{
	char line[512];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		if (!b)
			continue;
		*b = '\0';
		b[strcspn(b + 1, "\n") + 1] = '\0';
		for (char *save = NULL, *c = strtok_r(a + 1, ",", &save); c; c = strtok_r(NULL, ",", &save))
			if (strcmp(c, controller) == 0)
				return str_copy(buf, n, strcmp(b + 1, "/") == 0 ? "" : b + 1);
	}
	return -ENOENT;
}

static int v1_make(const char *controller, pid_t pid, char *dir, size_t n)
{
	char own[256], path[600];
	struct statfs sfs;
	int r;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", controller);
	if (statfs(path, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC)
		return -ENOTSUP;
	r = v1_own_path(controller, own, sizeof(own));
	if (r < 0)
		return r;
	r = str_printf(dir, n, "/sys/fs/cgroup/%s%s/cutover-build-%d", controller, own, (int)pid);
	if (r < 0)
		return r;
	return mkdir(dir, 0700) < 0 ? -errno : 0;
}

static int try_v1(pid_t pid, unsigned max_procs, unsigned long long max_memory,
		  struct build_cgroup *cg)
{
	char num[32];
	int r;

	r = v1_make("pids", pid, cg->v1_pids, sizeof(cg->v1_pids));
	if (r < 0) {
		cg->v1_pids[0] = '\0';
		return r;
	}
	r = v1_make("memory", pid, cg->v1_memory, sizeof(cg->v1_memory));
	if (r < 0) {
		cg->v1_memory[0] = '\0';
		cgroup_destroy(cg);
		return r;
	}
	snprintf(num, sizeof(num), "%u", max_procs);
	r = write_file(cg->v1_pids, "pids.max", num);
	snprintf(num, sizeof(num), "%llu", max_memory);
	if (r == 0)
		r = write_file(cg->v1_memory, "memory.limit_in_bytes", num);
	snprintf(num, sizeof(num), "%d", (int)pid);
	if (r == 0)
		r = write_file(cg->v1_pids, "cgroup.procs", num);
	if (r == 0)
		r = write_file(cg->v1_memory, "cgroup.procs", num);
	if (r < 0) {
		cgroup_destroy(cg);
		return r;
	}
	cg->version = 1;
	return 0;
}

int cgroup_create(pid_t pid, unsigned max_procs, unsigned long long max_memory,
		  struct build_cgroup *ret)
{
	struct build_cgroup cg = { 0 };
	int r;

	r = try_v2(pid, max_procs, max_memory, &cg);
	if (r < 0)
		r = try_v1(pid, max_procs, max_memory, &cg);
	*ret = cg;
	return r;
}

void cgroup_destroy(struct build_cgroup *cg)
{
	/* rmdir succeeds once the last task is gone; the caller reaped the
	 * namespace's init, and the kernel killed the rest before that. */
	if (cg->v2[0])
		(void)rmdir(cg->v2);
	if (cg->v1_pids[0])
		(void)rmdir(cg->v1_pids);
	if (cg->v1_memory[0])
		(void)rmdir(cg->v1_memory);
	memset(cg, 0, sizeof(*cg));
}
