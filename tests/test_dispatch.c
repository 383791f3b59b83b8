/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for helpers/dispatch.c: the helper's serve loop and its
 * default-deny dispatch rows. A helper is served over a socketpair with
 * forged records; every refusal must end the run (helper_serve returns
 * < 0, at most one error reply, nothing after it is read) and leave the
 * app root as it was. Only ops whose handlers need no privileges are let
 * through (list, status, history of an app not set up yet), so the test
 * runs as any user. The table in docs/SECURITY.md is compared with the
 * rows the code serves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "proto.h"
#include "util.h"

struct fixture {
	char root[64];
	int peer;                 /* the front end's end */
	struct helper h;
};

static char snapshot_buf[8192];

static int snapshot_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	size_t o = strlen(snapshot_buf);

	snprintf(snapshot_buf + o, sizeof(snapshot_buf) - o, "%s %o %lld %ld\n", path,
		 (unsigned)st->st_mode, (long long)st->st_size, (long)st->st_mtim.tv_nsec);
	return 0;
}

/* Everything below root, with modes, sizes and mtimes. */
static void snapshot(const char *root, char *out, size_t n)
{
	snapshot_buf[0] = '\0';
	assert_int_equal(nftw(root, snapshot_one, 16, FTW_PHYS), 0);
	str_copy(out, n, snapshot_buf);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	strcpy(f->root, "/tmp/test_dispatch.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	/* Something to notice a change to. */
	assert_int_equal(mkdir(strcat(strcpy(snapshot_buf, f->root), "/releases"), 0755), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	f->h = (struct helper){ .sock = sv[0], .lock_fd = -EBADF, .tree_fd = -EBADF, .absent = true };
	str_copy(f->h.cfg.app, sizeof(f->h.cfg.app), "shop");
	str_copy(f->h.cfg.root, sizeof(f->h.cfg.root), f->root);
	str_copy(f->h.who, sizeof(f->h.who), "root");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	close(f->h.sock);
	close(f->peer);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void set_verb(struct fixture *f, enum proto_verb v, enum proto_phase ph)
{
	f->h.verb = v;
	f->h.verb_name = proto_verb_name(v);
	f->h.phase = ph;
}

static void send_op(struct fixture *f, unsigned op, const char *id)
{
	struct proto_msg m;

	proto_init(&m, OP_NONE);
	m.op = (uint16_t)op;
	if (id)
		memcpy(m.id, id, strlen(id) + 1);
	assert_int_equal(send(f->peer, &m, sizeof(m), 0), (ssize_t)sizeof(m));
}

/* Serves everything queued (the front end has hung up after it) and
 * returns what helper_serve returned. */
static int serve_queued(struct fixture *f)
{
	assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
	return helper_serve(&f->h);
}

/* The next message the helper sent, or -EAGAIN if none is left. */
static int next_reply(struct fixture *f, struct proto_msg *m)
{
	char buf[sizeof(*m) + 16];
	ssize_t n = recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	return proto_decode(buf, (size_t)n, m);
}

/* The run ended with one refusal and nothing else, and changed nothing. */
static void expect_refused(struct fixture *f, const char *before, int served, bool replied)
{
	struct proto_msg m;
	char after[sizeof(snapshot_buf)];

	assert_true(served < 0);
	if (replied) {
		assert_int_equal(next_reply(f, &m), 0);
		assert_int_equal(m.op, OP_REPLY);
		assert_int_equal(m.status, -EPERM);
	}
	assert_int_equal(next_reply(f, &m), -EAGAIN);
	snapshot(f->root, after, sizeof(after));
	assert_string_equal(before, after);
}

static void test_wrong_verb(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];

	snapshot(f->root, before, sizeof(before));
	set_verb(f, PV_LIST, PH_START);
	send_op(f, OP_LOCK, NULL);
	send_op(f, OP_LIST, NULL);     /* never read */
	expect_refused(f, before, serve_queued(f), true);
}

static void test_wrong_phase(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];

	snapshot(f->root, before, sizeof(before));
	set_verb(f, PV_DEPLOY, PH_START);
	send_op(f, OP_FREEZE, NULL);
	expect_refused(f, before, serve_queued(f), true);
	assert_int_equal(f->h.phase, PH_START);
}

/* migrate (issue 12): select only for migrate and only once locked; no
 * verb but deploy and migrate runs migrations; migrate never stages,
 * switches or aborts. */
static void test_migrate_rows(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];
	static const struct { enum proto_verb v; enum proto_phase ph; unsigned op; } refused[] = {
		{ PV_STAGE, PH_LOCKED, OP_SELECT }, { PV_DEPLOY, PH_LOCKED, OP_SELECT },
		{ PV_SWITCH, PH_LOCKED, OP_SELECT }, { PV_MIGRATE, PH_START, OP_SELECT },
		{ PV_STAGE, PH_FROZEN, OP_MIGRATE }, { PV_SWITCH, PH_FROZEN, OP_MIGRATE },
		{ PV_MIGRATE, PH_LOCKED, OP_MIGRATE }, { PV_MIGRATE, PH_LOCKED, OP_STAGE_BEGIN },
		{ PV_MIGRATE, PH_FROZEN, OP_SWITCH }, { PV_MIGRATE, PH_FROZEN, OP_ABORT },
		{ PV_MIGRATE, PH_FROZEN, OP_HOOK }, { PV_MIGRATE, PH_FROZEN, OP_PRUNE },
	};

	for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
		set_verb(f, refused[i].v, refused[i].ph);
		assert_false(helper_permits(&f->h, refused[i].op, refused[i].ph));
	}
	set_verb(f, PV_MIGRATE, PH_START);
	assert_true(helper_permits(&f->h, OP_LOCK, PH_START));
	assert_true(helper_permits(&f->h, OP_LIST, PH_START));
	assert_true(helper_permits(&f->h, OP_SELECT, PH_LOCKED));
	assert_true(helper_permits(&f->h, OP_MIGRATE, PH_FROZEN));
	/* Served: a select before the lock ends the run, nothing changed. */
	snapshot(f->root, before, sizeof(before));
	send_op(f, OP_SELECT, "b42");
	expect_refused(f, before, serve_queued(f), true);
	assert_int_equal(f->h.phase, PH_START);
	assert_string_equal(f->h.id, "");
}

