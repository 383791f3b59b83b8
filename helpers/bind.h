/* SPDX-License-Identifier: MIT */
/*
 * mode = bind (docs/BIND.md): the live release is mounted read-only at one
 * stable path, cfg->live = ROOT/NAME, and each publish replaces that mount
 * atomically: a detached, private, read-only clone of releases/ID (with the
 * shared entries mounted on it) goes beneath the mount at live
 * (MOVE_MOUNT_BENEATH, Linux 6.5), then the old top is unmounted. A lookup
 * of live reaches the old tree or the new one, never neither.
 *
 * Mount tables are read with libmount, from /proc/self/mountinfo or, for
 * PHP-FPM's namespace, /proc/PID/mountinfo; paths there are reached
 * through /proc/PID/root. Every mount change uses the fd-based mount API;
 * the only path-based calls are umount2(live, MNT_DETACH |
 * UMOUNT_NOFOLLOW) and statx of live and ROOT, both trusted paths (ROOT
 * and everything above it are root-owned and not writable by others).
 */
#ifndef CUTOVER_BIND_H
#define CUTOVER_BIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "fpm.h"
#include "names.h"
#include "release.h"

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200   /* Linux 6.5; older headers lack it */
#endif

#define BIND_STACK_MAX 16

/* One mount stacked at live. */
struct live_mount {
	int id;                             /* mount id, as in mountinfo and statx */
	char release[RELEASE_ID_MAX + 1];   /* its root is ".../releases/ID" of this app; else "" */
	char root[256];                     /* its root within its filesystem (shortened) */
	char options[128];                  /* per-mount (VFS) options */
	char problem[200];                  /* "" if it is as a publish leaves it: ro, nosuid,
	                                       nodev, every [shared] entry mounted on it */
};

/* What sits at live in one mount namespace, bottom first. */
struct live_stack {
	size_t n;
	struct live_mount m[BIND_STACK_MAX];
	int visible_id;                     /* the mount a lookup of live reaches */
	bool root_shared;                   /* ROOT is a mount of its own, shared */
};

/* What bind_converge did. */
struct bind_actions {
	unsigned unstacked;                 /* stacked mounts removed */
	bool attached;                      /* a new tree went onto or beneath live */
	bool entered;                       /* ... inside PHP-FPM's mount namespace */
	uint64_t visible_ns;                /* until the new tree was what live shows */
};

/*
 * Under the lock: creates live if missing (root:root 0755, an empty mount
 * point), makes ROOT a mount of its own (a bind of itself, unless it is a
 * mount point already) in its own shared peer group, so that mounts at
 * live propagate to namespaces that receive ROOT as a slave (PHP-FPM under
 * systemd), and reopens the layout so that its fds are on that mount.
 */
int bind_root_prepare(struct layout *l, const struct config *cfg, char *err, size_t errlen);

/* Reads the stack at live in our namespace (pid 0) or in the one of pid
 * (whose mount table and paths are read through /proc/PID). */
int bind_stack_read(const struct layout *l, const struct config *cfg, pid_t pid,
		    struct live_stack *ret);

/* 0 if the stack is exactly one mount of release id, ro, nosuid, nodev,
 * with the shared entries mounted, and it is what a lookup of live
 * reaches; else -EUCLEAN with the reason in err. */
int bind_stack_check(const struct live_stack *s, const char *id, char *err, size_t errlen);

/*
 * A detached clone of releases/ID, made private and read-only, nosuid,
 * nodev before anything else (it is never visible writable), with each
 * [shared] directory mounted on it writable, nosuid, nodev, noexec and
 * each shared file read-only, nosuid, nodev, noexec. Nothing of it is
 * visible anywhere until it is attached. Returns the tree's fd.
 */
int bind_tree_make(const struct layout *l, const struct config *cfg, const char *id,
		   char *err, size_t errlen);

/*
 * Brings the stack at live in our namespace (s, read just before) to
 * exactly one mount of id: mounts above the bottom one are unmounted
 * while more than one remain (never the last, so live never shows
 * nothing); then, unless the one left is already right, tree (from
 * bind_tree_make) goes onto live if nothing is mounted there, else beneath
 * the top, which is then unmounted. tree may be -EBADF if s is right.
 */
int bind_converge(const struct layout *l, const struct config *cfg, const struct live_stack *s,
		  const char *id, int tree, struct bind_actions *ret, char *err, size_t errlen);

/*
 * After a publish here: makes PHP-FPM's namespace (the verified master m)
 * show id at live too. Usually propagation from ROOT's peer group has done
 * it already; if not (php-fpm in a private namespace, or one made before
 * ROOT was shared), a child of ours makes the same converge inside that
 * namespace, entered with setns(pidfd, CLONE_NEWNS), so our own namespace
 * is never touched. 0 once its table checks out, or -errno with err.
 */
int bind_fpm_sync(const struct layout *l, const struct config *cfg, const struct fpm_master *m,
		  const char *id, struct bind_actions *ret, char *err, size_t errlen);

/*
 * The releases of this app mounted anywhere: a mount in any process's
 * mount table whose root is releases/ID or below it. *ret is a malloc'd
 * array of ids; the caller frees it.
 */
int bind_mounted_releases(const struct layout *l, char (**ret)[RELEASE_ID_MAX + 1], size_t *ret_n);

/*
 * Mounts a detached clone (open_tree(OPEN_TREE_CLONE) of a shared entry)
 * onto dir/rel: made private with the given attributes first, the mount
 * point resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and
 * required to be a directory (is_dir) or a regular file. Also used by the
 * build sandbox.
 */
int bind_attach_clone(int clone, int dir, const char *rel, bool is_dir, uint64_t set, uint64_t clr);

/*
 * With [shared] entries, a publish mounts them on the detached tree before
 * it is attached, which kernels only allow since MOVE_MOUNT_BENEATH's
 * (6.5) was followed by mounts on detached trees (6.15 as far as we know;
 * tested on 6.18). Tries exactly that on throwaway clones of ROOT and
 * shared/: -EOPNOTSUPP with the reason if the kernel refuses. Changes
 * nothing anyone can see.
 */
int bind_probe(const struct layout *l, const struct config *cfg, char *err, size_t errlen);

/* Checks that each [shared] entry of a release being frozen is still its
 * mount point: an empty directory or an empty regular file. */
int bind_check_mount_points(int tree, const struct config *cfg, char *err, size_t errlen);

/* mount_setattr(2) of dfd/path: set and clear MOUNT_ATTR_* bits and set
 * the propagation. The build sandbox uses it too. 0 or -errno. */
int bind_setattr(int dfd, const char *path, unsigned flags, uint64_t set, uint64_t clr,
		 uint64_t propagation);

#endif
