/* SPDX-License-Identifier: MIT */
/*
 * Freezing a built release: after this nobody but root can change a byte
 * of it through the filesystem, and its manifest records what it holds.
 */
#ifndef CUTOVER_FREEZE_H
#define CUTOVER_FREEZE_H

#include <stddef.h>
#include <sys/types.h>

struct freeze_stats {
	unsigned long long bytes;
	unsigned long long files;
	unsigned long long dirs;
	unsigned long long symlinks;
};

/*
 * Walks the tree below dirfd top-down. Each directory is made root-owned
 * and 0550 before its entries are read, so no entry can be added behind the
 * walk; every regular file becomes root:web_gid 0440 (0550 if it had any
 * execute bit), setuid/setgid/sticky bits and POSIX ACLs removed; symlinks
 * become root-owned. A file with more than one hard link, or anything that
 * is not a file, directory or symlink, fails the freeze (naming it in err):
 * it could be shared with something outside the release. Each regular
 * file's SHA-256 is written to manifest_fd in sha256sum(1) format, names
 * sorted, so `sha256sum -c` run in the release verifies it. Ends with
 * syncfs so the frozen data is on disk before it can be published.
 * A symlink must stay inside the release or point below shared_prefix
 * ("ROOT/shared/", the links cutover made itself): a build step could
 * otherwise publish, say, another app's .env through the web server,
 * which follows symlinks. Relative links are judged as the kernel
 * resolves them (a ".." after a symlink climbs from where that symlink
 * led), once the whole tree is sealed.
 */
int freeze_tree(int dirfd, gid_t web_gid, const char *shared_prefix, int manifest_fd,
		struct freeze_stats *ret, char *err, size_t errlen);

#endif