static void test_once_twice(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];
	struct proto_msg m;

	snapshot(f->root, before, sizeof(before));
	set_verb(f, PV_LIST, PH_START);
	send_op(f, OP_LIST, NULL);
	send_op(f, OP_LIST, NULL);
	send_op(f, OP_LIST, NULL);     /* never read */
	int r = serve_queued(f);
	/* The first is served: nothing deployed, an empty listing. */
	assert_int_equal(next_reply(f, &m), 0);
	assert_int_equal(m.op, OP_END);
	expect_refused(f, before, r, true);
}

static void test_once_per_op(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];
	struct proto_msg m;

	/* status and history are separate once-only rows: both served. */
	snapshot(f->root, before, sizeof(before));
	set_verb(f, PV_STATUS, PH_START);
	send_op(f, OP_STATUS, NULL);
	send_op(f, OP_HISTORY, NULL);
	send_op(f, OP_HISTORY, NULL);
	int r = serve_queued(f);
	assert_int_equal(next_reply(f, &m), 0);
	assert_int_equal(m.op, OP_REPLY);
	assert_int_equal(m.status, 0);
	assert_int_equal(m.arg[1], 1);   /* not set up yet */
	assert_int_equal(next_reply(f, &m), 0);
	assert_int_equal(m.op, OP_REPLY);
	assert_int_equal(m.status, 0);
	expect_refused(f, before, r, true);
}

static void test_clean_end(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m;

	set_verb(f, PV_LIST, PH_START);
	send_op(f, OP_LIST, NULL);
	assert_int_equal(serve_queued(f), 0);
	assert_int_equal(next_reply(f, &m), 0);
	assert_int_equal(m.op, OP_END);
	assert_int_equal(next_reply(f, &m), -EAGAIN);
}

static void test_not_requests(void **state)
{
	static const unsigned bad[] = {
		OP_NONE, OP_REQUEST_MAX, OP_READER_MIN + 1 /* source-open */, OP_REPLY, OP_END,
	};
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];

	snapshot(f->root, before, sizeof(before));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct fixture g = *f;
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		g.h.sock = sv[0];
		g.peer = sv[1];
		set_verb(&g, PV_DEPLOY, PH_START);
		send_op(&g, bad[i], NULL);
		int r = serve_queued(&g);
		/* An op number the decoder does not know ends the run before
		 * dispatch, without a reply; a known non-request is refused. */
		struct proto_msg m;
		int got = next_reply(&g, &m);
		assert_true(r < 0);
		if (got == 0)
			assert_int_equal(m.status, -EPERM);
		assert_int_equal(next_reply(&g, &m), -EAGAIN);
		close(sv[0]);
		close(sv[1]);
	}
	char after[sizeof(snapshot_buf)];
	snapshot(f->root, after, sizeof(after));
	assert_string_equal(before, after);
}

static void test_bad_id(void **state)
{
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];

	snapshot(f->root, before, sizeof(before));
	set_verb(f, PV_SWITCH, PH_LOCKED);
	send_op(f, OP_SWITCH, "../../etc");
	expect_refused(f, before, serve_queued(f), false);
}

