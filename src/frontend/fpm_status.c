/* SPDX-License-Identifier: MIT */
/*
 * Table-driven parser of the plain-text PHP-FPM status page; see
 * fpm_status.h for the format and the rules.
 */
#include "fpm_status.h"
#include "util.h"

#include <limits.h>
#include <stddef.h>

enum field_kind {
	FIELD_U64,          /* unsigned long long, decimal */
	FIELD_PID,          /* pid_t, 1..INT_MAX */
	FIELD_IDENT,        /* string that must fit: a truncated one would mislead */
	FIELD_TEXT,         /* string truncated to fit: for display only */
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset;
	size_t size;        /* of the string member */
	bool required;
};

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)
#define NUM(type, key, member, req) \
	{ key, FIELD_U64, offsetof(type, member), 0, req }
#define STR(type, key, kind, member, req) \
	{ key, kind, offsetof(type, member), MEMBER_SIZE(type, member), req }

static const struct field pool_fields[] = {
	STR(struct fpm_status, "pool", FIELD_IDENT, pool, true),
	STR(struct fpm_status, "process manager", FIELD_IDENT, pm, true),
	STR(struct fpm_status, "start time", FIELD_IDENT, start_time, false),
	NUM(struct fpm_status, "start since", start_since_s, false),
	NUM(struct fpm_status, "accepted conn", accepted_conn, false),
	NUM(struct fpm_status, "listen queue", listen_queue, false),
	NUM(struct fpm_status, "max listen queue", max_listen_queue, false),
	NUM(struct fpm_status, "listen queue len", listen_queue_len, false),
	NUM(struct fpm_status, "idle processes", idle, false),
	NUM(struct fpm_status, "active processes", active, false),
	NUM(struct fpm_status, "total processes", total, true),
	NUM(struct fpm_status, "max active processes", max_active, false),
	NUM(struct fpm_status, "max children reached", max_children_reached, false),
	NUM(struct fpm_status, "slow requests", slow_requests, false),
};

static const struct field proc_fields[] = {
	{ "pid", FIELD_PID, offsetof(struct fpm_proc, pid), 0, true },
	STR(struct fpm_proc, "state", FIELD_IDENT, state, true),
	NUM(struct fpm_proc, "start since", start_since_s, false),
	NUM(struct fpm_proc, "requests", requests, false),
	NUM(struct fpm_proc, "request duration", request_duration_us, true),
	STR(struct fpm_proc, "request method", FIELD_TEXT, request_method, false),
	STR(struct fpm_proc, "request URI", FIELD_TEXT, request_uri, false),
	STR(struct fpm_proc, "script", FIELD_TEXT, script, false),
};

/* One bit per table row records what a block has seen. */
_Static_assert(ELEMENTSOF(pool_fields) <= 32 && ELEMENTSOF(proc_fields) <= 32,
	       "seen masks are 32 bits");

struct parser {
	struct fpm_status st;
	struct fpm_proc *cur;       /* NULL while in the pool block */
	size_t cap;
	uint32_t pool_seen;
	uint32_t proc_seen;
};

static int field_store(const struct field *f, void *base, const char *v, size_t len)
{
	char num[32];
	unsigned long long n;
	char *dst = (char *)base + f->offset;
	int r;

	switch (f->kind) {
	case FIELD_U64:
	case FIELD_PID:
		/* parse_uint wants a string; a longer value cannot be a number. */
		if (len == 0 || len >= sizeof(num))
			return -EBADMSG;
		memcpy(num, v, len);
		num[len] = '\0';
		r = parse_uint(num, f->kind == FIELD_PID ? 1 : 0,
			       f->kind == FIELD_PID ? INT_MAX : ULLONG_MAX, &n);
		if (r < 0)
			return -EBADMSG;
		if (f->kind == FIELD_PID)
			*(pid_t *)(void *)dst = (pid_t)n;
		else
			*(unsigned long long *)(void *)dst = n;
		return 0;
	case FIELD_IDENT:
		if (len == 0 || len >= f->size)
			return -EBADMSG;
		break;
	case FIELD_TEXT:
		if (len >= f->size)
			len = f->size - 1;
		break;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* -EBADMSG unless every required row of table is in seen. */
static int fields_check_required(const struct field *table, size_t n, uint32_t seen)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].required && !(seen & (UINT32_C(1) << i)))
			return -EBADMSG;
	return 0;
}

