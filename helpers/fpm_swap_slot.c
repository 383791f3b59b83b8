/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: the run-time directory, the live link and a slot's
 * master as the helper sees them (helpers/fpm_swap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "caps.h"
#include "config.h"
#include "fpm_listen.h"
#include "fpm_slot.h"
#include "fpm_swap.h"
#include "helper.h"
#include "unitctl.h"
#include "util.h"

bool swap_enabled(const struct helper *h)
{
	return h->cfg.fpm.enabled && h->cfg.fpm.reload == FPM_RELOAD_SWAP;
}

void swap_pin_close(struct fpm_swap_pin *p)
{
	closep(&p->pidfd);
	*p = (struct fpm_swap_pin)FPM_SWAP_PIN_INIT;
}

/* The live link's directory and name, split from [fpm] live_socket. */
static int link_split(const struct helper *h, char *dir, size_t n, const char **ret_base)
{
	const char *ls = h->cfg.fpm.live_socket, *slash = strrchr(ls, '/');

	if (!slash || !slash[1])
		return -EINVAL;
	if (slash == ls)
		return str_copy(dir, n, "/") < 0 ? -ENAMETOOLONG : (*ret_base = slash + 1, 0);
	if ((size_t)(slash - ls) >= n)
		return -ENAMETOOLONG;
	memcpy(dir, ls, (size_t)(slash - ls));
	dir[slash - ls] = '\0';
	*ret_base = slash + 1;
	return 0;
}

/* What the live link holds when it names slot: relative inside
 * FPM_SWAP_DIR, else the slot socket's absolute path. */
static int link_target(const struct helper *h, char slot, char *buf, size_t n)
{
	char dir[PATH_MAX], name[APP_NAME_MAX + 4];
	const char *base;
	int r = link_split(h, dir, sizeof(dir), &base);

	if (r < 0)
		return r;
	if (strcmp(dir, FPM_SWAP_DIR) != 0)
		return fpm_slot_path(buf, n, h->cfg.app, slot, FPM_SLOT_SOCK);
	r = fpm_slot_dir_name(name, sizeof(name), h->cfg.app, slot);
	return r < 0 ? r : str_printf(buf, n, "%s/" FPM_SLOT_SOCK, name);
}

int swap_dirs_open(struct helper *h, char *why, size_t n)
{
	char dir[PATH_MAX], err[600];
	const char *base;
	int fd, r;

	if (h->swap.dir_fd >= 0 && h->swap.link_dir_fd >= 0)
		return 0;
	/* /run is root's; the chain below it is created root 0755 (umask 022). */
	if ((mkdir("/run/cutover", 0755) < 0 && errno != EEXIST) || (mkdir(FPM_SWAP_DIR, 0755) < 0 && errno != EEXIST)) {
		r = -errno;
		snprintf(why, n, "cannot create %s: %s", FPM_SWAP_DIR, strerror(-r));
		return r;
	}
	fd = path_open_trusted(FPM_SWAP_DIR, true, err, sizeof(err));
	if (fd < 0)
		return snprintf(why, n, "%s", err), fd;
	h->swap.dir_fd = fd;
	r = link_split(h, dir, sizeof(dir), &base);
	if (r < 0)
		return snprintf(why, n, "[fpm] live_socket %s has no directory", h->cfg.fpm.live_socket), r;
	/* Whoever may write this directory could point the site anywhere:
	 * Debian's /run/php (www-data's) is refused. */
	fd = path_open_trusted(dir, true, err, sizeof(err));
	if (fd < 0)
		return snprintf(why, n, "the live link's directory is not trusted: %s", err), fd;
	h->swap.link_dir_fd = fd;
	return 0;
}

int swap_live_read(struct helper *h, char *ret_slot)
{
	char target[PATH_MAX], want[PATH_MAX], dir[PATH_MAX];
	const char *base;
	ssize_t len;
	int r = link_split(h, dir, sizeof(dir), &base);

	if (r < 0)
		return r;
	*ret_slot = '\0';
	len = readlinkat(h->swap.link_dir_fd, base, target, sizeof(target) - 1);
	if (len < 0)
		return errno == ENOENT || errno == EINVAL ? 0 : -errno;   /* none, or not a link */
	target[len] = '\0';
	for (char s = 'a'; s <= 'b'; s++)
		if (link_target(h, s, want, sizeof(want)) == 0 && strcmp(target, want) == 0)
			*ret_slot = s;
	return 0;
}

int swap_live_set(struct helper *h, char slot, uint64_t *ret_ns)
{
	char target[PATH_MAX], dir[PATH_MAX], tmp[NAME_MAX + 1], name[APP_NAME_MAX + 32];
	const char *base;
	uint64_t t0;
	int r = link_split(h, dir, sizeof(dir), &base);

	if (r == 0)
		r = link_target(h, slot, target, sizeof(target));
	if (r == 0)
		r = str_printf(tmp, sizeof(tmp), ".%.200s.cutover-new", base);
	if (r < 0)
		return r;
	t0 = now_ns();
	if (unlinkat(h->swap.link_dir_fd, tmp, 0) < 0 && errno != ENOENT)
		return -errno;
	if (symlinkat(target, h->swap.link_dir_fd, tmp) < 0)
		return -errno;
	/* rename(2): every connect(2) resolves the old slot or the new one. */
	if (renameat(h->swap.link_dir_fd, tmp, h->swap.link_dir_fd, base) < 0) {
		r = -errno;
		(void)unlinkat(h->swap.link_dir_fd, tmp, 0);
		return r;
	}
	*ret_ns = now_ns() - t0;
	(void)fsync(h->swap.link_dir_fd);
	/* Live again: no longer counted as warm. */
	if (fpm_slot_dir_name(name, sizeof(name), h->cfg.app, slot) == 0 &&
	    str_printf(name + strlen(name), sizeof(name) - strlen(name), "/warm-since") == 0)
		(void)unlinkat(h->swap.dir_fd, name, 0);
	return 0;
}

int swap_slot_dir(struct helper *h, char slot, bool create, char *why, size_t n)
{
	_cleanup_close_ int fd = -EBADF;
	char name[APP_NAME_MAX + 4];
	struct stat st;
	int r = fpm_slot_dir_name(name, sizeof(name), h->cfg.app, slot);

	if (r < 0)
		return r;
	if (create && mkdirat(h->swap.dir_fd, name, 0711) < 0 && errno != EEXIST)
		return r = -errno, snprintf(why, n, "cannot create %s/%s: %s", FPM_SWAP_DIR, name, strerror(-r)), r;
	fd = openat(h->swap.dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return r = -errno, snprintf(why, n, "cannot open %s/%s: %s", FPM_SWAP_DIR, name, strerror(-r)), r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return snprintf(why, n, "%s/%s is not root's alone (owner uid %u, mode %04o); remove it",
				FPM_SWAP_DIR, name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777)), -EPERM;
	if (create && (st.st_mode & 07777) != 0711 && fchmod(fd, 0711) < 0)
		return -errno;
	return TAKE_FD(fd);
}

void swap_slot_release(struct helper *h, char slot, char *id, size_t n)
{
	_cleanup_close_ int dir = -EBADF, fd = -EBADF;
	char why[300], buf[RELEASE_ID_MAX + 4];
	struct stat st;
	ssize_t len;

	id[0] = '\0';
	dir = swap_slot_dir(h, slot, false, why, sizeof(why));
	if (dir < 0)
		return;
	fd = openat(dir, FPM_SLOT_RELEASE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	if (len <= 0)
		return;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (release_id_valid(buf))
		(void)str_copy(id, n, buf);
}

/* /proc/PID/exe is the php-fpm binary cutover would start (same file). */
static int pin_check_exe(struct helper *h, pid_t pid, char *why, size_t n)
{
	_cleanup_close_ int bin = -EBADF;
	char path[PATH_MAX], proc[64], err[600];
	struct stat want, got;
	int r = fpm_slot_binary(&h->cfg.fpm, path, sizeof(path));

	if (r < 0)
		return snprintf(why, n, "no php-fpm binary: %s", strerror(-r)), r;
	bin = path_open_trusted(path, false, err, sizeof(err));
	if (bin < 0)
		return snprintf(why, n, "%s", err), bin;
	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	/* The master holds capabilities we dropped: its exe is shown only
	 * with CAP_SYS_PTRACE, effective for this one call. */
	(void)caps_raise(CAP_SYS_PTRACE);
	r = stat(proc, &got) < 0 ? -errno : 0;
	(void)caps_lower(CAP_SYS_PTRACE);
	if (r < 0 || fstat(bin, &want) < 0 || want.st_dev != got.st_dev || want.st_ino != got.st_ino)
		return snprintf(why, n, "pid %d does not run %s", (int)pid, path), -EPERM;
	return 0;
}

/* Its title names the slot's generated configuration. */
static int pin_check_title(struct helper *h, char slot, pid_t pid, char *why, size_t n)
{
	_cleanup_close_ int fd = -EBADF;
	char conf[PATH_MAX], want[PATH_MAX + 32], got[PATH_MAX + 32], proc[64];
	ssize_t len;
	int r = fpm_slot_path(conf, sizeof(conf), h->cfg.app, slot, FPM_SLOT_CONF);

	if (r < 0)
		return r;
	snprintf(want, sizeof(want), "php-fpm: master process (%s)", conf);
	snprintf(proc, sizeof(proc), "/proc/%d/cmdline", (int)pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
	if (len < 0)
		return snprintf(why, n, "cannot read the title of pid %d", (int)pid), -ESRCH;
	got[len] = '\0';
	if (strcmp(got, want) != 0)
		return snprintf(why, n, "pid %d is not the master of %s", (int)pid, conf), -EPERM;
	return 0;
}

/* It holds the listening socket at the slot's fpm.sock: its inode. */
static int pin_check_socket(struct helper *h, char slot, pid_t pid, unsigned long *ret, char *why, size_t n)
{
	unsigned long v[FPM_LISTEN_MAX];
	char sock[PATH_MAX];
	int k, r = fpm_slot_path(sock, sizeof(sock), h->cfg.app, slot, FPM_SLOT_SOCK);

	if (r < 0)
		return r;
	k = fpm_listen_inodes(sock, v, FPM_LISTEN_MAX);
	r = -ENOENT;
	(void)caps_raise(CAP_SYS_PTRACE);
	for (int i = 0; i < k && r < 0; i++)
		if (fpm_listen_held(pid, &v[i], 1) == 1)
			*ret = v[i], r = 0;
	(void)caps_lower(CAP_SYS_PTRACE);
	if (r < 0)
		snprintf(why, n, "pid %d does not hold the socket %s", (int)pid, sock);
	return r;
}

int swap_pin_master(struct helper *h, char slot, pid_t pid, struct fpm_swap_pin *ret, char *why, size_t n)
{
	struct fpm_swap_pin p = FPM_SWAP_PIN_INIT;
	int r;

	if (pid <= 1)
		return snprintf(why, n, "no master runs"), -ESRCH;
	/* Pinned first: what /proc says below is confirmed to be this
	 * process's by the liveness check at the end. */
	p.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p.pidfd < 0)
		return snprintf(why, n, "pid %d is not running", (int)pid), -ESRCH;
	p.pid = pid;
	p.slot = slot;
	r = pin_check_exe(h, pid, why, n);
	if (r == 0)
		r = pin_check_title(h, slot, pid, why, n);
	if (r == 0)
		r = pin_check_socket(h, slot, pid, &p.sock_ino, why, n);
	if (r == 0 && syscall(SYS_pidfd_send_signal, p.pidfd, 0, NULL, 0) < 0)
		r = -ESRCH, snprintf(why, n, "pid %d exited while being checked", (int)pid);
	if (r < 0) {
		swap_pin_close(&p);
		return r;
	}
	swap_slot_release(h, slot, p.id, sizeof(p.id));
	*ret = p;
	return 0;
}

bool swap_pin_alive(const struct fpm_swap_pin *p)
{
	char proc[64], buf[512], *s;
	_cleanup_close_ int fd = -EBADF;
	ssize_t len;
	int r;

	if (!p->slot || p->pidfd < 0 || syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) < 0)
		return false;
	snprintf(proc, sizeof(proc), "/proc/%d/stat", (int)p->pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ' || s[2] == 'Z' || s[2] == 'X')
		return false;
	(void)caps_raise(CAP_SYS_PTRACE);
	r = fpm_listen_held(p->pid, &p->sock_ino, 1);
	(void)caps_lower(CAP_SYS_PTRACE);
	return r == 1;
}

static uint64_t pss_one(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			break;
	return kb;
}

uint64_t swap_pss_kb(pid_t master)
{
	char path[80], buf[8192], *p, *end;
	_cleanup_close_ int fd = -EBADF;
	uint64_t kb;
	ssize_t len;

	/* Workers run as another user and the master holds capabilities we
	 * dropped: both need CAP_SYS_PTRACE for smaps_rollup. */
	(void)caps_raise(CAP_SYS_PTRACE);
	kb = pss_one(master);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)master, (int)master);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	for (p = buf; *p; p = end) {
		long child = strtol(p, &end, 10);

		if (end == p)
			break;
		if (child > 1)
			kb += pss_one((pid_t)child);
	}
	(void)caps_lower(CAP_SYS_PTRACE);
	return kb;
}