static void test_bad_records(void **state)
{
	static const size_t sizes[] = { 0, 1, 10, sizeof(struct proto_msg) - 1, sizeof(struct proto_msg) + 1 };
	struct fixture *f = *state;
	char before[sizeof(snapshot_buf)];

	snapshot(f->root, before, sizeof(before));
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		char buf[sizeof(struct proto_msg) + 1];
		struct proto_msg m;
		int sv[2], r;

		proto_init(&m, OP_LIST);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &m, sizeof(m));
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		f->h.sock = sv[0];
		set_verb(f, PV_LIST, PH_START);
		memset(f->h.used_once, 0, sizeof(f->h.used_once));
		assert_int_equal(send(sv[1], buf, sizes[i], 0), (ssize_t)sizes[i]);
		shutdown(sv[1], SHUT_WR);
		r = helper_serve(&f->h);
		if (sizes[i] == 0)
			/* A zero-length record reads as the peer's hang-up. */
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, -EBADMSG);
		assert_int_equal(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
		close(sv[0]);
		close(sv[1]);
	}
	f->h.sock = dup(f->peer);   /* teardown closes it */
	char after[sizeof(snapshot_buf)];
	snapshot(f->root, after, sizeof(after));
	assert_string_equal(before, after);
}

/* ---- docs/SECURITY.md's table against the rows ---------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static unsigned op_from_name(const char *name)
{
	for (unsigned op = OP_NONE + 1; op < OP_REQUEST_MAX; op++)
		if (strcmp(proto_op_name(op), name) == 0)
			return op;
	return OP_NONE;
}

static unsigned phases_from_text(const char *cell)
{
	static const char *const names[PH_MAX] = {
#define PROTO_X(u) [PH_##u] = #u,
		PROTO_PHASES(PROTO_X)
#undef PROTO_X
	};
	char buf[256], *save = NULL;
	unsigned mask = 0;

	if (strcmp(cell, "-") == 0)
		return 0;
	str_copy(buf, sizeof(buf), cell);
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		bool found = false;
		for (unsigned p = 0; p < PH_MAX; p++)
			if (strcasecmp(w, names[p]) == 0) {
				mask |= 1u << p;
				found = true;
			}
		if (!found)
			fail_msg("docs/SECURITY.md: unknown phase '%s'", w);
	}
	return mask;
}

static void test_security_md_table(void **state)
{
	static const unsigned once[OP_REQUEST_MAX] = {
#define PROTO_X(u, name, handler, flags, ...) [OP_##u] = (flags) & OPF_ONCE,
		PROTO_REQUESTS(PROTO_X)
#undef PROTO_X
	};
	_cleanup_fclose_ FILE *fp = fopen("docs/SECURITY.md", "re");
	enum proto_verb cols[PV_MAX];
	bool seen[OP_REQUEST_MAX] = { false }, in = false;
	size_t ncols = 0, rows = 0;
	char line[1024];
	struct helper h = { 0 };

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		char *cell[PV_MAX + 2] = { NULL }, *save = NULL;
		size_t n = 0;

		if (strstr(line, "<!-- dispatch-table: begin")) {
			in = true;
			continue;
		}
		if (strstr(line, "<!-- dispatch-table: end"))
			break;
		if (!in || line[0] != '|' || strncmp(line, "|---", 4) == 0)
			continue;
		for (char *c = strtok_r(line + 1, "|", &save); c && n < ELEMENTSOF(cell); c = strtok_r(NULL, "|", &save))
			if (strcmp(trim(c), "") != 0)
				cell[n++] = trim(c);
		if (strcmp(cell[0], "op") == 0) {
			assert_string_equal(cell[1], "once");
			for (size_t i = 2; i < n; i++) {
				cols[ncols] = proto_verb_from_name(cell[i]);
				if (cols[ncols] == PV_NONE)
					fail_msg("docs/SECURITY.md: unknown verb '%s'", cell[i]);
				ncols++;
			}
			assert_int_equal(ncols, PV_MAX - 1);
			continue;
		}
		if (n < 2)
			fail_msg("docs/SECURITY.md: short table row");
		unsigned op = op_from_name(cell[0]);
		if (op == OP_NONE)
			fail_msg("docs/SECURITY.md: unknown op '%s'", cell[0]);
		assert_int_equal(n, ncols + 2);
		if ((strcmp(cell[1], "yes") == 0) != (once[op] != 0))
			fail_msg("docs/SECURITY.md: op %s once = %s, the code says otherwise", cell[0], cell[1]);
		for (size_t i = 0; i < ncols; i++) {
			unsigned doc = phases_from_text(cell[i + 2]), code = 0;

			h.verb = cols[i];
			for (unsigned p = 0; p < PH_MAX; p++)
				if (helper_permits(&h, op, p))
					code |= 1u << p;
			if (doc != code)
				fail_msg("docs/SECURITY.md: op %s for %s: table 0x%x, code 0x%x",
					 cell[0], proto_verb_name(cols[i]), doc, code);
		}
		seen[op] = true;
		rows++;
	}
	assert_true(in);
	for (unsigned op = OP_NONE + 1; op < OP_REQUEST_MAX; op++)
		if (!seen[op])
			fail_msg("docs/SECURITY.md: no row for op %s", proto_op_name(op));
	assert_int_equal(rows, OP_REQUEST_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_verb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_phase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_once_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_once_per_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
		cmocka_unit_test(test_security_md_table),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
