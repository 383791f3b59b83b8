/* SPDX-License-Identifier: MIT */
/*
 * cutover-helper: the only process of a cutover run that keeps privileges.
 *
 * It is started by cutover (as root, before the front end drops its
 * privileges) as `cutover-helper VERB APP WHO [CONFIG]` with a
 * SOCK_SEQPACKET socket on fd 3. It loads the root-owned config itself,
 * pins the app's directories, and then answers fixed-size requests from the
 * front end (src/common/proto.h). Which requests are allowed depends on the verb
 * it was started for and on the phase of the run: an explicit state
 * machine, default deny. A request that is not allowed ends the run.
 *
 * It takes no path from the front end: every path is derived from the
 * config and a release id that the helper generated or validated, and is
 * resolved against pinned directory fds (helpers/fsops.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "caps.h"
#include "config.h"
#include "helper.h"
#include "interrupt.h"
#include "privs.h"
#include "release.h"
#include "unitctl.h"
#include "util.h"

#define SOCK_FD 3



/* The capabilities the helper's work needs; everything else is dropped
 * from every set, including the bounding set (docs/SECURITY.md). */
static const int helper_caps[] = {
	CAP_CHOWN,           /* freeze: chown to root:web_group; shared dirs */
	CAP_DAC_OVERRIDE,    /* remove frozen (0550) trees; write deploy-owned dirs */
	CAP_DAC_READ_SEARCH, /* walk deploy-owned trees whatever their modes */
	CAP_FOWNER,          /* chmod and strip ACLs of files we do not own yet */
	CAP_SETUID,          /* build steps: become the deploy user */
	CAP_SETGID,
	CAP_SETPCAP,         /* build steps: drop the bounding set */
	CAP_SYS_ADMIN,       /* mount and pid namespaces, open_tree, move_mount, umount2 */
	CAP_KILL,            /* kill a timed-out build step */
	CAP_FSETID,          /* setgid bit on shared directories */
};

/* Permitted but not effective; raised only around one read. */
static const int helper_dormant_caps[] = {
	CAP_SYS_PTRACE,      /* /proc/PID/exe and /proc/PID/root of the php-fpm master;
	                        setns through its pidfd (mode = bind) */
	CAP_SYS_CHROOT,      /* setns into its mount namespace (mode = bind), in a child */
};

/*
 * reload = swap: the process that runs systemctl (helpers/unitctl.c),
 * forked before the helper limits its capabilities and installs its
 * seccomp filter, which systemctl would inherit and could not run under
 * (docs/SECURITY.md). Only for the verbs that start, stop or show slots.
 */
static int helper_start_unitctl(struct helper *h, char *err, size_t errlen)
{
	static const enum proto_verb verbs[] = { PV_DEPLOY, PV_SWITCH, PV_ROLLBACK, PV_FPM_START, PV_STATUS, PV_CHECK };
	bool wanted = false;
	int fd;

	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		wanted |= h->verb == verbs[i];
	if (!wanted || !swap_enabled(h))
		return 0;
	fd = unitctl_spawn(h->cfg.app, h->cfg.fpm.timeout, &h->swap.unitctl_pid);
	if (fd < 0) {
		snprintf(err, errlen, "helper: cannot start the process that runs systemctl: %s", strerror(-fd));
		return fd;
	}
	h->swap.unitctl = fd;
	return 0;
}

int main(int argc, char **argv)
{
	static const int keep[] = { SOCK_FD };
	struct helper h = { .sock = SOCK_FD, .lock_fd = -EBADF, .tree_fd = -EBADF, .swap = FPM_SWAP_INIT };
	struct proto_msg hello;
	char err[600] = "", cfgpath[PATH_MAX];
	int type = 0, r;
	socklen_t tl = sizeof(type);

	if (getuid() != 0 || geteuid() != 0 || argc < 4 || argc > 5 ||
	    getsockopt(SOCK_FD, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr, "cutover-helper: internal program of cutover; run 'cutover --help'\n");
		return 2;
	}
	if (privs_sanitize_process(keep, ELEMENTSOF(keep)) < 0 || privs_reset_environment() < 0)
		return 2;
	/* A signal to the caller's process group must not kill us before the
	 * clean-up: the front end's EOF ends the run (helpers/interrupt.c). */
	if (interrupt_defer() < 0)
		return 2;
	/* Nothing the helper executes (php-fpm -tt, build steps) may inherit
	 * its socket to the front end. */
	if (fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	h.verb = proto_verb_from_name(argv[1]);
	h.verb_name = proto_verb_name(h.verb);
	if (h.verb == PV_NONE || !app_name_valid(argv[2]) || str_copy(h.who, sizeof(h.who), argv[3]) < 0)
		return 2;
	if (argc == 5)
		r = str_copy(cfgpath, sizeof(cfgpath), argv[4]);
	else
		r = config_default_path(cfgpath, sizeof(cfgpath), argv[2]);
	if (r < 0)
		return 2;

	r = config_load(&h.cfg, cfgpath, argv[2], err, sizeof(err));
	/* Checked by the launcher too; the helper decides for itself.
	 * root (not through sudo) is not bound by allow_users. */
	if (r == 0 && strcmp(h.who, "root") != 0 && !config_user_allowed(&h.cfg, h.who)) {
		snprintf(err, sizeof(err), "user %s may not run cutover for %s (allow_users in %.300s)",
			 h.who, h.cfg.app, cfgpath);
		r = -EPERM;
	}
	if (r == 0) {
		history_configure(h.cfg.app, h.cfg.operators_gid);
		r = layout_open(&h.l, &h.cfg, false, err, sizeof(err));
		if (r == -ENOENT) {
			/* Nothing deployed yet: read-only verbs say so, and the
			 * first lock creates the layout. */
			h.absent = true;
			err[0] = '\0';
			r = 0;
		}
	}
	if (r == 0)
		r = helper_start_unitctl(&h, err, sizeof(err));
	if (r == 0) {
		r = privs_limit_caps_dormant(helper_caps, ELEMENTSOF(helper_caps),
					     helper_dormant_caps, ELEMENTSOF(helper_dormant_caps));
		if (r < 0)
			snprintf(err, sizeof(err), "helper: cannot limit capabilities: %s", strerror(-r));
		else if ((r = caps_seccomp_helper()) < 0)
			snprintf(err, sizeof(err), "helper: cannot install its seccomp filter: %s", strerror(-r));
	}
	if (r < 0)
		reply_fail(&hello, r, ERR_SETUP, err);
	else
		reply_init(&hello, 0, NULL);
	if (helper_send(&h, &hello, -1) < 0 || r < 0)
		return 2;

	r = helper_serve(&h);
	/* Whatever ended the conversation, a half-built release goes. */
	(void)abort_staging(&h, false);
	swap_end_run(&h);
	freeze_drop_build(&h);
	layout_close(&h.l);
	config_free(&h.cfg);
	return r < 0 ? 1 : 0;
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the world with ptrace, which this process forbids
 * itself (not dumpable, seccomp, no CAP_SYS_PTRACE): leak checking of the
 * mains is left to the unit tests, which run without those restrictions. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif
