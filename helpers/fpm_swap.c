/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: one php-fpm master per release, switched by renaming the
 * live link (docs/POOLSWAP.md; the contracts: the rows of FPM_SLOTS,
 * FPM_SLOT_START, FPM_SLOT_RETIRE and FPM_LIVE in src/common/proto.h).
 * The masters are systemd units, started and stopped through the unitctl
 * process (helpers/unitctl.c); the helper only reads, checks and pins
 * them, and never signals one itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fpm_slot.h"
#include "fpm_swap.h"
#include "helper.h"
#include "sockdiag.h"
#include "unitctl.h"
#include "util.h"

#define WARM_SINCE "warm-since"


void views_close(struct slot_view (*v)[FPM_SLOT_VIEWS])
{
	for (int i = 0; i < FPM_SLOT_COUNT; i++)
		swap_pin_close(&(*v)[i].pin);
}

int slot_refuse(struct proto_msg *rep, int r, const char *fmt, ...)
{
	char why[PROTO_TEXT_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	reply_fail(rep, r < 0 ? r : -EPERM, ERR_FPM_SLOT, why);
	return 1;
}

/* Seconds since the slot stopped being live, from its warm-since file. */
static uint64_t slot_warm_age(struct helper *h, char slot)
{
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	unsigned long long t;
	char why[300], buf[32];
	ssize_t n;

	dir = swap_slot_dir(h, slot, false, why, sizeof(why));
	fd = dir < 0 ? -EBADF : openat(dir, WARM_SINCE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_uint(buf, 0, UINT64_MAX, &t) < 0 || (time_t)t > time(NULL))
		return 0;
	return (uint64_t)(time(NULL) - (time_t)t);
}

/* One slot: its unit, its master (pinned), its memory. 0, or -errno when
 * systemctl could not be asked (why). */
static int slot_view(struct helper *h, char slot, char live, struct slot_view *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->slot = slot;
	v->pin = (struct fpm_swap_pin)FPM_SWAP_PIN_INIT;
	swap_slot_release(h, slot, v->id, sizeof(v->id));
	r = swap_unit_show(h, slot, &v->show, v->why, sizeof(v->why));
	if (r < 0)
		return r;
	if (strcmp(v->show.active, "failed") == 0) {
		v->state = FPM_SLOT_FAILED;
		snprintf(v->why, sizeof(v->why), "its unit failed");
		return 0;
	}
	if (v->show.main_pid == 0)
		return 0;   /* FPM_SLOT_STOPPED */
	/* A master cutover cannot trust is reported, never signalled. */
	if (swap_pin_master(h, slot, v->show.main_pid, &v->pin, v->why, sizeof(v->why)) < 0) {
		v->state = FPM_SLOT_FAILED;
		return 0;
	}
	/* Retired with a request still in flight, or stopped by someone
	 * else: it serves only what it accepted. */
	if (strcmp(v->show.active, "deactivating") == 0)
		v->state = FPM_SLOT_STOPPING;
	else
		v->state = live == slot ? FPM_SLOT_LIVE : FPM_SLOT_WARM;
	v->pss_kb = swap_pss_kb(v->pin.pid);
	if (v->state == FPM_SLOT_WARM)
		v->warm_s = slot_warm_age(h, slot);
	return 0;
}

/* Both slots and the live one. 0, or -errno with why. */
int slot_views(struct helper *h, struct slot_view (*v)[FPM_SLOT_VIEWS], char *ret_live, char *why, size_t n)
{
	int r = swap_dirs_open(h, why, n);

	if (r < 0)
		return r;
	r = swap_live_read(h, ret_live);
	if (r < 0)
		return snprintf(why, n, "cannot read the live link %s: %s", h->cfg.fpm.live_socket, strerror(-r)), r;
	for (int i = 0; i < FPM_SLOT_COUNT; i++) {
		r = slot_view(h, (char)('a' + i), *ret_live, &(*v)[i]);
		if (r < 0) {
			snprintf(why, n, "%s", (*v)[i].why);
			views_close(v);
			return r;
		}
	}
	return 0;
}

static int swap_refuse_unconfigured(struct helper *h, struct proto_msg *rep)
{
	return slot_refuse(rep, -EINVAL, "[fpm] reload = swap is not configured for %s", h->cfg.app);
}

int op_fpm_slots(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct slot_view v[FPM_SLOT_VIEWS];
	char live = '\0', why[600];
	const char *live_id = "";
	int r;

	if (!swap_enabled(h) || h->swap.unitctl < 0)
		return swap_refuse_unconfigured(h, rep), 0;
	r = slot_views(h, &v, &live, why, sizeof(why));
	if (r < 0)
		return slot_refuse(rep, r, "%s", why), 0;
	for (int i = 0; i < FPM_SLOT_COUNT && r == 0; i++) {
		struct proto_msg e;

		proto_init(&e, OP_ENTRY);
		e.text[0] = v[i].slot;
		str_copy(e.id, sizeof(e.id), v[i].id);
		e.arg[0] = (uint64_t)(v[i].pin.slot ? v[i].pin.pid : 0);
		e.arg[1] = v[i].state;
		e.arg[2] = v[i].pss_kb;
		e.arg[3] = v[i].warm_s;
		if (v[i].slot == live)
			live_id = v[i].id;
		r = helper_send(h, &e, -1) < 0 ? -EPIPE : 0;
	}
	if (r == 0) {
		reply_init(rep, 0, live ? "%c" : NULL, live);
		str_copy(rep->id, sizeof(rep->id), live_id);
	}
	views_close(&v);
	return r;
}


/* ---- fpm-slot-retire ------------------------------------------------- */

/* After the rename nothing reaches the old socket by name, so its accept
 * queue only shrinks: wait (at most [fpm] timeout) until it is empty, so
 * that the stop's SIGQUIT closes no socket with connections in it (each
 * would be a 502). 0 when empty (or gone), else the connections left. */
static uint32_t retire_wait_queue(struct helper *h, const struct fpm_swap_pin *p, uint64_t *ret_us)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)h->cfg.fpm.timeout * 1000000000ull;
	uint32_t q = 0;

	for (;;) {
		int r = sockdiag_unix_queue(p->sock_ino, &q);

		if (r == -ENOENT)
			q = 0;   /* the socket is gone: nothing can wait in it */
		else if (r < 0)
			q = UINT32_MAX;
		if (q == 0 || now_ns() > deadline)
			break;
		usleep(2000);
	}
	*ret_us = (now_ns() - t0) / 1000;
	return q;
}

