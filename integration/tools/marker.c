/* SPDX-License-Identifier: MIT */
/*
 * A library that leaves a trace wherever it is loaded, for LD_PRELOAD and
 * LD_AUDIT tests: its constructor (and, as an audit module, la_version)
 * creates MARKER_DIR/loaded.COMM.PID, where COMM is the process name and
 * PID its pid. MARKER_DIR is fixed at build time:
 *
 *   gcc -shared -fPIC -DMARKER_DIR='"/some/dir"' -o marker.so marker.c
 *
 * (an environment variable would not do: the point is to see whether the
 * library is loaded into processes whose environment was cleared).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef MARKER_DIR
#error "build with -DMARKER_DIR='\"/path\"'"
#endif

static void leave_mark(const char *how)
{
	char comm[32] = "unknown", path[512];
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n/")] = '\0';
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/loaded.%s.%d.%s", MARKER_DIR, comm, (int)getpid(), how);
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