static int parser_end_proc(struct parser *p)
{
	if (!p->cur)
		return 0;
	return fields_check_required(proc_fields, ELEMENTSOF(proc_fields), p->proc_seen);
}

static int parser_begin_proc(struct parser *p)
{
	int r = parser_end_proc(p);

	if (r < 0)
		return r;
	if (p->st.n_procs >= FPM_STATUS_PROCS_MAX)
		return -E2BIG;
	if (p->st.n_procs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct fpm_proc *procs;

		if (cap > FPM_STATUS_PROCS_MAX)
			cap = FPM_STATUS_PROCS_MAX;
		procs = reallocarray(p->st.procs, cap, sizeof(*procs));
		if (!procs)
			return -ENOMEM;
		p->st.procs = procs;
		p->cap = cap;
	}
	p->cur = &p->st.procs[p->st.n_procs++];
	*p->cur = (struct fpm_proc) { 0 };
	p->proc_seen = 0;
	return 0;
}

static bool line_is_separator(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '*')
			return false;
	return true;
}

static int parser_line(struct parser *p, const char *s, size_t len)
{
	const struct field *table = p->cur ? proc_fields : pool_fields;
	size_t n = p->cur ? ELEMENTSOF(proc_fields) : ELEMENTSOF(pool_fields);
	uint32_t *seen = p->cur ? &p->proc_seen : &p->pool_seen;
	void *base = p->cur ? (void *)p->cur : (void *)&p->st;
	const char *colon, *v, *end = s + len;
	size_t key_len;

	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	len = (size_t)(end - s);
	if (len == 0)
		return 0;
	if (line_is_separator(s, len))
		return parser_begin_proc(p);
	colon = memchr(s, ':', len);
	if (!colon)
		return 0;
	key_len = (size_t)(colon - s);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;

	for (size_t i = 0; i < n; i++) {
		if (strlen(table[i].key) != key_len || memcmp(table[i].key, s, key_len) != 0)
			continue;
		/*
		 * A second copy of a field is how a line forged through a URI
		 * would show (only a client that talks FastCGI to the pool
		 * directly can put a newline there; HTTP cannot): refuse the
		 * page rather than guess which copy is real.
		 */
		if (*seen & (UINT32_C(1) << i))
			return -EBADMSG;
		*seen |= UINT32_C(1) << i;
		return field_store(&table[i], base, v, (size_t)(end - v));
	}
	return 0;
}

static int parser_run(struct parser *p, const char *text, size_t len)
{
	size_t off = 0;
	int r;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t line_len = nl ? (size_t)(nl - (text + off)) : len - off;

		r = parser_line(p, text + off, line_len);
		if (r < 0)
			return r;
		off += line_len + 1;
	}
	r = parser_end_proc(p);
	if (r < 0)
		return r;
	return fields_check_required(pool_fields, ELEMENTSOF(pool_fields), p->pool_seen);
}

int fpm_status_parse(const char *text, size_t len, struct fpm_status *ret)
{
	struct parser p = { 0 };
	int r;

	if (!text && len > 0)
		return -EINVAL;
	if (len > FPM_STATUS_TEXT_MAX)
		return -EFBIG;
	if (len > 0 && memchr(text, '\0', len))
		return -EBADMSG;
	r = parser_run(&p, text, len);
	if (r < 0) {
		free(p.st.procs);
		return r;
	}
	*ret = p.st;
	return 0;
}

void fpm_status_free(struct fpm_status *s)
{
	if (!s)
		return;
	free(s->procs);
	*s = (struct fpm_status) { 0 };
}

bool fpm_status_proc_is_busy(const struct fpm_proc *p)
{
	return strcmp(p->state, "Idle") != 0;
}

unsigned long long fpm_status_longest_busy_us(const struct fpm_status *s)
{
	unsigned long long longest = 0;

	for (size_t i = 0; i < s->n_procs; i++)
		if (fpm_status_proc_is_busy(&s->procs[i]) && s->procs[i].request_duration_us > longest)
			longest = s->procs[i].request_duration_us;
	return longest;
}
