/* SPDX-License-Identifier: MIT */
/*
 * swapper SECONDS CANARY WORKDIR TARGET...: for SECONDS, tries over and
 * over to put a symlink to CANARY at each TARGET, the way a deploy user
 * racing cutover between a check and a use would: symlink(2) straight at
 * the path, rename(2) of a prepared symlink over it, and
 * renameat2(RENAME_EXCHANGE) of a prepared symlink with it. WORKDIR must
 * be writable by the caller (the prepared symlinks live there).
 *
 * A TARGET ending in "/@ID" stands for the release ids cutover would pick
 * right now (YYYYmmddTHHMMSSZ for the current second and its neighbours,
 * with the -2 .. -4 suffixes of same-second releases).
 *
 * Prints "planted TARGET (how)" for every attempt that succeeded and, as
 * the last line, "attempts=N ok=N" followed by a count per errno name;
 * SIGTERM or SIGINT ends the run early, with the same summary.
 *
 * Built by make (integration/tools.mk) into build/tools/swapper.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static unsigned long long attempts, ok, by_errno[200];
static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void count(int r, const char *target, const char *how)
{
	attempts++;
	if (r == 0) {
		ok++;
		printf("planted %s (%s)\n", target, how);
		return;
	}
	if (errno > 0 && errno < 200)
		by_errno[errno]++;
}

static void attack(const char *target, const char *canary, const char *work)
{
	char prepared[4096];

	count(symlink(canary, target), target, "symlink");
	snprintf(prepared, sizeof(prepared), "%s/swap.%d", work, (int)getpid());
	(void)unlink(prepared);
	if (symlink(canary, prepared) < 0)
		return;
	count(renameat2(AT_FDCWD, prepared, AT_FDCWD, target, RENAME_EXCHANGE), target, "exchange");
	count(rename(prepared, target), target, "rename");
	(void)unlink(prepared);
}

/* Expands DIR/@ID into the ids of releases made around now. */
static void attack_ids(const char *dir_len_target, size_t dir_len, const char *canary,
		       const char *work)
{
	time_t now = time(NULL);
	char id[64], path[4096];

	for (time_t t = now - 1; t <= now + 1; t++) {
		struct tm tm;

		gmtime_r(&t, &tm);
		for (int attempt = 1; attempt <= 4; attempt++) {
			size_t n = strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", &tm);

			if (attempt > 1)
				snprintf(id + n, sizeof(id) - n, "-%d", attempt);
			snprintf(path, sizeof(path), "%.*s/%s", (int)dir_len, dir_len_target, id);
			attack(path, canary, work);
		}
	}
}

int main(int argc, char **argv)
{
	struct timespec start, now;
	double seconds;

	if (argc < 5) {
		fprintf(stderr, "usage: swapper SECONDS CANARY WORKDIR TARGET...\n");
		return 2;
	}
	seconds = atof(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 4; i < argc; i++) {
			size_t len = strlen(argv[i]);

			if (len >= 4 && strcmp(argv[i] + len - 4, "/@ID") == 0)
				attack_ids(argv[i], len - 4, argv[2], argv[3]);
			else
				attack(argv[i], argv[2], argv[3]);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!stop && (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);

	printf("attempts=%llu ok=%llu", attempts, ok);
	for (int e = 1; e < 200; e++)
		if (by_errno[e])
			printf(" %s=%llu", strerrorname_np(e) ? strerrorname_np(e) : "errno", by_errno[e]);
	printf("\n");
	return 0;
}
