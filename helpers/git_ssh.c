/* SPDX-License-Identifier: MIT */
#include "git_ssh.h"

#include <errno.h>
#include <stdio.h>
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

int git_ssh_command(const struct config *c, bool via_sudo, char *buf, size_t n,
		    char *err, size_t errlen)
{
	int r;

	if (!via_sudo && !c->ssh_key[0] && !c->ssh_known_hosts[0])
		return 0;
	if (c->ssh_key[0] && (r = file_trusted("ssh_key", c->ssh_key, err, errlen)) < 0)
		return r;
	if (c->ssh_known_hosts[0] && (r = file_trusted("ssh_known_hosts", c->ssh_known_hosts, err, errlen)) < 0)
		return r;
	/* GIT_SSH_COMMAND outranks core.sshCommand and GIT_SSH, and the
	 * fetch runs in a fresh repository with HOME on an empty tmpfs: git
	 * has no other place to take an ssh command from. -F none: no
	 * ~/.ssh/config and no /etc/ssh/ssh_config (ProxyCommand,
	 * IdentityFile, ControlPath, ...). The paths were validated at
	 * config load: no characters the shell or ssh would expand. */
	r = str_printf(buf, n,
		       "GIT_SSH_COMMAND=ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none"
		       " -o IdentityFile=%s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
		       " -o ControlMaster=no -o ControlPath=none",
		       c->ssh_key[0] ? c->ssh_key : "none",
		       c->ssh_known_hosts[0] ? c->ssh_known_hosts : "none");
	if (r < 0) {
		snprintf(err, errlen, "the ssh command is too long");
		return r;
	}
	return 1;
}
