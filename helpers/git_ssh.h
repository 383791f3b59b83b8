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
#include <sys/types.h>

struct config;

/* The fd the fetch script holds the key on (sandbox_spec.pass_fd). */
#define GIT_SSH_KEY_FD 3
#define GIT_SSH_KEY_FD_STR "3"

/*
 * Writes "GIT_SSH_COMMAND=ssh -F none ..." into buf when the fetch must
 * not use the deploy user's ssh setup: through sudo (via_sudo), or
 * whenever [build] ssh_key or ssh_known_hosts is set. The command reads no
 * configuration file, offers no identity but [build] ssh_key (none if
 * unset), asks no agent, trusts no user known_hosts file but [build]
 * ssh_known_hosts, and never prompts. Both files must pass the trust check
 * of the config itself (root-owned up to /, not writable by group or
 * others, no symlink); the key must also be readable by root only. It is
 * read here, as root, into a sealed memfd (key_owner's: the user the fetch
 * runs as, the deploy user or git_user; 0400) put in
 * *ret_key_fd (-EBADF without a key), which the fetch must hold on fd
 * GIT_SSH_KEY_FD with CUTOVER_SSH_KEY_PID set to the holder's pid: the
 * command names /proc/${CUTOVER_SSH_KEY_PID}/fd/GIT_SSH_KEY_FD. Returns 1
 * with buf set, 0 when nothing is forced (root, nothing configured), or
 * -errno with a reason in err.
 */
int git_ssh_command(const struct config *c, bool via_sudo, uid_t key_owner, char *buf, size_t n,
		    int *ret_key_fd, char *err, size_t errlen);

#endif
