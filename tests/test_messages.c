/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/frontend/messages.c: the sentences the front end words
 * from the helper's error codes. Every code of PROTO_ERRORS must have its
 * own wording (a new code without one fails here), and a representative
 * set is compared byte for byte: the integration tests grep these sentences
 * (integration/test_concurrent.sh "locked by pid", hostile/test_19 "timed
 * out after 2 s", hostile/test_08 "was stopped after writing more than
 * max_size", test_fpm_check.sh "did not come back", ...).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "messages.h"
#include "proto.h"
#include "util.h"

#define ID "20261126T041056Z-v1.4.2"
#define SUBJECT "SUBJECT-of-the-failure"

static const char *const code_names[] = {
#define PROTO_X(u) [ERR_##u] = #u,
	PROTO_ERRORS(PROTO_X)
#undef PROTO_X
};

static int config_setup(void **state)
{
	static struct config cfg;

	config_init(&cfg);
	strcpy(cfg.path, "/etc/cutover/shop.conf");
	strcpy(cfg.app, "shop");
	strcpy(cfg.root, "/srv/shop");
	strcpy(cfg.live, "/srv/shop/live");
	cfg.build_timeout = 600;
	cfg.max_size = 2147483648ULL;
	cfg.max_files = 200000;
	cfg.fpm.enabled = true;
	cfg.fpm.timeout = 30;
	strcpy(cfg.fpm.pid_file, "/run/php/php8.3-fpm.pid");
	strcpy(cfg.fpm.socket, "/run/php/shop.sock");
	*state = &cfg;
	return 0;
}

static struct helper_error error_of(enum proto_error code, int status, const char *subject)
{
	struct helper_error e = { .status = status, .code = code };

	str_copy(e.subject, sizeof(e.subject), subject);
	str_copy(e.id, sizeof(e.id), ID);
	e.arg[0] = OP_SWITCH;
	e.arg[1] = PV_DEPLOY;
	return e;
}

static void format(const struct config *cfg, const struct helper_error *e, char *buf, size_t n)
{
	memset(buf, 'x', n);
	messages_format(e, cfg, buf, n);
}

/* The codes whose sentence is the deeper module's own words, passed on. */
static bool passes_subject_on(enum proto_error code)
{
	switch (code) {
	case ERR_NONE:
	case ERR_MESSAGE:
	case ERR_SETUP:
	case ERR_LAYOUT:
	case ERR_MOUNT_POINTS:
	case ERR_FREEZE:
	case ERR_PUBLISH:
	case ERR_REPAIR:
	case ERR_FPM_MASTER:
	case ERR_FPM_SLOT:
	case ERR_CHECK_BIND:
		return true;
	default:
		return false;
	}
}

/* Every code is worded: the sentence is neither empty nor the fallback
 * (the subject as it came, or strerror), unless the code is one that
 * passes its subject on by design. */
static void test_every_code_is_worded(void **state)
{
	const struct config *cfg = *state;
	char buf[2048];

	for (unsigned code = 0; code < ERR_MAX; code++) {
		struct helper_error e = error_of((enum proto_error)code, -EIO, SUBJECT);

		format(cfg, &e, buf, sizeof(buf));
		assert_non_null(memchr(buf, '\0', sizeof(buf)));
		assert_true(buf[0] != '\0');
		if (passes_subject_on((enum proto_error)code)) {
			assert_string_equal(buf, SUBJECT);
			continue;
		}
		if (strcmp(buf, SUBJECT) == 0 || strcmp(buf, strerror(EIO)) == 0)
			fail_msg("error code ERR_%s has no wording in messages_format", code_names[code]);
	}
}

/* Without a config (a failure before it was read) nothing crashes, and every
 * sentence is still non-empty. */
static void test_every_code_without_config(void **state)
{
	char buf[2048];

	(void)state;
	for (unsigned code = 0; code < ERR_MAX; code++) {
		struct helper_error e = error_of((enum proto_error)code, -ENOENT, "");

		format(NULL, &e, buf, sizeof(buf));
		if (buf[0] == '\0')
			fail_msg("ERR_%s with no subject and no config: an empty sentence", code_names[code]);
	}
}

/* A code past ERR_MAX (a newer helper) falls back to the subject. */
static void test_unknown_code_falls_back(void **state)
{
	struct proto_msg rep;
	struct helper_error e;
	char buf[256];

	proto_init(&rep, OP_REPLY);
	rep.status = -EACCES;
	rep.error = ERR_MAX + 7;
	strcpy(rep.text, "what the helper said");
	helper_error_from_reply(&e, &rep);
	assert_int_equal(e.code, ERR_NONE);
	format(*state, &e, buf, sizeof(buf));
	assert_string_equal(buf, "what the helper said");
	rep.text[0] = '\0';
	helper_error_from_reply(&e, &rep);
	format(*state, &e, buf, sizeof(buf));
	assert_string_equal(buf, strerror(EACCES));
}

struct expected {
	enum proto_error code;
	int status;
	const char *subject;
	uint64_t arg[4];
	const char *sentence;
};

static void test_exact_sentences(void **state)
{
	const struct expected cases[] = {
		{ ERR_LOCKED, -EBUSY, "pid 4242 (deploy by alice)", { 0 },
		  "shop is locked by pid 4242 (deploy by alice)" },
		{ ERR_NOT_FROZEN, -EINVAL, "", { 0 },
		  "release " ID " is not a frozen release of shop; run 'cutover list shop' to see the releases" },
		{ ERR_LABEL_INVALID, -EINVAL, "", { 0 },
		  "--label may only hold letters, digits, '.', '_' and '-' (at most 40, starting with a letter or digit)" },
		{ ERR_LABEL_LONG, -ENAMETOOLONG, "", { 0 }, "label is too long for a release id" },
		{ ERR_STEP_TIMEOUT, -ETIMEDOUT, "", { 0 }, "timed out after 600 s (timeout = 600 in [build])" },
		{ ERR_STEP_DISK, -EFBIG, "", { 0 },
		  "was stopped after writing more than max_size = 2147483648 bytes to disk ([build] max_size)" },
		{ ERR_NOT_ALLOWED, -EPERM, "", { OP_FREEZE, PV_SWITCH },
		  "helper: request 'freeze' is not allowed for 'switch' at this point" },
		{ ERR_OUT_OF_ORDER, -EPERM, "", { OP_RUN_STEP, PV_DEPLOY }, "helper: request 'run-step' out of order" },
		{ ERR_OP_FAILED, -ENOMEM, "", { OP_LIST, 0 }, "list failed: Cannot allocate memory" },
		{ ERR_GIT_SOURCE, -EINVAL, "URL must not start with '-'", { 0 },
		  "git source: URL must not start with '-'" },
		{ ERR_FPM_PID_FILE, -EINVAL, "", { 0 }, "[fpm] pid_file is not set in /etc/cutover/shop.conf" },
		{ ERR_FPM_SOCKET, -EINVAL, "", { 0 }, "[fpm] socket is not set in /etc/cutover/shop.conf" },
		{ ERR_FPM_ADDRESS, -EINVAL, "", { 0 }, "[fpm] socket = /run/php/shop.sock is not a usable address" },
		{ ERR_FCGI_CONNECT, -ECONNREFUSED, "", { 0 },
		  "cannot connect to php-fpm at /run/php/shop.sock: Connection refused" },
		{ ERR_FPM_GONE, -ESRCH, "/etc/php/8.3/fpm/php-fpm.conf", { 0 },
		  "php-fpm did not come back after the reload signal: no master runs with /etc/php/8.3/fpm/php-fpm.conf (see its error log)" },
		{ ERR_FPM_RELOAD, -ETIMEDOUT, "", { 0, 0, 3u | (2ull << 32) },
		  "the php-fpm reload did not complete within 30 s (3 old children, some still running, 2 new)" },
		{ ERR_FPM_RELOAD, -ETIMEDOUT, "", { 1, 0, 3u },
		  "the php-fpm reload did not complete within 30 s (3 old children, all gone, 0 new)" },
		{ ERR_TOO_BIG, -EFBIG, "", { 3000000000ull, 12 },
		  "the built release holds 3000000000 bytes in 12 entries, more than max_size/max_files in [build] allow" },
		{ ERR_ALREADY, -EALREADY, "", { 0 }, "release " ID " is already current" },
		{ ERR_NO_PREVIOUS, -ENOENT, "", { 0 }, "release " ID " has no previous release to roll back to" },
		{ ERR_NO_CURRENT, -ENOENT, "", { 0 }, "shop has no current release to roll back from" },
		{ ERR_CURRENT_BAD, -EUCLEAN, "", { 0 },
		  "/srv/shop/current is not a symlink to releases/<id>; refusing to replace it (move it away by hand)" },
		{ ERR_PRUNE_CURRENT, -EUCLEAN, "", { 0 },
		  "/srv/shop/current is not a symlink to releases/<id>; not pruning anything" },
		{ ERR_TAMPERED, -EPERM, "", { 0 },
		  "releases/" ID " is missing or no longer frozen (not root-owned read-only); refusing to publish it" },
		{ ERR_PARTIAL, -EXDEV, "/srv/shop/live still shows the old release", { 0 },
		  "release " ID " is recorded as current, but /srv/shop/live still shows the old release; run 'cutover mount shop' to finish" },
		{ ERR_BIND_LOCK, -EIO, "cannot make /srv/shop a shared mount: Invalid argument", { 0 },
		  "cannot make /srv/shop a shared mount: Invalid argument; run 'cutover mount shop' once the cause is fixed" },
		{ ERR_WAIT_RANGE, -ERANGE, "", { 0 }, "--wait must be at most 86400 seconds" },
		{ ERR_KEEP_RANGE, -ERANGE, "", { 0 }, "--keep must be from 1 to 1000" },
		{ ERR_LINK_SHARED, -EEXIST, "", { 0 }, "linking shared paths failed: File exists" },
		{ ERR_LINK_SHARED, -EEXIST, "shared/.env is a symlink", { 0 },
		  "linking shared paths failed: shared/.env is a symlink" },
		{ ERR_ABORT, -EBUSY, "", { 0 }, "cleaning up release " ID " failed: Device or resource busy" },
		{ ERR_FPM_STATUS_PATH, -EINVAL, "", { 0 }, "[fpm] status_path is not set" },
		{ ERR_FPM_TEST, -EIO, "/etc/php/8.3/fpm/php-fpm.conf", { EACCES, 0 },
		  "php-fpm -t of /etc/php/8.3/fpm/php-fpm.conf failed (Permission denied): LINE" },
		/* the notes of a successful reply, and check's problems */
		{ ERR_NOTE_NOTHING_DEPLOYED, 0, "", { 0 }, "nothing deployed yet" },
		{ ERR_NOTE_CURRENT_BAD, 0, "", { 0 },
		  "/srv/shop/current is not a symlink to releases/<id>; /srv/shop/live left as it is" },
		{ ERR_NOTE_NOT_FROZEN, 0, ID, { 0 },
		  "the current release " ID " is not frozen; /srv/shop/live left as it is" },
		{ ERR_NOTE_SERVES, 0, ID, { 0 }, "/srv/shop/live serves " ID },
		{ ERR_NOTE_REPAIRED, 0, ID, { 1, 0, 0 }, "/srv/shop/live now serves " ID " (repaired: 1 stacked mount removed)" },
		{ ERR_NOTE_REPAIRED, 0, ID, { 2, 1, 1 },
		  "/srv/shop/live now serves " ID " (repaired: 2 stacked mounts removed, release mounted, also in php-fpm's mount namespace)" },
		{ ERR_NOTE_REPAIRED, 0, ID, { 0, 0, 1 },
		  "/srv/shop/live now serves " ID " (repaired: also in php-fpm's mount namespace)" },
		{ ERR_NOTE_KEPT, 0, "", { 0 }, "kept" },
		{ ERR_NOTE_REMOVED, 0, "", { 0 }, "removed" },
		{ ERR_NOTE_HISTORY, 0, "", { 0 }, "warning: history not recorded" },
		{ ERR_CHECK_CURRENT_BAD, 0, "", { 0 },
		  "/srv/shop/current is not a symlink to releases/<id>; switch will refuse to replace it" },
		{ ERR_CHECK_MOUNT_TABLE, 0, "", { 0 }, "cannot read the mount table" },
		{ ERR_CHECK_LIVE_STALE, 0, "2 mounts are stacked there (x on top)", { 0 },
		  "/srv/shop/live does not serve the current release " ID ": 2 mounts are stacked there (x on top); run 'cutover mount shop'" },
		{ ERR_CHECK_ROOT_NOT_SHARED, 0, "", { 0 },
		  "/srv/shop is not a shared mount of its own: a switch would not reach php-fpm in another mount namespace; run 'cutover mount shop'" },
		{ ERR_CHECK_NO_SHELL, 0, "", { 0 }, "/bin/sh is missing: build steps cannot run" },
	};
	char buf[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct helper_error e = error_of(cases[i].code, cases[i].status, cases[i].subject);

		memcpy(e.arg, cases[i].arg, sizeof(e.arg));
		str_copy(e.detail, sizeof(e.detail), "LINE");
		format(*state, &e, buf, sizeof(buf));
		if (strcmp(buf, cases[i].sentence) != 0)
			fail_msg("ERR_%s:\n  got      '%s'\n  expected '%s'", code_names[cases[i].code], buf,
				 cases[i].sentence);
	}
}

/* A reply with no note says nothing; one with a note says it. */
static void test_note_none_is_empty(void **state)
{
	struct proto_msg rep;
	struct helper_error note;
	char buf[256] = "x";

	proto_init(&rep, OP_REPLY);
	helper_note_from_msg(&note, &rep);
	assert_int_equal(note.status, 0);
	messages_format_note(&note, *state, buf, sizeof(buf));
	assert_string_equal(buf, "");
	rep.error = ERR_NOTE_SERVES;
	strcpy(rep.text, ID);
	helper_note_from_msg(&note, &rep);
	messages_format_note(&note, *state, buf, sizeof(buf));
	assert_string_equal(buf, "/srv/shop/live serves " ID);
}

/* A short buffer truncates, NUL-terminated. */
static void test_short_buffer(void **state)
{
	struct helper_error e = error_of(ERR_NO_CURRENT, -ENOENT, "");
	char buf[8];

	format(*state, &e, buf, sizeof(buf));
	assert_string_equal(buf, "shop ha");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_every_code_is_worded, config_setup),
		cmocka_unit_test(test_every_code_without_config),
		cmocka_unit_test_setup(test_unknown_code_falls_back, config_setup),
		cmocka_unit_test_setup(test_exact_sentences, config_setup),
		cmocka_unit_test_setup(test_note_none_is_empty, config_setup),
		cmocka_unit_test_setup(test_short_buffer, config_setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
