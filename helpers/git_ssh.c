/* SPDX-License-Identifier: MIT */
#include "git_ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* A file ssh reads as the deploy user: root's, on a path only root can
 * change, so neither the deploy user nor the CI user can swap it. */
static int file_trusted(const char *key, const char *path, char *err, size_t errlen)
{
	char why[400] = "";
	int fd = path_open_trusted(path, false, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "[build] %s: %s", key, why[0] ? why : strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

/* A private key is at most a few KiB; more is not a key. */
#define KEY_MAX (64 * 1024)

/* Copies the key into a sealed memfd owned by owner (the user ssh runs
 * as), mode 0400 (ssh refuses a key its owner lets others read). */
static int key_memfd(const struct config *c, uid_t owner, int key_fd, const struct stat *st, char *err,
		     size_t errlen)
{
	_cleanup_close_ int mfd = -EBADF;
	char buf[4096];
	ssize_t n;
	off_t total = 0;

	mfd = memfd_create("cutover-ssh-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	while ((n = read(key_fd, buf, sizeof(buf))) > 0) {
		total += n;
		if (total > KEY_MAX || write(mfd, buf, (size_t)n) != n) {
			explicit_bzero(buf, sizeof(buf));
			snprintf(err, errlen, "[build] ssh_key: %s is larger than %d bytes or cannot be copied", c->ssh_key, KEY_MAX);
			return -EFBIG;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (n < 0 || st->st_size != total)
		return n < 0 ? -errno : -EIO;
	if (fchown(mfd, owner, c->gid) < 0 || fchmod(mfd, 0400) < 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return -errno;
	return TAKE_FD(mfd);
}

/* The key is root's alone: root-owned, no group or other permission bits,
 * on a trusted path. The deploy user never reads the file; the fetch gets
 * its content on an fd. */
static int key_open(const struct config *c, uid_t owner, char *err, size_t errlen)
{
	char why[400] = "";
	_cleanup_close_ int fd = path_open_trusted(c->ssh_key, false, why, sizeof(why));
	struct stat st;
	int r;

	if (fd < 0) {
		snprintf(err, errlen, "[build] ssh_key: %s", why[0] ? why : strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_mode & 077) {
		snprintf(err, errlen, "[build] ssh_key: %s must be readable by root only (mode 0600 or 0400, "
			 "owner root; mode is %04o): the build steps run as the user the fetch runs as",
			 c->ssh_key, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	r = key_memfd(c, owner, fd, &st, err, errlen);
	if (r < 0 && !err[0])
		snprintf(err, errlen, "[build] ssh_key: %s: %s", c->ssh_key, strerror(-r));
	return r;
}

int git_ssh_command(const struct config *c, bool via_sudo, uid_t key_owner, char *buf, size_t n,
		    int *ret_key_fd, char *err, size_t errlen)
{
	_cleanup_close_ int key_fd = -EBADF;
	int r;

	*ret_key_fd = -EBADF;
	if (!via_sudo && !c->ssh_key[0] && !c->ssh_known_hosts[0])
		return 0;
	if (c->ssh_key[0] && (key_fd = key_open(c, key_owner, err, errlen)) < 0)
		return key_fd;
	if (c->ssh_known_hosts[0] && (r = file_trusted("ssh_known_hosts", c->ssh_known_hosts, err, errlen)) < 0)
		return r;
	/* GIT_SSH_COMMAND outranks core.sshCommand and GIT_SSH, and the
	 * fetch runs in a fresh repository with HOME on an empty tmpfs: git
	 * has no other place to take an ssh command from. -F none: no
	 * ~/.ssh/config and no /etc/ssh/ssh_config (ProxyCommand,
	 * IdentityFile, ControlPath, ...). The paths were validated at
	 * config load: no characters the shell or ssh would expand. The key
	 * is the memfd on fd GIT_SSH_KEY_FD of the fetch script's shell
	 * (ssh closes every fd above 2 when it starts, so it opens its
	 * parent's: the script exports its pid as CUTOVER_SSH_KEY_PID). */
	r = str_printf(buf, n,
		       "GIT_SSH_COMMAND=ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none"
		       " -o IdentityFile=%s%s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
		       " -o ControlMaster=no -o ControlPath=none",
		       key_fd >= 0 ? "/proc/${CUTOVER_SSH_KEY_PID}/fd/" : "none",
		       key_fd >= 0 ? GIT_SSH_KEY_FD_STR : "",
		       c->ssh_known_hosts[0] ? c->ssh_known_hosts : "none");
	if (r < 0) {
		snprintf(err, errlen, "the ssh command is too long");
		return r;
	}
	*ret_key_fd = TAKE_FD(key_fd);
	return 1;
}
