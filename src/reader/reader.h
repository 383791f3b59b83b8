/* SPDX-License-Identifier: MIT */
/*
 * The source reader: a process of its own, forked by the launcher before
 * it drops, with the invoking user's credentials (SUDO_UID, SUDO_GID and
 * that user's groups; root's own run keeps only CAP_DAC_READ_SEARCH), no
 * other capability, NoNewPrivs and the unprivileged seccomp filter without
 * exec. It answers one request of the front end: open --from.
 */
#ifndef CUTOVER_READER_H
#define CUTOVER_READER_H

/* Serves one request on sock: opens from (--from, fixed by the launcher
 * at fork; a request naming anything else is refused), relative to
 * cwd_fd. 0, or -errno when the socket failed. */
int reader_serve(int sock, int cwd_fd, const char *from);

#endif