/* Kept warm: when it stopped being live, for fpm-start's trim. */
static int retire_mark_warm(struct helper *h, char slot)
{
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	char why[300], buf[32];
	int r;

	dir = swap_slot_dir(h, slot, false, why, sizeof(why));
	if (dir < 0)
		return dir;
	(void)unlinkat(dir, WARM_SINCE, 0);
	fd = openat(dir, WARM_SINCE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%lld\n", (long long)time(NULL));
	r = fchmod(fd, 0644) < 0 ? -errno : write_all(fd, buf, strlen(buf));
	return r;
}

/* A running, trusted slot that is not live: queue, then stop or keep. */
static int retire_warm(struct helper *h, const struct slot_view *v, bool stop_now, struct proto_msg *rep)
{
	char why[600];
	uint64_t us = 0;
	uint32_t left = retire_wait_queue(h, &v->pin, &us);
	int r = 0;

	reply_init(rep, 0, NULL);
	rep->arg[0] = us;
	if (left) {
		/* Someone keeps it busy (a kept-alive upstream, or the deploy
		 * user connecting to it): it is left running, marked warm so
		 * that fpm-start's trim stops it later. The site is not
		 * affected: the live link names the other slot. */
		rep->arg[2] = left == UINT32_MAX ? 0 : left;
		(void)retire_mark_warm(h, v->slot);
		return 0;
	}
	if (stop_now || h->cfg.fpm.keep_warm == 0) {
		r = swap_unit(h, UNITCTL_STOP_NOWAIT, v->slot, why, sizeof(why));
		rep->arg[1] = r == 0;
	} else
		r = retire_mark_warm(h, v->slot);
	if (r < 0)
		return slot_refuse(rep, r, "cannot retire slot %c: %s", v->slot, r == -EIO ? why : strerror(-r)), 0;
	return 0;
}

int op_fpm_slot_retire(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct slot_view v = { .pin = FPM_SWAP_PIN_INIT };
	char slot = req->text[0], live = '\0', why[600];
	int r;

	if (!fpm_slot_valid(slot) || req->text[1] || req->arg[0] > 1)
		return -EPROTO;
	if (!swap_enabled(h) || h->swap.unitctl < 0)
		return swap_refuse_unconfigured(h, rep), 0;
	r = swap_dirs_open(h, why, sizeof(why));
	/* Read again right before: the live slot is never retired. */
	if (r == 0 && (r = swap_live_read(h, &live)) < 0)
		snprintf(why, sizeof(why), "cannot read the live link: %s", strerror(-r));
	if (r == 0 && live == slot)
		return slot_refuse(rep, -EBUSY, "slot %s:%c is live; the live slot is never retired", h->cfg.app, slot), 0;
	if (r == 0)
		r = slot_view(h, slot, live, &v);
	if (r < 0)
		return slot_refuse(rep, r, "%s", r == -EIO ? v.why : why), 0;
	if (v.state == FPM_SLOT_WARM)
		r = retire_warm(h, &v, req->arg[0] == 1, rep);
	else {
		/* Stopped, or a unit that failed or runs a master cutover does
		 * not trust: only systemd stops it. */
		if (v.state == FPM_SLOT_FAILED && (r = swap_unit(h, UNITCTL_STOP_NOWAIT, slot, why, sizeof(why))) == 0 &&
		    strcmp(v.show.active, "failed") == 0)
			r = swap_unit(h, UNITCTL_RESET_FAILED, slot, why, sizeof(why));
		if (r < 0)
			slot_refuse(rep, r, "cannot retire slot %c: %s", slot, why);
		else
			reply_init(rep, 0, NULL), rep->arg[1] = 1;
		r = 0;
	}
	if (rep->status == 0 && rep->arg[1] && h->swap.target.slot == slot)
		h->swap.started = false;   /* already stopped: nothing left for the end of the run */
	/* A slot stopped in this run is never made live by it: its master may
	 * still hold its socket for a moment (it finishes what it accepted),
	 * and a switch to it would pass the pin check and leave the site on a
	 * dying pool (review 14, F2). */
	if (rep->status == 0 && rep->arg[1]) {
		if (h->swap.target.slot == slot)
			swap_pin_close(&h->swap.target);
		if (h->swap.prev.slot == slot)
			swap_pin_close(&h->swap.prev);
	}
	swap_pin_close(&v.pin);
	return r;
}

/* ---- fpm-live, and the switch ---------------------------------------- */

int op_fpm_live(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1] = "", live = '\0';
	uint64_t ns = 0;
	int r;

	if (!swap_enabled(h) || h->swap.unitctl < 0)
		return swap_refuse_unconfigured(h, rep), 0;
	r = current_read(&h->l, cur, sizeof(cur));
	if (!h->swap.target.slot || r < 0 || strcmp(cur, h->swap.target.id) != 0)
		return -EPROTO;   /* fpm-slot-start ran for the current release first */
	if (!swap_pin_alive(&h->swap.target))
		return slot_refuse(rep, -ESRCH, "the master of slot %s:%c exited; nothing changed", h->cfg.app,
				   h->swap.target.slot), 0;
	r = swap_live_read(h, &live);
	if (r == 0 && live != h->swap.target.slot)
		r = swap_live_set(h, h->swap.target.slot, &ns);
	if (r < 0)
		return slot_refuse(rep, r, "cannot rename the live link %s: %s", h->cfg.fpm.live_socket, strerror(-r)), 0;
	/* fpm-start retires nothing: the slot the link named may run again
	 * (its unit restarting a crashed master) as a pool nothing serves.
	 * Its keep_warm starts now, so that the trim stops it like any
	 * other; without the mark it was warm for 0 s for good. */
	if (live && live != h->swap.target.slot)
		(void)retire_mark_warm(h, live);
	h->swap.made_live = true;
	h->phase = PH_SWITCHED;
	reply_init(rep, 0, "%c", h->swap.target.slot);
	rep->arg[0] = ns;
	return 0;
}

