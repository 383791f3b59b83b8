/* SPDX-License-Identifier: MIT */
/*
 * The helper and signals sent to the caller's whole process group.
 */
#ifndef CUTOVER_INTERRUPT_H
#define CUTOVER_INTERRUPT_H

/*
 * The helper runs in the process group of the caller: SIGINT, SIGTERM or
 * SIGHUP sent to the group (timeout(1), systemd, a CI runner, ^C) reach it
 * as well as the front end. Killed by one, it would leave the half-built
 * release behind while the front end says it was removed. So the helper
 * catches them and does nothing: the front end, which got the same
 * signal, closes its socket, and the end of file is what makes the helper
 * stop the step, remove the release and exit. Caught, not ignored: execve
 * resets caught signals to their default, so the build step and every
 * program the helper runs get them as usual. With SA_RESTART, except for
 * poll and sleeps, which every caller retries or bounds.
 */
int interrupt_defer(void);

#endif
