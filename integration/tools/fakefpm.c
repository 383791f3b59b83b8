/* SPDX-License-Identifier: MIT */
/*
 * fakefpm: stands in for php-fpm as [fpm] binary in
 * integration/hostile/test_31_fpm_exec.sh, to see exactly what `cutover
 * fpm-exec` executes. Writes to DIR/fakefpm.out (DIR: the directory of the
 * file after --fpm-config) its pid, parent pid, argument vector,
 * environment and open descriptors, one per line ("pid N", "ppid N",
 * "arg X", "env X", "fd N"), sends READY=1 to NOTIFY_SOCKET as php-fpm
 * does, and exits 0 on SIGQUIT (or after 120 s).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static void on_quit(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *notify = getenv("NOTIFY_SOCKET");
	char out[4096], *slash;
	struct dirent *e;
	DIR *d;
	FILE *f;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--fpm-config") == 0)
			conf = argv[i + 1];
	if (!conf || !(slash = strrchr(conf, '/')))
		return 64;
	snprintf(out, sizeof(out), "%.*s/fakefpm.out", (int)(slash - conf), conf);
	d = opendir("/proc/self/fd");
	f = fopen(out, "we");
	if (!d || !f)
		return 65;
	fprintf(f, "pid %d\nppid %d\n", (int)getpid(), (int)getppid());
	for (int i = 0; i < argc; i++)
		fprintf(f, "arg %s\n", argv[i]);
	for (char **p = environ; *p; p++)
		fprintf(f, "env %s\n", *p);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) && atoi(e->d_name) != fileno(f))
			fprintf(f, "fd %s\n", e->d_name);
	closedir(d);
	fclose(f);
	signal(SIGQUIT, on_quit);
	if (notify && notify[0] == '/' && strlen(notify) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memcpy(a.sun_path, notify, strlen(notify) + 1);
		if (s < 0 || sendto(s, "READY=1", 7, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
			return 66;
		close(s);
	}
	sleep(120);
	return 0;
}
