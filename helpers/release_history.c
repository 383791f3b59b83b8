/* SPDX-License-Identifier: MIT */
/*
 * The history of an app's releases: appending events to
 * ROOT/.cutover/history.jsonl (the helper is its only writer), mirroring
 * them to syslog, and reading switches back for rollback-to-previous.
 */
#include "release.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fsops.h"
#include "history.h"
#include "util.h"

#define HISTORY_FILE "history.jsonl"
#define HISTORY_MAX_READ (8 * 1024 * 1024)
/* Beyond this the file becomes history.1.jsonl (replacing the one
 * before): at most twice this on disk, whatever floods it (every run
 * refused at a busy lock appends a line). Rollback's chain is kept in the
 * releases' state, not read from here. */
#define HISTORY_ROTATE (4 * 1024 * 1024)
#define HISTORY_OLD_FILE "history.1.jsonl"
#define SYSLOG_PATH "/dev/log"
/* authpriv: the lines say who used root's helper on what, like sudo's;
 * journald and rsyslog keep authpriv away from unprivileged readers. */
#define SYSLOG_FACILITY (10 << 3)

static struct {
	char app[APP_NAME_MAX + 1];
	gid_t gid;
} history_sink = { .gid = (gid_t)-1 };

void history_configure(const char *app, gid_t operators_gid)
{
	str_copy(history_sink.app, sizeof(history_sink.app), app ? app : "");
	history_sink.gid = operators_gid;
}

/* Printable ASCII only, cut at n - 1: syslog lines are read on terminals. */
static void syslog_clean(char *dst, size_t n, const char *src)
{
	size_t o = 0;

	for (; src && *src && o + 1 < n; src++)
		dst[o++] = *src >= 0x20 && *src < 0x7f && *src != '"' ? *src : '?';
	dst[o] = '\0';
}

/*
 * One datagram to /dev/log in the classic BSD format, which journald and
 * rsyslog both parse: "<PRI>Mmm dd hh:mm:ss cutover[PID]: MESSAGE". Never
 * blocks (MSG_DONTWAIT) and never fails the caller: a syslog daemon that
 * is absent or stuck must not hold up a deploy.
 */
