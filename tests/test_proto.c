/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/common/proto.c, the message codec between the front end and
 * the helper. Round trips go through a real SOCK_SEQPACKET socketpair, with
 * and without an fd attached; hostile records are written to the socket
 * raw (sendmsg) or handed to proto_decode as bytes, and every fd that
 * arrives is accounted for by counting /proc/self/fd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "proto.h"
#include "util.h"

#define ID1 "20261126T041056Z"
#define ID2 "20261125T235959Z-v1.4.2"

struct fixture {
	int sv[2];    /* sv[0]: sender, sv[1]: receiver */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->sv) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->sv[0] >= 0)
		close(f->sv[0]);
	close(f->sv[1]);
	free(f);
	return 0;
}

/* Open fds of this process, not counting the one used to list them. */
static int count_fds(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	return n - 1;
}

/* A message with every field set to something recognisable. */
static void sample(struct proto_msg *m, enum proto_op op)
{
	proto_init(m, op);
	m->status = -EBUSY;
	m->arg[0] = 1;
	m->arg[1] = UINT64_MAX;
	m->arg[2] = 0x0102030405060708ULL;
	m->arg[3] = RELEASE_FROZEN | RELEASE_FLAG_CURRENT;
	strcpy(m->id, ID1);
	strcpy(m->id2, ID2);
	strcpy(m->text, "git+https://example.com/shop.git#v1.4.2");
	m->len = (uint32_t)strlen(m->text);
}

/* Sends buf as one record with nfds fds attached (raw, no encoding). */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	assert_true(nfds <= 16);
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void assert_msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
	assert_int_equal(a->magic, b->magic);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->len, b->len);
	for (size_t i = 0; i < ELEMENTSOF(a->arg); i++)
		assert_true(a->arg[i] == b->arg[i]);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->id2, b->id2);
	assert_string_equal(a->text, b->text);
	assert_memory_equal(a, b, sizeof(*a));
}

/* ---- round trips ---------------------------------------------------- */

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int fd = 12345;

	sample(&m, OP_SWITCH);
	assert_int_equal(proto_send(f->sv[0], &m, -EBADF), 0);
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), 0);
	assert_int_equal(fd, -EBADF);
	assert_msg_equal(&got, &m);

	/* A reply with empty ids, received without asking for an fd. */
	proto_init(&m, OP_END);
	assert_int_equal(proto_send(f->sv[0], &m, -1), 0);
	memset(&got, 0xaa, sizeof(got));
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), 0);
	assert_msg_equal(&got, &m);
	assert_int_equal(got.op, OP_END);
	assert_string_equal(got.id, "");
}

static void test_roundtrip_output_chunk(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;

	/* Build output is bytes, not a string: NULs inside survive, len says
	 * how much is used. */
	proto_init(&m, OP_OUTPUT);
	memcpy(m.text, "a\0b\x1b[2J\n", 8);
	m.len = 8;
	assert_int_equal(proto_send(f->sv[0], &m, -1), 0);
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), 0);
	assert_int_equal(got.len, 8);
	assert_memory_equal(got.text, "a\0b\x1b[2J\n", 8);
}

static void test_roundtrip_with_fd(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int p[2], fd = -EBADF, before;
	char buf[8];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	sample(&m, OP_STAGE_BEGIN);
	assert_int_equal(proto_send(f->sv[0], &m, p[1]), 0);
	/* The sender keeps its own copy. */
	assert_true(fcntl(p[1], F_GETFD) >= 0);
	close(p[1]);

	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), 0);
	assert_msg_equal(&got, &m);
	assert_true(fd >= 0);
	assert_int_equal(count_fds(), before + 1);
	/* Received close-on-exec, so a build step cannot inherit it. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* And it is the pipe's write end. */
	assert_int_equal(write(fd, "ping", 4), 4);
	close(fd);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	close(p[0]);
}

