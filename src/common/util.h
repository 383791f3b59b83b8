/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the front end and the privileged helper:
 * cleanup attributes, ownership transfer, bounded string copies.
 */
#ifndef CUTOVER_UTIL_H
#define CUTOVER_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -EBADF; _fd; })

/* Copies src into a buffer of size n; -ENAMETOOLONG if it does not fit. */
int str_copy(char *dst, size_t n, const char *src);

/* snprintf that reports truncation as -ENAMETOOLONG. */
int str_printf(char *dst, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Writes a printable rendering of untrusted text (names from archives,
 * output of build steps) into dst: control bytes, backslash and bytes >= 0x7f
 * become \n, \t, \\ or \xNN, so a hostile name cannot forge log lines or
 * send terminal escapes. Always terminates dst; truncates with "...".
 */
void str_escape(char *dst, size_t n, const char *src, size_t len);

/*
 * openat2(dirfd, path, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) with O_CLOEXEC added. The kernel answers EAGAIN
 * when a rename or mount raced the lookup; that is retried a bounded
 * number of times (a hostile writer must not keep us spinning), as is
 * EINTR. Returns the fd or -errno.
 */
int open_beneath(int dirfd, const char *path, int flags, unsigned mode);

/* The directory of this program's binary (from /proc/self/exe), for
 * files installed next to it. */
int self_exe_dir(char *buf, size_t n);

/* The JSON string form of byte c into out (at least 7 bytes, not
 * terminated): '"' and '\\' backslashed, control bytes and DEL as \u00XX,
 * anything else as is (UTF-8 passes through). Returns its length. */
size_t json_escape_char(unsigned char c, char *out);
/* Length of the valid UTF-8 sequence at s (NUL-terminated), or 0 if there
 * is none. */
size_t utf8_len(const unsigned char *s);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);
/* Wall-clock time in nanoseconds since the epoch. */
uint64_t wall_ns(void);

/* write(2) until done or an error other than EINTR. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Parses a decimal unsigned number in [min, max]; -EINVAL/-ERANGE. */
int parse_uint(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *ret);

/* Parses a size such as 512, 64K, 10M, 2G into bytes. */
int parse_size(const char *s, unsigned long long *ret);

#endif