/* The slot that is live now, pinned: where an automatic rollback goes. */
static void switch_record_prev(struct helper *h)
{
	struct slot_view v = { .pin = FPM_SWAP_PIN_INIT };
	char live = '\0';

	swap_pin_close(&h->swap.prev);
	if (swap_live_read(h, &live) < 0 || !live || live == h->swap.target.slot)
		return;
	if (slot_view(h, live, live, &v) == 0 && v.state == FPM_SLOT_LIVE) {
		h->swap.prev = v.pin;
		return;
	}
	swap_pin_close(&v.pin);
}

int swap_switch_check(struct helper *h, const char *id, bool back, struct proto_msg *rep)
{
	const struct fpm_swap_pin *p = back ? &h->swap.prev : &h->swap.target;
	struct unit_show show;
	char why[600];
	int r;

	if (!p->slot || strcmp(p->id, id) != 0)
		return slot_refuse(rep, -ENOENT, back ?
				   "release %s was not running in the slot that was live before the switch; nothing changed" :
				   "release %s does not run in a slot this run started or found (fpm-slot-start); nothing changed",
				   id);
	if (!swap_pin_alive(p))
		return slot_refuse(rep, -ESRCH, "the master of slot %s:%c (release %s) is gone or no longer the one "
				   "checked; nothing changed", h->cfg.app, p->slot, id);
	/* systemd's word that the unit runs and is not being stopped, right
	 * before the rename (a stopping master still holds its socket). */
	r = swap_unit_show(h, p->slot, &show, why, sizeof(why));
	if (r < 0 || strcmp(show.active, "active") != 0 || show.main_pid != p->pid)
		return slot_refuse(rep, -ESRCH, "the unit of slot %s:%c (release %s) is %s, not running its checked "
				   "master; nothing changed", h->cfg.app, p->slot, id, r < 0 ? why : show.active);
	if (!back)
		switch_record_prev(h);
	return 0;
}