/* An fd the receiver did not ask for is closed, not leaked. */
static void test_uninvited_fd_closed(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int p[2], before;
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	sample(&m, OP_REPLY);
	assert_int_equal(proto_send(f->sv[0], &m, p[1]), 0);
	close(p[1]);

	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), 0);
	assert_msg_equal(&got, &m);
	assert_int_equal(count_fds(), before);
	/* The last write end is gone: the pipe reads EOF. */
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
}

/* Several fds on one message: the first is handed out, the rest closed. */
static void test_extra_fds_closed(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int fds[3], before, fd = -EBADF;
	struct stat a, b;

	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	sample(&m, OP_HISTORY);
	send_raw(f->sv[0], &m, sizeof(m), fds, ELEMENTSOF(fds));

	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(count_fds(), before + 1);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(fds[0], &b), 0);
	assert_true(a.st_rdev == b.st_rdev && a.st_ino == b.st_ino);
	close(fd);
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		close(fds[i]);
}

/* More fds than the receive buffer holds: MSG_CTRUNC, refused, no leak. */
static void test_too_many_fds(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int fds[12], before, fd = 12345;

	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	sample(&m, OP_HISTORY);
	send_raw(f->sv[0], &m, sizeof(m), fds, ELEMENTSOF(fds));

	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), -EBADMSG);
	assert_int_equal(fd, -EBADF);
	assert_int_equal(count_fds(), before);
	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		close(fds[i]);
}

/* ---- hostile records through the socket ----------------------------- */

static void test_recv_wrong_size(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	char big[sizeof(struct proto_msg) + 100];
	int p[2], before, fd = 12345;

	sample(&m, OP_LIST);
	memset(big, 0, sizeof(big));
	memcpy(big, &m, sizeof(m));

	/* One byte short. */
	send_raw(f->sv[0], &m, sizeof(m) - 1, NULL, 0);
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), -EBADMSG);

	/* One byte over, as one record: seen as oversized, not cut to size. */
	send_raw(f->sv[0], big, sizeof(m) + 1, NULL, 0);
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), -EBADMSG);

	/* Far over (MSG_TRUNC), with an fd that must not leak. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_raw(f->sv[0], big, sizeof(big), &p[1], 1);
	close(p[1]);
	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), -EBADMSG);
	assert_int_equal(fd, -EBADF);
	assert_int_equal(count_fds(), before);
	close(p[0]);

	/* An empty record. */
	send_raw(f->sv[0], big, 0, NULL, 0);
	assert_true(proto_recv(f->sv[1], &got, NULL) < 0);

	/* Each bad record was consumed whole: the next good one reads fine. */
	assert_int_equal(proto_send(f->sv[0], &m, -1), 0);
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), 0);
	assert_msg_equal(&got, &m);
}

/* A valid-size record that fails decoding closes its fd too. */
static void test_recv_bad_message_closes_fd(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m, got;
	int p[2], before, fd = 12345;
	char c;

	sample(&m, OP_LOCK);
	m.magic ^= 1;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_raw(f->sv[0], &m, sizeof(m), &p[1], 1);
	close(p[1]);
	before = count_fds();
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), -EBADMSG);
	assert_int_equal(fd, -EBADF);
	assert_int_equal(count_fds(), before);
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);

	sample(&m, OP_LOCK);
	strcpy(m.id, "../x");
	send_raw(f->sv[0], &m, sizeof(m), NULL, 0);
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), -EINVAL);
}

static void test_recv_eof(void **state)
{
	struct fixture *f = *state;
	struct proto_msg got;
	int fd = 12345;

	close(f->sv[0]);
	f->sv[0] = -EBADF;
	assert_int_equal(proto_recv(f->sv[1], &got, &fd), -ECONNRESET);
	assert_int_equal(fd, -EBADF);
	/* And again: EOF stays EOF. */
	assert_int_equal(proto_recv(f->sv[1], &got, NULL), -ECONNRESET);
}

static void test_send_errors(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m;

	sample(&m, OP_LOCK);
	/* Not an fd: sendmsg refuses to attach it. */
	assert_int_equal(proto_send(f->sv[0], &m, 9999), -EBADF);
	close(f->sv[1]);
	f->sv[1] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	/* Peer gone: EPIPE, without a SIGPIPE killing the test. */
	assert_int_equal(proto_send(f->sv[0], &m, -1), -EPIPE);
}

