/* SPDX-License-Identifier: MIT */
/*
 * A library that leaves a trace wherever it is loaded, for LD_PRELOAD and
 * LD_AUDIT tests: its constructor (and, as an audit module, la_version)
 * creates DIR/markers/loaded.COMM.PID.HOW, where DIR is the directory the
 * library was loaded from (as the loader was given it), COMM the process
 * name, PID its pid and HOW "ctor" or "audit". Built by make into
 * build/tools/marker.so; a test copies it beside the markers directory it
 * watches (integration/lib/tools.sh, tool_build marker.so DIR).
 *
 * The directory comes from where the library is, never from the
 * environment: the point is to see whether the library is loaded into
 * processes whose environment was cleared.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void leave_mark(const char *how)
{
	char comm[32] = "unknown", dir[512], path[640];
	Dl_info info;
	char *slash;
	int fd;

	if (!dladdr((void *)leave_mark, &info) || !info.dli_fname)
		return;
	snprintf(dir, sizeof(dir), "%s", info.dli_fname);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n/")] = '\0';
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/markers/loaded.%s.%d.%s", dir, comm, (int)getpid(), how);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
}

__attribute__((constructor)) static void marker_init(void)
{
	leave_mark("ctor");
}

/* The rtld-audit entry point: makes this a valid LD_AUDIT module. */
unsigned int la_version(unsigned int version);
unsigned int la_version(unsigned int version)
{
	leave_mark("audit");
	return version;
}
