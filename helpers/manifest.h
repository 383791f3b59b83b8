/* SPDX-License-Identifier: MIT */
/*
 * The entries file of a frozen release, ROOT/.cutover/entries/ID.manifest:
 * what `cutover verify` checks the release against. A header line, then
 * one line per entry, in the order of the freeze's walk:
 *
 *   # cutover entries 1
 *   TYPE MODE UID:GID VALUE PATH
 *
 * TYPE d (directory), f (file) or l (symlink); MODE four octal digits
 * (0550, 0440, 0777 for a symlink); VALUE the SHA-256 of a file (its object
 * is objects/XX/<VALUE>-<MODE>), the target of a symlink, "-" for a
 * directory; PATH relative to the release, "." for its top. VALUE and PATH
 * escape '\\', space, control characters and DEL as \xHH.
 */
#ifndef CUTOVER_MANIFEST_H
#define CUTOVER_MANIFEST_H

#include <stddef.h>
#include <sys/types.h>

#define MANIFEST_HEADER "# cutover entries 1"

struct manifest_entry {
	char type;                /* 'd', 'f' or 'l' */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	char *value;              /* points into the parsed line */
	char *path;
};

/* Escapes src into dst (n >= 4 * strlen(src) + 1 always suffices). */
void manifest_escape(char *dst, size_t n, const char *src);

/* Parses one line (without its newline) in place. 0 or -EBADMSG. */
int manifest_parse_line(char *line, struct manifest_entry *ret);

#endif
