/* SPDX-License-Identifier: MIT */
/*
 * Checks of a frozen release against what the freeze made of it: the cheap
 * one before every switch and rollback (metadata only), its size for list,
 * and the full one of `cutover verify` (op_verify, every byte hashed).
 */
#ifndef CUTOVER_VERIFY_H
#define CUTOVER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Metadata only, no hashing: every directory, file and symlink below
 * dirfd root-owned, no directory or file with a write, setuid or setgid
 * bit, and (want_links) every file a hard link to an object (st_nlink
 * >= 2: the store's and this one). 0, -EUCLEAN with the first offending
 * path in bad, or -errno.
 */
int verify_sealed(int dirfd, bool want_links, char *bad, size_t n);

/* Bytes of the files below dirfd whose object only this release links
 * (st_nlink == 2), and of the others (shared with other releases, or
 * with another file of this one). */
int verify_usage(int dirfd, uint64_t *ret_own, uint64_t *ret_shared);

#endif