static void history_syslog(const struct history_entry *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSLOG_PATH };
	_cleanup_close_ int fd = -EBADF;
	char msg[1024], when[32], who[64], reason[HISTORY_REASON_MAX + 1], client[64];
	bool bad = strcmp(e->event, "failed") == 0 || strcmp(e->event, "refused") == 0 ||
		   strcmp(e->event, "unhealthy") == 0 || strcmp(e->event, "auto-rollback") == 0;
	time_t t = time(NULL);
	struct tm tm;

	if (!history_sink.app[0])
		return;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
	syslog_clean(who, sizeof(who), e->who);
	syslog_clean(reason, sizeof(reason), e->reason);
	syslog_clean(client, sizeof(client), e->client);
	snprintf(msg, sizeof(msg),
		 "<%d>%s cutover[%d]: app=%s event=%s reported-by=%s verb=%s release=%s from=%s user=%s%s%s%s%s%s",
		 SYSLOG_FACILITY | (bad ? 4 : 5), when, (int)getpid(), history_sink.app,
		 e->event[0] ? e->event : e->verb, e->reported ? "frontend" : "helper", e->verb,
		 e->to[0] ? e->to : e->release[0] ? e->release : "-", e->from[0] ? e->from : "-",
		 who[0] ? who : "-", client[0] ? " client(claimed)=" : "", client,
		 /* Free text last: nothing in it can stand for a field above. */
		 reason[0] ? " reason=\"" : "", reason, reason[0] ? "\"" : "");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return;
	(void)send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The history's owner and mode, fixed at every append: root:operators
 * 0640 when the config names a group, else root:root 0600. An operator
 * reads it through `cutover history` (.cutover is root's 0700). */
static int history_fix_mode(int fd)
{
	gid_t gid = history_sink.gid == (gid_t)-1 ? 0 : history_sink.gid;

	if (fchown(fd, 0, gid) < 0 || fchmod(fd, history_sink.gid == (gid_t)-1 ? 0600 : 0640) < 0)
		return -errno;
	return 0;
}

/* history.jsonl for appending, rotated first when it is full. Runs that
 * do not hold the app lock write here too (a refusal at a busy lock): the
 * rotation holds a lock of its own on the full file. */
static int history_open_append(const struct layout *l)
{
	_cleanup_close_ int fd = -EBADF;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;

	fd = openat(l->meta_fd, HISTORY_FILE, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < HISTORY_ROTATE)
		return TAKE_FD(fd);
	if (fcntl(fd, F_OFD_SETLKW, &fl) < 0)
		return -errno;
	/* Still the full file under that name (no one rotated it meanwhile)? */
	if (fstatat(l->meta_fd, HISTORY_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size >= HISTORY_ROTATE &&
	    renameat(l->meta_fd, HISTORY_FILE, l->meta_fd, HISTORY_OLD_FILE) < 0)
		return -errno;
	closep(&fd);
	fd = openat(l->meta_fd, HISTORY_FILE, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : TAKE_FD(fd);
}

int history_record(const struct layout *l, struct history_entry *e)
{
	_cleanup_close_ int fd = -EBADF;
	char line[HISTORY_LINE_MAX];
	time_t t = time(NULL);
	struct tm tm;
	int len;

	gmtime_r(&t, &tm);
	strftime(e->time, sizeof(e->time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	len = history_format(line, sizeof(line), e);
	if (len < 0)
		return len;
	fd = history_open_append(l);
	if (fd < 0)
		return fd;
	/* Mode first: the line is never readable by more than it should be. */
	(void)history_fix_mode(fd);
	/* One write(2) of the whole line: O_APPEND keeps lines whole. */
	if (write_all(fd, line, (size_t)len) < 0 || fsync(fd) < 0)
		return -errno;
	history_syslog(e);
	return 0;
}

int history_append(const struct layout *l, const char *verb, const char *from,
		   const char *to, const char *who, const char *source,
		   uint64_t duration_ms)
{
	struct history_entry e = { .duration_ms = duration_ms };

	if (str_copy(e.verb, sizeof(e.verb), verb) < 0 || str_copy(e.event, sizeof(e.event), verb) < 0 ||
	    str_copy(e.to, sizeof(e.to), to) < 0)
		return -EINVAL;
	str_copy(e.from, sizeof(e.from), from ? from : "");
	str_copy(e.who, sizeof(e.who), who ? who : "");
	str_copy(e.source, sizeof(e.source), source ? source : "");
	return history_record(l, &e);
}

/* The tail of the history (at most HISTORY_MAX_READ bytes), NUL-ended.
 * *ret is NULL when there is no history. */
static int history_read_tail(const struct layout *l, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	off_t start = 0;
	ssize_t got;

	*ret = NULL;
	fd = openat(l->meta_fd, HISTORY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* The tail is enough: a release's own deploy is recent history. */
	if (st.st_size > HISTORY_MAX_READ)
		start = st.st_size - HISTORY_MAX_READ;
	buf = malloc(HISTORY_MAX_READ + 1);
	if (!buf)
		return -ENOMEM;
	while (len < HISTORY_MAX_READ &&
	       (got = pread(fd, buf + len, HISTORY_MAX_READ - len, start + (off_t)len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* In buf (the history's tail), the newest switch line that made id current
 * through a deploy or switch (rollbacks do not count) names its
 * predecessor. */
static int previous_in(char *buf, size_t len, const char *id, char *ret, size_t n)
{
	ret[0] = '\0';
	for (char *end = buf + len; end > buf; ) {
		char *lstart = end - 1, saved;
		struct history_entry e;
		int r;

		while (lstart > buf && lstart[-1] != '\n')
			lstart--;
		saved = *end;
		*end = '\0';
		r = history_parse_line(lstart, &e);
		*end = saved;
		end = lstart > buf ? lstart - 1 : buf;
		if (r < 0 || strcmp(e.to, id) != 0 || history_entry_is_rollback(&e))
			continue;
		return e.from[0] ? str_copy(ret, n, e.from) : 0;
	}
	return 0;
}

/* From id's state: 1 when its last switch recorded the predecessor. */
static int previous_recorded(const struct layout *l, const char *id, char *ret, size_t n)
{
	struct release_info ri;

	if (state_read(l, id, &ri) < 0 || !ri.previous_known)
		return 0;
	str_copy(ret, n, ri.previous);
	return 1;
}

int previous_of(const struct layout *l, const char *id, char *ret, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	ret[0] = '\0';
	if (!*id)
		return 0;
	if (previous_recorded(l, id, ret, n))
		return 0;
	r = history_read_tail(l, &buf, &len);
	if (r < 0 || !buf)
		return r;
	return previous_in(buf, len, id, ret, n);
}

int rollback_target(const struct layout *l, const char *cur, char *ret, size_t n)
{
	_cleanup_free_ char *buf = NULL;
	char at[RELEASE_ID_MAX + 1];
	size_t len = 0;
	int r;

	ret[0] = '\0';
	if (!*cur)
		return 0;
	/* Read only when a release has no recorded predecessor (older ones). */
	r = history_read_tail(l, &buf, &len);
	if (r < 0)
		return r;
	str_copy(at, sizeof(at), cur);
	/* Bounded: a history that loops (A replaced B replaced A) ends here. */
	for (int hops = 0; hops < 64; hops++) {
		struct release_info ri;

		r = previous_recorded(l, at, ret, n) || !buf ? 0 : previous_in(buf, len, at, ret, n);
		if (r < 0 || !ret[0])
			return r;
		if (state_read(l, ret, &ri) == 0 && ri.state == RELEASE_FROZEN && !ri.unhealthy)
			return 0;
		str_copy(at, sizeof(at), ret);
	}
	ret[0] = '\0';
	return 0;
}

/* Keeps the last RELEASE_LOG_MAX bytes of logs/ID.log. */
static int log_trim(const struct layout *l, const char *id)
{
	char name[RELEASE_ID_MAX + 8];
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t got;

	snprintf(name, sizeof(name), "%s.log", id);
	fd = openat(l->logs_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= RELEASE_LOG_MAX)
		return 0;
	buf = malloc(RELEASE_LOG_MAX);
	if (!buf)
		return -ENOMEM;
	got = pread(fd, buf, RELEASE_LOG_MAX, st.st_size - RELEASE_LOG_MAX);
	if (got < 0)
		return -errno;
	return fs_write_atomic(l->logs_fd, name, buf, (size_t)got, 0600);
}

int release_failed_bound(const struct layout *l, const char *id)
{
	_cleanup_free_ struct release_info *v = NULL;
	size_t n = 0, failed = 0;
	int r = log_trim(l, id);

	if (r < 0)
		return r;
	r = release_list(l, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state != RELEASE_FAILED || ++failed <= RELEASE_FAILED_KEEP)
			continue;
		r = release_remove(l, v[i].id);
		if (r < 0)
			return r;
	}
	return 0;
}