/* ---- proto_decode --------------------------------------------------- */

/* Decodes m (as raw bytes of n) into a poisoned output. */
static int decode(const struct proto_msg *m, size_t n, struct proto_msg *out)
{
	char buf[sizeof(*m) + 8];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, m, sizeof(*m));
	memset(out, 0xaa, sizeof(*out));
	return proto_decode(buf, n, out);
}

static void test_decode_valid(void **state)
{
	static const unsigned ops[] = {
		OP_LOCK, OP_STAGE_BEGIN, OP_LINK_SHARED, OP_RUN_STEP, OP_FREEZE,
		OP_ABORT, OP_SWITCH, OP_ROLLBACK, OP_PRUNE, OP_LIST, OP_STATUS,
		OP_HISTORY, OP_CHECK, OP_MOUNT, OP_REPLY, OP_OUTPUT, OP_ENTRY, OP_END,
	};
	struct proto_msg m, out;

	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		sample(&m, (enum proto_op)ops[i]);
		if (decode(&m, sizeof(m), &out) != 0)
			fail_msg("op %u refused", ops[i]);
		assert_msg_equal(&out, &m);
	}
}

static void test_decode_bad_header(void **state)
{
	struct proto_msg m, out, poison;
	int r;

	memset(&poison, 0xaa, sizeof(poison));
	sample(&m, OP_LIST);
	assert_int_equal(decode(&m, sizeof(m) - 1, &out), -EBADMSG);
	assert_int_equal(decode(&m, sizeof(m) + 1, &out), -EBADMSG);
	assert_int_equal(decode(&m, 0, &out), -EBADMSG);
	/* out is written only on success. */
	assert_memory_equal(&out, &poison, sizeof(out));

	m.magic = 0x30545544u;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	m.magic = __builtin_bswap32(PROTO_MAGIC);
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	sample(&m, OP_LIST);
	m.version = 0;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	m.version = PROTO_VERSION + 1;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	/* Magic and version are checked before the op is looked at. */
	m.op = 0xffff;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);

	{
		static const unsigned bad_ops[] = {
			0, OP_REQUEST_MAX, OP_REQUEST_MAX + 1, 99, OP_REPLY_MAX, 0xffff,
		};
		for (size_t i = 0; i < ELEMENTSOF(bad_ops); i++) {
			sample(&m, OP_LIST);
			m.op = (uint16_t)bad_ops[i];
			r = decode(&m, sizeof(m), &out);
			if (r != -EPROTO)
				fail_msg("op %u: %d, want -EPROTO", bad_ops[i], r);
		}
	}
	assert_memory_equal(&out, &poison, sizeof(out));
}

static void test_decode_len(void **state)
{
	struct proto_msg m, out;

	sample(&m, OP_OUTPUT);
	m.len = PROTO_TEXT_SIZE;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	m.len = UINT32_MAX;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);
	sample(&m, OP_REPLY);
	m.len = PROTO_TEXT_SIZE + 1;
	assert_int_equal(decode(&m, sizeof(m), &out), -EBADMSG);

	/* The largest len there is. */
	sample(&m, OP_OUTPUT);
	memset(m.text, 'x', sizeof(m.text));
	m.len = PROTO_TEXT_SIZE - 1;
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_int_equal(out.len, PROTO_TEXT_SIZE - 1);
}

