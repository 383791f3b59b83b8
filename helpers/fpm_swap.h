/* SPDX-License-Identifier: MIT */
/*
 * reload = swap (docs/POOLSWAP.md, /work/tools/SWAP_SPEC.md): the helper's
 * state per run and the pieces the ops in fpm_swap.c, the switch in
 * publish.c and the requests in fpm_ops.c share. fpm_swap_slot.c holds
 * the directory, the live link and the pinning of a slot's master.
 */
#ifndef CUTOVER_FPM_SWAP_H
#define CUTOVER_FPM_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "names.h"
#include "proto.h"
#include "unitctl.h"

/* A slot's master as the helper checked it: the process is pinned by
 * its pidfd, and the listening socket it holds by inode. */
struct fpm_swap_pin {
	char slot;                     /* '\0': none */
	char id[RELEASE_ID_MAX + 1];   /* the release the slot runs */
	pid_t pid;
	int pidfd;
	unsigned long sock_ino;        /* the inode of its fpm.sock */
};

struct fpm_swap {
	int unitctl;                   /* the unitctl process's socket (-EBADF: none) */
	pid_t unitctl_pid;
	int dir_fd;                    /* FPM_SWAP_DIR, trusted (-EBADF until needed) */
	int link_dir_fd;               /* the live link's directory, trusted */
	struct fpm_swap_pin target;    /* FPM_SLOT_START's slot (started or found) */
	bool started;                  /* ...and this run started its master */
	bool made_live;                /* the live link named the target in this run */
	struct fpm_swap_pin prev;      /* SWITCH: the slot that was live before */
};

#define FPM_SWAP_PIN_INIT { .slot = 0, .pidfd = -EBADF }
#define FPM_SWAP_INIT { .unitctl = -EBADF, .dir_fd = -EBADF, .link_dir_fd = -EBADF, \
	.target = FPM_SWAP_PIN_INIT, .prev = FPM_SWAP_PIN_INIT }

struct helper;

/* reload = swap configured? */
bool swap_enabled(const struct helper *h);

void swap_pin_close(struct fpm_swap_pin *p);
/* Is the pinned master still alive, not a zombie, and holding its socket? */
bool swap_pin_alive(const struct fpm_swap_pin *p);

/* fpm_swap_slot.c. Creates FPM_SWAP_DIR's chain (root 0755) if absent and
 * opens it and the live link's directory, both trusted. 0, or -errno with
 * why. */
int swap_dirs_open(struct helper *h, char *why, size_t n);
/* The slot the live link names ('\0' none). 0 or -errno. */
int swap_live_read(struct helper *h, char *ret_slot);
/* Points the live link at slot: a temporary symlink renamed over it,
 * then fsync of its directory. *ret_ns: symlink and rename. */
int swap_live_set(struct helper *h, char slot, uint64_t *ret_ns);
/* The slot directory (root 0711), created if absent, refused when it is
 * not root's. An O_DIRECTORY fd or -errno with why. */
int swap_slot_dir(struct helper *h, char slot, bool create, char *why, size_t n);
/* The release file of a slot ("" when absent or invalid). */
void swap_slot_release(struct helper *h, char slot, char *id, size_t n);
/* Pins the master pid of slot's unit (SWAP_SPEC.md "Pinning a master").
 * 0, or -errno with why. */
int swap_pin_master(struct helper *h, char slot, pid_t pid, struct fpm_swap_pin *ret, char *why, size_t n);
/* Pss in kB of the master and its children. */
uint64_t swap_pss_kb(pid_t master);
/* systemctl show of slot through unitctl. 0 or -errno with why. */
int swap_unit_show(struct helper *h, char slot, struct unit_show *ret, char *why, size_t n);
/* systemctl ACTION of slot; 0 when it exited 0, else -errno with why
 * (its first line of output). */
int swap_unit(struct helper *h, int action, char slot, char *why, size_t n);

/* publish.c's switch and rollback with reload = swap (fpm_swap.c). */
/* Before `current` is renamed: 0, or 1 refused (the reply is in rep). */
int swap_switch_check(struct helper *h, const char *id, bool back, struct proto_msg *rep);
/* After: renames the live link; on failure `current` goes back to cur
 * ("" none) and 1 is returned with the reply in rep. *visible_ns grows by
 * the link's rename. */
int swap_switch_link(struct helper *h, const char *cur, bool back, struct proto_msg *rep);

/* After the run: stops a slot this run started and never made live,
 * then ends the unitctl process. */
void swap_end_run(struct helper *h);

/* fpm_swap.c, shared with fpm_swap_start.c: what FPM_SLOTS reports of
 * one slot. */
#define FPM_SLOT_VIEWS 2
struct slot_view {
	char slot;
	enum fpm_slot_state state;
	char id[RELEASE_ID_MAX + 1];
	struct unit_show show;
	struct fpm_swap_pin pin;       /* LIVE and WARM */
	uint64_t pss_kb;
	uint64_t warm_s;
	char why[400];                 /* FAILED: why */
};
/* Both slots and the live one ('\0' none). 0, or -errno with why. */
int slot_views(struct helper *h, struct slot_view (*v)[FPM_SLOT_VIEWS], char *ret_live, char *why, size_t n);
void views_close(struct slot_view (*v)[FPM_SLOT_VIEWS]);
/* A failed REPLY ERR_FPM_SLOT with the helper's words; returns 1. */
int slot_refuse(struct proto_msg *rep, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* fpm_ops.c: the slot of FPM_REQUEST SLOT_PRECHECK and SLOT_WARM. */
int swap_request_target(struct helper *h, char *sock, size_t socklen, char *id, size_t idlen);

#endif