int swap_unit(struct helper *h, int action, char slot, char *why, size_t n)
{
	_cleanup_free_ struct unitctl_rep *rep = malloc(sizeof(*rep));
	char unit[APP_NAME_MAX + 32];
	int r;

	if (!rep)
		return -ENOMEM;
	r = unitctl_call(h->swap.unitctl, (enum unitctl_action)action, slot, rep);
	(void)fpm_slot_unit(unit, sizeof(unit), h->cfg.app, slot);
	if (r < 0)
		return snprintf(why, n, "cannot run systemctl for %s: %s", unit, strerror(-r)), r;
	if (rep->status != 0) {
		rep->out[strcspn(rep->out, "\n")] = '\0';
		snprintf(why, n, "systemctl for %s %s%s%.300s", unit,
			 rep->status < 0 ? strerror(-rep->status) : "failed",
			 rep->out[0] ? ": " : "", rep->out);
		return rep->status < 0 ? rep->status : -EIO;
	}
	return 0;
}

int swap_unit_show(struct helper *h, char slot, struct unit_show *ret, char *why, size_t n)
{
	_cleanup_free_ struct unitctl_rep *rep = malloc(sizeof(*rep));
	int r;

	if (!rep)
		return -ENOMEM;
	r = unitctl_call(h->swap.unitctl, UNITCTL_SHOW, slot, rep);
	if (r == 0 && rep->status != 0)
		r = rep->status < 0 ? rep->status : -EIO;
	if (r == 0 && unitctl_show_parse(rep->out, ret) < 0)
		r = -EBADMSG;
	if (r < 0)
		snprintf(why, n, "systemctl show of slot %c: %s", slot, strerror(-r));
	return r;
}