int swap_switch_link(struct helper *h, const char *cur, bool back, struct proto_msg *rep)
{
	char slot = back ? h->swap.prev.slot : h->swap.target.slot;
	uint64_t a, b;
	int r = swap_live_set(h, slot, &a);

	if (r == 0) {
		if (!back)
			h->swap.made_live = true;
		return 0;
	}
	/* The site must not serve the new release from the old pool for
	 * good: current goes back to what it named. */
	if (cur[0] ? current_publish(&h->l, cur, &a, &b) < 0 : unlinkat(h->l.root_fd, "current", 0) < 0)
		return slot_refuse(rep, r, "cannot rename the live link %s: %s; current could not be put back",
				   h->cfg.fpm.live_socket, strerror(-r));
	return slot_refuse(rep, r, "cannot rename the live link %s: %s; current was put back, nothing changed",
			   h->cfg.fpm.live_socket, strerror(-r));
}

/* A pinned slot this run leaves running and not live, unmarked: marked
 * now, so that fpm-start's trim does not see it warm for 0 s for good. */
static void end_mark_one(struct helper *h, const struct fpm_swap_pin *p, char live)
{
	_cleanup_close_ int dir = -EBADF;
	char why[300];

	if (!p->slot || p->slot == live || !swap_pin_alive(p))
		return;
	dir = swap_slot_dir(h, p->slot, false, why, sizeof(why));
	if (dir >= 0 && faccessat(dir, WARM_SINCE, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		(void)retire_mark_warm(h, p->slot);
}

/* The front end left before it retired what the run's switch left (an
 * interrupt): the slot that was live before the switch, or, after an
 * automatic rollback, the one the switch had made live (review 14e). */
static void end_mark_left(struct helper *h)
{
	char live = '\0';

	if (!h->swap.made_live || swap_live_read(h, &live) < 0)
		return;
	end_mark_one(h, &h->swap.prev, live);
	end_mark_one(h, &h->swap.target, live);
}

void swap_end_run(struct helper *h)
{
	char why[600];

	/* Like a half-built release: a master this run started and never
	 * made live goes. */
	if (h->swap.started && !h->swap.made_live && h->swap.target.slot && h->swap.unitctl >= 0)
		(void)swap_unit(h, UNITCTL_STOP, h->swap.target.slot, why, sizeof(why));
	end_mark_left(h);
	swap_pin_close(&h->swap.target);
	swap_pin_close(&h->swap.prev);
	closep(&h->swap.dir_fd);
	closep(&h->swap.link_dir_fd);
	h->swap.dir_fd = h->swap.link_dir_fd = -EBADF;
	if (h->swap.unitctl >= 0) {
		closep(&h->swap.unitctl);   /* end of file: unitctl exits */
		(void)waitpid(h->swap.unitctl_pid, NULL, 0);
	}
	h->swap.unitctl = -EBADF;
}

int swap_request_target(struct helper *h, char *sock, size_t socklen, char *id, size_t idlen)
{
	if (!swap_enabled(h) || !h->swap.target.slot || !swap_pin_alive(&h->swap.target))
		return -ESRCH;
	if (str_copy(id, idlen, h->swap.target.id) < 0)
		return -ENAMETOOLONG;
	return fpm_slot_path(sock, socklen, h->cfg.app, h->swap.target.slot, FPM_SLOT_SOCK);
}
