/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: FPM_SLOT_START. Finds the slot that runs the release, or
 * starts one in the slot the live link does not name: memory check,
 * generated php-fpm.conf, php-fpm -tt of it and the checks of its dump,
 * systemctl start, the master pinned, one FastCGI request answered.
 * Whatever fails after the start stops the slot again: the live site is
 * never touched here.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi_request.h"
#include "fpm.h"
#include "fpm_slot.h"
#include "fpm_slot_conf.h"
#include "fpm_swap.h"
#include "helper.h"
#include "unitctl.h"
#include "util.h"

/* TimeoutStopSec of dist/cutover-fpm@.service. */
#define FPM_SLOT_STOP_SECONDS 90u
#define DUMP_MAX (256 * 1024)



/* The release the slot is for, checked as switch checks its target. 0,
 * 1 refused (rep), or -EPROTO. */
static int start_release(struct helper *h, const struct proto_msg *req, char *id, size_t n, struct proto_msg *rep)
{
	struct release_info ri;
	char cur[RELEASE_ID_MAX + 1] = "";
	int r;

	if (h->verb == PV_DEPLOY)
		return h->id[0] && strcmp(req->id, h->id) == 0 ? str_copy(id, n, h->id) : -EPROTO;
	if ((h->verb == PV_SWITCH && !req->id[0]) || (h->verb == PV_FPM_START && req->id[0]) ||
	    (req->id[0] && !release_id_valid(req->id)))
		return -EPROTO;
	if (req->id[0])
		return str_copy(id, n, req->id) < 0 ? -EPROTO : release_check_frozen(h, id, &ri, rep);
	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0 || !cur[0]) {
		reply_fail(rep, r < 0 ? r : -ENOENT, ERR_NO_CURRENT, NULL);
		return 1;
	}
	if (h->verb == PV_FPM_START)
		str_copy(id, n, cur);
	else if ((r = rollback_target(&h->l, cur, id, n)) < 0)
		return r;
	else if (!id[0]) {
		reply_fail(rep, -ENOENT, ERR_NO_PREVIOUS, NULL);
		str_copy(rep->id, sizeof(rep->id), cur);
		return 1;
	}
	return release_check_frozen(h, id, &ri, rep);
}

static uint64_t mem_available_kb(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	return kb;
}

/* A second pool needs about the live one's Pss and a quarter: refused
 * when the machine, or [fpm] max_memory, does not have it. 0, or 1
 * refused (rep). Nothing known without a live slot: no check. */
static int start_memory(struct helper *h, const struct slot_view *live, struct proto_msg *rep, uint64_t *ret_total)
{
	uint64_t live_kb = live ? live->pss_kb : 0, need = live_kb + live_kb / 4;
	uint64_t avail, bound = h->cfg.fpm.max_memory / 1024;

	*ret_total = live_kb + need;
	if (!live_kb)
		return 0;
	avail = mem_available_kb();
	if (avail < need || (bound && live_kb + need > bound)) {
		bool by_bound = avail >= need;

		reply_fail(rep, -ENOMEM, ERR_FPM_MEMORY, NULL);
		rep->arg[0] = need;
		rep->arg[1] = by_bound ? (bound > live_kb ? bound - live_kb : 0) : avail;
		rep->arg[2] = by_bound;
		return 1;
	}
	return 0;
}

/* A file of the slot directory, replaced whole by rename. */
static int slot_write_file(int dir, const char *name, const char *text, mode_t mode)
{
	_cleanup_close_ int fd = -EBADF;
	char tmp[64];
	int r;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (unlinkat(dir, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, mode) < 0 ? -errno : write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dir, tmp, dir, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dir, tmp, 0);
	return r;
}

/* The template's one pool, read through the trusted-path check. */
static int start_template(struct helper *h, char *pool, size_t n, unsigned *ret_listen, char *why, size_t wn)
{
	_cleanup_free_ char *text = NULL;
	const char *forbidden;
	size_t len;
	int r;

	r = fpm_slot_template_read(h->cfg.fpm.config, &text, &len, why, wn);
	if (r < 0)
		return r;
	forbidden = fpm_slot_template_forbidden(text, len);
	if (forbidden)
		return snprintf(why, wn, "%s holds %s: a slot's pool file may not (an included file is not checked as "
				"this one is; prefix and chroot move every path); put its settings in the file itself",
				h->cfg.fpm.config, forbidden), -EPERM;
	r = fpm_slot_template_pool(text, pool, n, ret_listen);
	if (r < 0)
		snprintf(why, wn, "%s must define exactly one pool ([name] header, name of letters, digits, '.', '_', '-')%s",
			 h->cfg.fpm.config, r == -ENOTUNIQ ? ": it defines several" : "");
	return r;
}

