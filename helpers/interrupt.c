/* SPDX-License-Identifier: MIT */
#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

static void interrupt_noop(int sig)
{
	(void)sig;
}

int interrupt_defer(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = interrupt_noop, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	return 0;
}
