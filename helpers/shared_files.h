/* SPDX-License-Identifier: MIT */
/*
 * Owner and mode changes in shared/, a tree the web server's user can
 * write: a name there may be a hard link to any file on the filesystem
 * (where fs.protected_hardlinks is off) or change between lookup and use.
 * Every change is made by fd, on a file opened O_NOFOLLOW and checked on
 * that fd (type, one link, the owner it must have); files are created
 * O_EXCL, never adopted by name.
 */
#ifndef CUTOVER_SHARED_FILES_H
#define CUTOVER_SHARED_FILES_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * A [shared] entry's first use: NAME in DIRFD is created (an empty file,
 * O_CREAT | O_EXCL; a directory, mkdir) or, when seeded, was just moved
 * there from the release (then it must be the deploy user's). Then, by fd:
 * owner uid:web_gid, mode 02770 (directory) or 0640. -EEXIST when NAME
 * already existed (created by someone else in the meantime: the caller
 * treats it as an existing entry and changes nothing); -EPERM when it is
 * not what we created or moved (type, link count, owner).
 */
int shared_entry_adopt(int dirfd, const char *name, bool is_dir, bool seeded, uid_t uid, gid_t web_gid);

/*
 * storage/logs (LOGS_FD): creates laravel.log (O_EXCL, uid:web_gid 0660)
 * if missing, then makes every regular file with one link group-writable
 * for web_gid: a file of the deploy user (uid) also gets the group; a file
 * of another user (the web server's) only when its group is web_gid
 * already. Root's files, files with more than one link and anything else
 * are left alone. Best effort: returns 0.
 */
int shared_logs_fix(int logs_fd, uid_t uid, gid_t web_gid);

#endif