/* [fpm] group, or the primary group of [fpm] user. */
static int start_group(struct helper *h, char *group, size_t n, char *why, size_t wn)
{
	struct passwd *pw;
	struct group *gr;

	if (h->cfg.fpm.group[0])
		return str_copy(group, n, h->cfg.fpm.group);
	pw = getpwnam(h->cfg.fpm.user);
	gr = pw ? getgrgid(pw->pw_gid) : NULL;
	if (!gr)
		return snprintf(why, wn, "[fpm] user %s or its primary group does not exist", h->cfg.fpm.user), -ENOENT;
	return str_copy(group, n, gr->gr_name);
}

/* The slot directory's php-fpm.conf and release files. */
/* Writes the slot's php-fpm.conf (test: the variant php-fpm -tt reads,
 * logging to a file of the slot) and its release file. */
static int start_write_conf(struct helper *h, char slot, const char *id, const char *group, bool test,
			    char *why, size_t wn)
{
	_cleanup_close_ int dir = -EBADF;
	char pool[FPM_POOL_NAME_MAX + 1], conf[8192], rel[RELEASE_ID_MAX + 2];
	struct fpm_slot_conf c = { .app = h->cfg.app, .slot = slot, .id = id, .template_path = h->cfg.fpm.config,
				   .pool = pool, .user = h->cfg.fpm.user, .group = group, .root = h->cfg.root,
				   .test = test };
	int r;

	r = start_template(h, pool, sizeof(pool), &c.template_listen, why, wn);
	if (r < 0)
		return r;
	dir = swap_slot_dir(h, slot, true, why, wn);
	if (dir < 0)
		return dir;
	r = fpm_slot_conf_render(&c, conf, sizeof(conf));
	if (r < 0)
		return snprintf(why, wn, "cannot generate the configuration of slot %c: %s", slot, strerror(-r)), r;
	snprintf(rel, sizeof(rel), "%s\n", id);
	(void)unlinkat(dir, "warm-since", 0);
	(void)unlinkat(dir, FPM_SLOT_TEST_LOG, 0);
	r = slot_write_file(dir, FPM_SLOT_CONF, conf, 0600);
	if (r == 0)
		r = slot_write_file(dir, FPM_SLOT_RELEASE, rel, 0644);
	if (r < 0)
		snprintf(why, wn, "cannot write the configuration of slot %c: %s", slot, strerror(-r));
	return r;
}

/* The pool's access.log and slowlog are opened by the root master,
 * following symlinks, with O_CREAT|O_APPEND: only root may be able to
 * write their directories (a www-data shared/logs would let PHP code
 * point them at any file). 0, or 1 refused. */