static void test_decode_bad_ids(void **state)
{
	static const char *const bad[] = {
		"../x", "..", ".", "/etc", "a/b", "-rf", "--help", ".hidden",
		"a b", "id\nx",
	};
	struct proto_msg m, out;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		sample(&m, OP_SWITCH);
		strcpy(m.id, bad[i]);
		r = decode(&m, sizeof(m), &out);
		if (r != -EINVAL)
			fail_msg("id \"%s\": %d, want -EINVAL", bad[i], r);
		sample(&m, OP_REPLY);
		strcpy(m.id2, bad[i]);
		r = decode(&m, sizeof(m), &out);
		if (r != -EINVAL)
			fail_msg("id2 \"%s\": %d, want -EINVAL", bad[i], r);
	}

	/* 72 bytes without a NUL: terminated at 71, too long for an id. */
	sample(&m, OP_SWITCH);
	memset(m.id, 'A', sizeof(m.id));
	assert_int_equal(decode(&m, sizeof(m), &out), -EINVAL);
	/* 65 characters: one too many. */
	memset(m.id, 0, sizeof(m.id));
	memset(m.id, 'A', RELEASE_ID_MAX + 1);
	assert_int_equal(decode(&m, sizeof(m), &out), -EINVAL);
	/* 64 is fine. */
	m.id[RELEASE_ID_MAX] = '\0';
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_int_equal(strlen(out.id), RELEASE_ID_MAX);

	/* Bytes after the terminating NUL are not part of the id. */
	sample(&m, OP_SWITCH);
	memcpy(m.id, "abc\0../../etc", 14);
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_string_equal(out.id, "abc");

	/* An id2 without a NUL, after a valid id. */
	sample(&m, OP_ROLLBACK);
	memset(m.id2, '9', sizeof(m.id2));
	assert_int_equal(decode(&m, sizeof(m), &out), -EINVAL);
}

/* Strings arrive without NULs; the decoder terminates them itself. */
static void test_decode_terminates_text(void **state)
{
	struct proto_msg m, out;

	/* A request: text ends at len whatever follows. */
	sample(&m, OP_STAGE_BEGIN);
	memset(m.text, 'x', sizeof(m.text));
	m.len = 5;
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_int_equal(strlen(out.text), 5);
	assert_int_equal(out.len, 5);

	/* len 0: empty. */
	m.len = 0;
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_string_equal(out.text, "");

	/* Build output: the last byte is forced to NUL. */
	sample(&m, OP_OUTPUT);
	memset(m.text, 'y', sizeof(m.text));
	m.len = 10;
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_int_equal(out.text[PROTO_TEXT_SIZE - 1], '\0');
	assert_int_equal(strlen(out.text), PROTO_TEXT_SIZE - 1);
	assert_int_equal(out.len, 10);

	/* A reply whose text is full and len claims all of it. */
	sample(&m, OP_REPLY);
	memset(m.text, 'z', sizeof(m.text));
	m.len = PROTO_TEXT_SIZE - 1;
	assert_int_equal(decode(&m, sizeof(m), &out), 0);
	assert_int_equal(strlen(out.text), PROTO_TEXT_SIZE - 1);
}

static void test_op_name(void **state)
{
	assert_string_equal(proto_op_name(OP_LOCK), "lock");
	assert_string_equal(proto_op_name(OP_STAGE_BEGIN), "stage-begin");
	assert_string_equal(proto_op_name(OP_SWITCH), "switch");
	assert_string_equal(proto_op_name(OP_CHECK), "check");
	assert_string_equal(proto_op_name(OP_MOUNT), "mount");
	assert_string_equal(proto_op_name(0), "unknown");
	assert_string_equal(proto_op_name(OP_REQUEST_MAX), "unknown");
	assert_string_equal(proto_op_name(0xffff), "unknown");
	assert_string_equal(proto_op_name(UINT32_MAX), "unknown");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_roundtrip),
		T(test_roundtrip_output_chunk),
		T(test_roundtrip_with_fd),
		T(test_uninvited_fd_closed),
		T(test_extra_fds_closed),
		T(test_too_many_fds),
		T(test_recv_wrong_size),
		T(test_recv_bad_message_closes_fd),
		T(test_recv_eof),
		T(test_send_errors),
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_bad_header),
		cmocka_unit_test(test_decode_len),
		cmocka_unit_test(test_decode_bad_ids),
		cmocka_unit_test(test_decode_terminates_text),
		cmocka_unit_test(test_op_name),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
