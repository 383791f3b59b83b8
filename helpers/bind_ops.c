/* SPDX-License-Identifier: MIT */
/*
 * mode = bind, the helper's side: publishing a release by a mount swap, and
 * repairing live to match the record (helpers/bind.c does the mount work).
 */
#include <stdio.h>

#include "bind.h"
#include "fpm.h"
#include "release.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* ---- mode = bind ---------------------------------------------------- */

/* Makes PHP-FPM's mount namespace show id at live too, if [fpm] names a
 * running, genuine master. Not running (at boot) or not trusted: nothing
 * to do here; the reload, which must find it, says why. */
static int bind_sync_fpm(struct helper *h, const char *id, struct bind_actions *a, char *err, size_t errlen)
{
	_cleanup_(fpm_master_close) struct fpm_master m = FPM_MASTER_INIT;
	char why[600];

	if (!h->cfg.fpm.enabled || !h->cfg.fpm.pid_file[0])
		return 0;
	if (fpm_master_open(&h->cfg.fpm, &m, why, sizeof(why)) < 0)
		return 0;
	return bind_fpm_sync(&h->l, &h->cfg, &m, id, a, err, errlen);
}

/* Converges live in our namespace to id, and checks the result. */
static int bind_here(struct helper *h, const char *id, struct bind_actions *a, char *err, size_t errlen)
{
	_cleanup_close_ int tree = -EBADF;
	struct live_stack s;
	char why[300];
	int r;

	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the mount table: %s", strerror(-r));
		return r;
	}
	if (bind_stack_check(&s, id, why, sizeof(why)) == 0)
		return 0;
	tree = bind_tree_make(&h->l, &h->cfg, id, err, errlen);
	if (tree < 0)
		return tree;
	r = bind_converge(&h->l, &h->cfg, &s, id, tree, a, err, errlen);
	if (r < 0)
		return r;
	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r == 0)
		r = bind_stack_check(&s, id, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "after mounting release %s at %s: %s", id, h->cfg.live, r == -EUCLEAN ? why : strerror(-r));
	return r;
}

/*
 * Brings live, here and in PHP-FPM's namespace, to the release recorded in
 * ROOT/current: after a crash between the steps of a publish (see
 * bind_publish), at boot (cutover mount), after someone unmounted it. Says
 * in note (a successful REPLY: a NOTE_ code, the current release in text,
 * what was done in arg[]) what it did. Nothing recorded, or the record
 * unusable: live is left as it is (a switch replaces both).
 */
int bind_repair(struct helper *h, struct proto_msg *note, char *err, size_t errlen)
{
	char cur[RELEASE_ID_MAX + 1] = "";
	struct bind_actions a = { 0 };
	struct release_info ri;
	int r;

	reply_init(note, 0, NULL);
	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0 || !cur[0]) {
		note->error = r < 0 ? ERR_NOTE_CURRENT_BAD : ERR_NOTE_NOTHING_DEPLOYED;
		return 0;
	}
	str_copy(note->text, sizeof(note->text), cur);
	if (state_read(&h->l, cur, &ri) < 0 || ri.state != RELEASE_FROZEN) {
		note->error = ERR_NOTE_NOT_FROZEN;
		return 0;
	}
	r = bind_here(h, cur, &a, err, errlen);
	if (r == 0)
		r = bind_sync_fpm(h, cur, &a, err, errlen);
	if (r < 0)
		return r;
	h->repair = a;
	note->error = a.unstacked || a.attached || a.entered ? ERR_NOTE_REPAIRED : ERR_NOTE_SERVES;
	note->arg[0] = a.unstacked;
	note->arg[1] = a.attached;
	note->arg[2] = a.entered;
	return 0;
}

/*
 * mode = bind. The record first, then the mount: ROOT/current names the
 * new release (rename, fsync) before live shows it, and the repair at the
 * start of every locked run (and cutover mount) makes live follow the
 * record. A crash after the record leaves live on the old release, or on
 * both stacked (the new one beneath the old), and the next run finishes
 * the swap; at every point live shows the old tree or the new one. The
 * tree is made before the record, so that most failures change nothing.
 * Returns 1 when published; 0 or -errno with the error in rep.
 */
int bind_publish(struct helper *h, const char *id, const char *cur, uint64_t *ret_visible_ns,
			uint64_t *ret_total_ns, char *partial, size_t partial_len, struct proto_msg *rep)
{
	_cleanup_close_ int tree = -EBADF;
	struct bind_actions a = { 0 };
	struct live_stack s;
	uint64_t t0 = now_ns(), vis, dur;
	char err[700], why[300];
	int r;

	tree = bind_tree_make(&h->l, &h->cfg, id, err, sizeof(err));
	if (tree < 0) {
		reply_fail(rep, tree, ERR_PUBLISH, err);
		return 0;
	}
	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r < 0)
		return r;
	r = current_publish(&h->l, id, &vis, &dur);
	if (r < 0)
		return r;
	r = bind_converge(&h->l, &h->cfg, &s, id, tree, &a, err, sizeof(err));
	if (r < 0 && !a.attached) {
		/* Nothing became visible: the record goes back as it was. */
		if (cur[0])
			(void)current_publish(&h->l, cur, &vis, &dur);
		else
			(void)unlinkat(h->l.root_fd, "current", 0);
		reply_fail(rep, r, ERR_PUBLISH, err);
		return 0;
	}
	if (r == 0) {
		r = bind_stack_read(&h->l, &h->cfg, 0, &s);
		if (r == 0)
			r = bind_stack_check(&s, id, why, sizeof(why));
		if (r < 0)
			snprintf(err, sizeof(err), "after the swap, %s: %s", h->cfg.live, r == -EUCLEAN ? why : strerror(-r));
	}
	if (r == 0)
		r = bind_sync_fpm(h, id, &a, err, sizeof(err));
	h->fpm_entered = a.entered;
	*ret_visible_ns = a.visible_ns;
	*ret_total_ns = now_ns() - t0;
	if (r < 0)
		/* Recorded and at least partly live: not "unchanged". */
		snprintf(partial, partial_len, "%s", err);
	return 1;
}


/* cutover mount: live as the record says (at boot, before php-fpm
 * starts; after a crash). The lock already made ROOT a shared mount. */
int op_mount(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char err[700], cur[RELEASE_ID_MAX + 1] = "";
	int r;

	if (h->cfg.mode != PUBLISH_BIND)
		return -EPROTO;
	h->phase = PH_DONE;
	r = bind_repair(h, rep, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_REPAIR, err);
		return 0;
	}
	if (current_read(&h->l, cur, sizeof(cur)) == 0)
		str_copy(rep->id, sizeof(rep->id), cur);
	rep->arg[0] = h->repair.unstacked;
	rep->arg[1] = h->repair.attached;
	rep->arg[2] = h->repair.entered;
	return 0;
}