static int start_test_logs(const struct fpm_dump_expect *e, struct proto_msg *rep)
{
	const char *const logs[] = { e->access_log, e->slowlog };
	char dir[PATH_MAX], err[600];
	struct stat st;

	for (size_t i = 0; i < ELEMENTSOF(logs); i++) {
		_cleanup_close_ int fd = -EBADF;
		char *slash;

		if (!logs[i][0])
			continue;
		if (str_copy(dir, sizeof(dir), logs[i]) < 0)
			return slot_refuse(rep, -ENAMETOOLONG, "log path too long: %.200s", logs[i]);
		slash = strrchr(dir, '/');
		*(slash == dir ? slash + 1 : slash) = '\0';
		fd = path_open_trusted(dir, true, err, sizeof(err));
		/* Not even a sticky one (/tmp): there anyone may create the
		 * name first, as a symlink (review 14b). */
		if (fd >= 0 && (fstat(fd, &st) < 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
			snprintf(err, sizeof(err), "%.400s is writable by group or others", dir);
			closep(&fd);
			fd = -EPERM;
		}
		if (fd < 0)
			return slot_refuse(rep, fd, "the pool's %s %s is in a directory others can write (%s): "
					   "the root master opens it; use a root-owned directory such as /var/log",
					   i == 0 ? "access.log" : "slowlog", logs[i], err);
	}
	return 0;
}

/* php-fpm -tt of the generated file, then the rules of its dump. 0, 1
 * refused (rep; php-fpm's output forwarded when the test failed), or
 * -EPIPE. */
static int start_test(struct helper *h, char slot, const char *group, struct proto_msg *rep)
{
	struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF, exe = -EBADF;
	_cleanup_free_ char *dump = malloc(DUMP_MAX + 1);
	char bin[PATH_MAX], pid[PATH_MAX], sock[PATH_MAX], why[700], err[600];
	struct fpm_dump_expect e = { .pid = pid, .listen = sock, .user = h->cfg.fpm.user, .group = group };
	unsigned pct = 0;
	ssize_t n;
	int r;

	if (!dump)
		return -ENOMEM;
	r = fpm_slot_binary(&h->cfg.fpm, bin, sizeof(bin));
	if (r < 0)
		return slot_refuse(rep, r, "no php-fpm binary (set [fpm] binary): %s", strerror(-r));
	exe = path_open_trusted(bin, false, err, sizeof(err));
	if (exe < 0)
		return slot_refuse(rep, exe, "%s", err);
	if (fpm_slot_path(m.config, sizeof(m.config), h->cfg.app, slot, FPM_SLOT_CONF) < 0 ||
	    fpm_slot_path(pid, sizeof(pid), h->cfg.app, slot, FPM_SLOT_PID) < 0 ||
	    fpm_slot_path(sock, sizeof(sock), h->cfg.app, slot, FPM_SLOT_SOCK) < 0)
		return -EINVAL;
	memfd = memfd_create("php-fpm-test", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	m.exe_fd = exe;
	r = fpm_master_test(&m, memfd, 20);
	if (r != 0) {
		if (helper_forward_memfd(h, memfd) < 0)
			return -EPIPE;
		return fpm_test_failed(h, memfd, m.config, r, rep) == -EPIPE ? -EPIPE : 1;
	}
	n = pread(memfd, dump, DUMP_MAX, 0);
	dump[n > 0 ? n : 0] = '\0';
	r = fpm_slot_dump_check(dump, &e, &pct, why, sizeof(why));
	if (r < 0)
		return slot_refuse(rep, r, "php-fpm -tt of %s: %s", m.config, why);
	/* systemd ends a stop after TimeoutStopSec (dist/cutover-fpm@.service)
	 * whatever php-fpm would still wait for. */
	if (pct > FPM_SLOT_STOP_SECONDS)
		return slot_refuse(rep, -EINVAL, "process_control_timeout %us is longer than the unit's TimeoutStopSec "
				   "(%us): systemd would kill the requests php-fpm waits for; lower it", pct,
				   FPM_SLOT_STOP_SECONDS);
	return start_test_logs(&e, rep);
}

/* One FastCGI request over the slot's socket, answered: the pool accepts
 * and runs requests (any answer will do; the script does not exist). */
static int start_ping(struct helper *h, char slot, char *why, size_t wn)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	unsigned ms = h->cfg.fpm.timeout * 1000;
	struct pollfd pfd;
	char sock[PATH_MAX], c;
	int r;

	r = fpm_slot_path(sock, sizeof(sock), h->cfg.app, slot, FPM_SLOT_SOCK);
	if (r == 0)
		r = fcgi_cgi_params_new("/nonexistent-cutover-probe", "/probe.php", NULL, &p);
	if (r < 0)
		return r;
	fd = fcgi_connect_unix(sock, ms);
	r = fd < 0 ? fd : fcgi_send_request(fd, p->params, p->n_params, NULL, 0, ms);
	if (r == 0 && shutdown(fd, SHUT_WR) < 0)
		r = -errno;
	if (r == 0) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		r = poll(&pfd, 1, (int)ms);
		r = r > 0 && recv(fd, &c, 1, 0) == 1 ? 0 : r == 0 ? -ETIMEDOUT : -EIO;
	}
	if (r < 0)
		snprintf(why, wn, "the new master of slot %c did not answer a request on %.300s: %s", slot, sock, strerror(-r));
	return r;
}

/* systemctl start, then the master pinned and pinged. 0, or -errno with
 * why: the slot is stopped again. */
static int start_run(struct helper *h, char slot, char *why, size_t wn)
{
	struct unit_show show;
	struct fpm_swap_pin pin = FPM_SWAP_PIN_INIT;
	char ignore[300];
	int r;

	/* From here on, the end of the run stops it unless it goes live. */
	h->swap.started = true;
	h->swap.target.slot = slot;
	r = swap_unit(h, UNITCTL_START, slot, why, wn);
	if (r == 0)
		r = swap_unit_show(h, slot, &show, why, wn);
	if (r == 0 && (r = swap_pin_master(h, slot, show.main_pid, &pin, ignore, sizeof(ignore))) < 0)
		snprintf(why, wn, "the new master of slot %c is not one cutover can trust: %s", slot, ignore);
	if (r == 0)
		r = start_ping(h, slot, why, wn);
	if (r < 0) {
		swap_pin_close(&pin);
		(void)swap_unit(h, UNITCTL_STOP, slot, ignore, sizeof(ignore));
		h->swap.started = false;
		h->swap.target.slot = '\0';
		return r;
	}
	h->swap.target = pin;
	return 0;
}

