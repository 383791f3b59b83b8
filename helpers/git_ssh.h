/* SPDX-License-Identifier: MIT */
/*
 * The ssh a git+ssh fetch may use. ssh finds ~/.ssh (keys, config,
 * known_hosts) through the password entry, not HOME: run as the deploy
 * user, it would authenticate with the deploy user's keys, so a CI user
 * could fetch, through sudo, any repository those keys can read (the
 * confused deputy the refusal of local repositories closes).
 */
#ifndef CUTOVER_GIT_SSH_H
#define CUTOVER_GIT_SSH_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/*
 * Writes "GIT_SSH_COMMAND=ssh -F none ..." into buf when the fetch must
 * not use the deploy user's ssh setup: through sudo (via_sudo), or
 * whenever [build] ssh_key or ssh_known_hosts is set. The command reads no
 * configuration file, offers no identity but [build] ssh_key (none if
 * unset), asks no agent, trusts no user known_hosts file but [build]
 * ssh_known_hosts, and never prompts. Both files must pass the trust check
 * of the config itself (root-owned up to /, not writable by group or
 * others, no symlink). Returns 1 with buf set, 0 when nothing is forced
 * (root, nothing configured), or -errno with a reason in err.
 */
int git_ssh_command(const struct config *c, bool via_sudo, char *buf, size_t n,
		    char *err, size_t errlen);

#endif