/* A slot already runs the release: it becomes the target, nothing is
 * started. Only an active unit counts: the switch refuses any other. A
 * stopping one (retired with a request still in flight) still has its
 * master and its socket; start_clear waits for its stop, and the slot
 * starts again. 1 if found (reply in rep), else 0. */
static int start_found(struct helper *h, struct slot_view (*v)[FPM_SLOT_VIEWS], const char *id, struct proto_msg *rep)
{
	for (int i = 0; i < FPM_SLOT_VIEWS; i++) {
		struct slot_view *s = &(*v)[i];

		if ((s->state != FPM_SLOT_LIVE && s->state != FPM_SLOT_WARM) || strcmp(s->pin.id, id) != 0 ||
		    strcmp(s->show.active, "active") != 0)
			continue;
		h->swap.target = s->pin;
		s->pin = (struct fpm_swap_pin)FPM_SWAP_PIN_INIT;
		reply_init(rep, 0, "%c", s->slot);
		str_copy(rep->id, sizeof(rep->id), id);
		rep->arg[0] = (uint64_t)h->swap.target.pid;
		rep->arg[2] = 1;
		return 1;
	}
	return 0;
}

/* The slot the live link does not name; without a live one, a stopped
 * one first. Whatever runs there is not live: stopped (waiting), and a
 * failed unit reset. -EPIPE when the front end left meanwhile. */
static int start_clear(struct helper *h, struct slot_view (*v)[FPM_SLOT_VIEWS], char live, char *ret, char *why, size_t wn)
{
	struct slot_view *s;
	int r = 0;

	if (live)
		*ret = fpm_slot_other(live);
	else
		*ret = (*v)[0].state == FPM_SLOT_STOPPED || (*v)[1].state != FPM_SLOT_STOPPED ? 'a' : 'b';
	s = &(*v)[*ret - 'a'];
	if (s->state != FPM_SLOT_STOPPED || strcmp(s->show.active, "inactive") != 0)
		r = swap_unit(h, UNITCTL_STOP, *ret, why, wn);
	if (r == 0 && strcmp(s->show.active, "failed") == 0)
		r = swap_unit(h, UNITCTL_RESET_FAILED, *ret, why, wn);
	/* The stop may have waited for a long request: a caller interrupted
	 * meanwhile gets no pool started only to be stopped again. */
	if (r == 0 && helper_peer_gone(h))
		r = -EPIPE;
	return r;
}

int op_fpm_slot_start(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct slot_view v[FPM_SLOT_VIEWS];
	char id[RELEASE_ID_MAX + 1] = "", group[CONFIG_USER_MAX + 1], live = '\0', slot = '\0', why[800] = "";
	uint64_t t0 = now_ns(), total_kb = 0;
	int r;

	if (!swap_enabled(h) || h->swap.unitctl < 0)
		return slot_refuse(rep, -EINVAL, "[fpm] reload = swap is not configured for %s", h->cfg.app), 0;
	r = start_release(h, req, id, sizeof(id), rep);
	if (r != 0)
		return r < 0 ? r : 0;
	r = slot_views(h, &v, &live, why, sizeof(why));
	if (r < 0)
		return slot_refuse(rep, r, "%s", why), 0;
	if (start_found(h, &v, id, rep) ||
	    start_memory(h, live ? &v[live - 'a'] : NULL, rep, &total_kb) ||
	    (r = start_group(h, group, sizeof(group), why, sizeof(why))) < 0 ||
	    (r = start_clear(h, &v, live, &slot, why, sizeof(why))) < 0 ||
	    (r = start_write_conf(h, slot, id, group, true, why, sizeof(why))) < 0 ||
	    (r = start_test(h, slot, group, rep)) != 0 ||
	    (r = start_write_conf(h, slot, id, group, false, why, sizeof(why))) < 0 ||
	    (r = start_run(h, slot, why, sizeof(why))) < 0) {
		views_close(&v);
		if (r < 0 && r != -EPIPE && r != -ENOMEM)
			return slot_refuse(rep, r, "%s", why[0] ? why : strerror(-r)), 0;
		return r < 0 ? r : 0;
	}
	views_close(&v);
	str_copy(h->swap.target.id, sizeof(h->swap.target.id), id);
	reply_init(rep, 0, "%c", slot);
	str_copy(rep->id, sizeof(rep->id), id);
	rep->arg[0] = (uint64_t)h->swap.target.pid;
	rep->arg[1] = (now_ns() - t0) / 1000000;
	rep->arg[3] = total_kb;
	return 0;
}
