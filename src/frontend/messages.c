/* SPDX-License-Identifier: MIT */
#include "messages.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void helper_error_from_reply(struct helper_error *e, const struct proto_msg *rep)
{
	*e = (struct helper_error) {
		.status = rep->status < 0 ? rep->status : -EIO,
		.code = rep->error < ERR_MAX ? (enum proto_error)rep->error : ERR_NONE,
	};
	str_copy(e->subject, sizeof(e->subject), rep->text);
	str_copy(e->id, sizeof(e->id), rep->id);
	memcpy(e->arg, rep->arg, sizeof(e->arg));
}

void helper_note_from_msg(struct helper_error *note, const struct proto_msg *m)
{
	helper_error_from_reply(note, m);
	note->status = 0;
}

/* The refusals of the dispatcher and failures that need no config. */
static bool format_general(const struct helper_error *e, char *buf, size_t n)
{
	const char *s = e->subject, *why = strerror(-e->status);
	const char *op = proto_op_name((unsigned)e->arg[0]);

	switch (e->code) {
	case ERR_NOT_ALLOWED:
		snprintf(buf, n, "helper: request '%s' is not allowed for '%s' at this point", op,
			 proto_verb_name((enum proto_verb)e->arg[1]));
		return true;
	case ERR_OUT_OF_ORDER:
		snprintf(buf, n, "helper: request '%s' out of order", op);
		return true;
	case ERR_OP_FAILED:
		snprintf(buf, n, "%s failed: %s", op, why);
		return true;
	case ERR_WAIT_RANGE:
		snprintf(buf, n, "--wait must be at most 86400 seconds");
		return true;
	case ERR_LABEL_INVALID:
		snprintf(buf, n, "--label may only hold letters, digits, '.', '_' and '-' (at most 40, starting with a letter or digit)");
		return true;
	case ERR_ID_INVALID:
		snprintf(buf, n, "--id may only hold letters, digits, '.', '_' and '-' (at most %d, starting with a letter "
			 "or digit), may not start like a generated id (YYYYMMDDTHHMMSSZ) nor be 'auto', and does not go "
			 "with --label", RELEASE_ID_MAX);
		return true;
	case ERR_LABEL_LONG:
		snprintf(buf, n, "label is too long for a release id");
		return true;
	case ERR_RECOVER:
		snprintf(buf, n, "cannot clean up leftovers of an earlier run: %s", why);
		return true;
	case ERR_LINK_SHARED:
		snprintf(buf, n, "linking shared paths failed: %s", s[0] ? s : why);
		return true;
	case ERR_TOO_BIG:
		snprintf(buf, n, "the built release holds %llu bytes in %llu entries, more than max_size/max_files in [build] allow",
			 (unsigned long long)e->arg[0], (unsigned long long)e->arg[1]);
		return true;
	case ERR_ABORT:
		snprintf(buf, n, "cleaning up release %s failed: %s", e->id, why);
		return true;
	case ERR_SANDBOX:
		snprintf(buf, n, "cannot start the build sandbox: %s", why);
		return true;
	case ERR_GIT_SOURCE:
		snprintf(buf, n, "git source: %s", s);
		return true;
	case ERR_TAMPERED:
		if (s[0])
			snprintf(buf, n, "releases/%s/%s is no longer frozen (not root-owned read-only, or not a link to its object); "
				 "refusing to publish %s; see 'cutover verify APP %s'", e->id, s, e->id, e->id);
		else
			snprintf(buf, n, "releases/%s is missing or no longer frozen (not root-owned read-only); refusing to publish it", e->id);
		return true;
	case ERR_ALREADY:
		snprintf(buf, n, "release %s is already current", e->id);
		return true;
	case ERR_NO_PREVIOUS:
		snprintf(buf, n, "release %s has no previous release to roll back to", e->id);
		return true;
	case ERR_KEEP_RANGE:
		snprintf(buf, n, "--keep must be from 1 to 1000");
		return true;
	case ERR_MOUNTED:
		snprintf(buf, n, "cannot tell which releases are mounted: %s; not pruning anything", why);
		return true;
	case ERR_REMOVE:
		snprintf(buf, n, "removing release %s failed: %s", e->id, why);
		return true;
	case ERR_FPM_GONE:
		snprintf(buf, n, "php-fpm did not come back after the reload signal: no master runs with %s (see its error log)", s);
		return true;
	case ERR_FPM_STATUS_PATH:
		snprintf(buf, n, "[fpm] status_path is not set");
		return true;
	case ERR_FCGI_BUILD:
		snprintf(buf, n, "cannot build the FastCGI request: %s", why);
		return true;
	case ERR_FPM_TEST:
		snprintf(buf, n, "php-fpm -t of %s failed (%s): %s%s", s,
			 e->arg[0] ? strerror((int)e->arg[0]) : "configuration invalid", e->detail,
			 e->arg[1] == 1 ? "; reload refused, the pool keeps serving" : "");
		return true;
	case ERR_FPM_MEMORY:
		snprintf(buf, n, "a second php-fpm pool needs about %llu MB, %llu MB %s; nothing was started, "
			 "the live site is unchanged (raise [fpm] max_memory or free memory)",
			 (unsigned long long)(e->arg[0] / 1024), (unsigned long long)(e->arg[1] / 1024),
			 e->arg[2] ? "allowed by [fpm] max_memory" : "available");
		return true;
	case ERR_NOTE_NOTHING_DEPLOYED:
		snprintf(buf, n, "nothing deployed yet");
		return true;
	case ERR_NOTE_KEPT:
		snprintf(buf, n, "kept");
		return true;
	case ERR_NOTE_REMOVED:
		snprintf(buf, n, "removed");
		return true;
	case ERR_NOTE_HISTORY:
		snprintf(buf, n, "warning: history not recorded");
		return true;
	case ERR_CHECK_MOUNT_TABLE:
		snprintf(buf, n, "cannot read the mount table");
		return true;
	case ERR_CHECK_NO_SHELL:
		snprintf(buf, n, "/bin/sh is missing: build steps cannot run");
		return true;
	case ERR_SETUP:
	case ERR_LAYOUT:
	case ERR_MOUNT_POINTS:
	case ERR_FREEZE:
	case ERR_PUBLISH:
	case ERR_REPAIR:
	case ERR_FPM_MASTER:
	case ERR_FPM_SLOT:
	case ERR_CHECK_BIND:
	case ERR_MESSAGE:
		/* The deeper module's own words (a path, what is wrong); with
		 * none, the generic fallback says the errno rather than nothing. */
		if (!s[0])
			return false;
		snprintf(buf, n, "%s", s);
		return true;
	default:
		return false;
	}
}

/* What the repair of live did (arg[] of NOTE_REPAIRED). */
static void format_repaired(const struct helper_error *e, char *buf, size_t n)
{
	size_t o;

	buf[0] = '\0';
	if (e->arg[0])
		snprintf(buf, n, "%llu stacked mount%s removed", (unsigned long long)e->arg[0],
			 e->arg[0] == 1 ? "" : "s");
	o = strlen(buf);
	if (e->arg[1])
		snprintf(buf + o, n - o, "%srelease mounted", o ? ", " : "");
	o = strlen(buf);
	if (e->arg[2])
		snprintf(buf + o, n - o, "%salso in php-fpm's mount namespace", o ? ", " : "");
}

/* The notes of a successful run and the problems of check, worded with
 * the app's configuration. */
static bool format_note_with_config(const struct helper_error *e, const struct config *cfg, char *buf, size_t n)
{
	const char *s = e->subject;
	char what[160];

	switch (e->code) {
	case ERR_NOTE_CURRENT_BAD:
		snprintf(buf, n, "%s/current is not a symlink to releases/<id>; %s left as it is", cfg->root, cfg->live);
		return true;
	case ERR_NOTE_NOT_FROZEN:
		snprintf(buf, n, "the current release %s is not frozen; %s left as it is", s, cfg->live);
		return true;
	case ERR_NOTE_SERVES:
		snprintf(buf, n, "%s serves %s", cfg->live, s);
		return true;
	case ERR_NOTE_REPAIRED:
		format_repaired(e, what, sizeof(what));
		snprintf(buf, n, "%s now serves %s (repaired: %s)", cfg->live, s, what);
		return true;
	case ERR_CHECK_CURRENT_BAD:
		snprintf(buf, n, "%s/current is not a symlink to releases/<id>; switch will refuse to replace it", cfg->root);
		return true;
	case ERR_CHECK_LIVE_STALE:
		snprintf(buf, n, "%s does not serve the current release %s: %s; run 'cutover mount %s'",
			 cfg->live, e->id, s, cfg->app);
		return true;
	case ERR_CHECK_ROOT_NOT_SHARED:
		snprintf(buf, n, "%s is not a shared mount of its own: a switch would not reach php-fpm "
			 "in another mount namespace; run 'cutover mount %s'", cfg->root, cfg->app);
		return true;
	default:
		return false;
	}
}

/* Failures worded with the app's configuration. */
static bool format_with_config(const struct helper_error *e, const struct config *cfg, char *buf, size_t n)
{
	const char *s = e->subject, *why = strerror(-e->status);

	switch (e->code) {
	case ERR_LOCKED:
		snprintf(buf, n, "%s is locked by %s", cfg->app, s);
		return true;
	case ERR_BIND_LOCK:
		snprintf(buf, n, "%s; run 'cutover mount %s' once the cause is fixed", s, cfg->app);
		return true;
	case ERR_STEP_TIMEOUT:
		snprintf(buf, n, "timed out after %u s (timeout = %u in [build])", cfg->build_timeout, cfg->build_timeout);
		return true;
	case ERR_STEP_DISK:
		snprintf(buf, n, "was stopped after writing more than max_size = %llu bytes to disk ([build] max_size)",
			 cfg->max_size);
		return true;
	case ERR_STEP_DISK_FULL:
		snprintf(buf, n, "was stopped: it filled the filesystem of %s/releases (no space left)", cfg->root);
		return true;
	case ERR_NO_MANIFEST:
		snprintf(buf, n, "release %s has no readable entries file (%s/.cutover/entries/%s.manifest): it was frozen "
			 "before the object store, or the file was damaged; its sha256sum manifest is in %s/.cutover/manifest/",
			 e->id, cfg->root, e->id, cfg->root);
		return true;
	case ERR_NOT_FROZEN:
		snprintf(buf, n, "release %s is not a frozen release of %s; run 'cutover list %s' to see the releases",
			 e->id, cfg->app, cfg->app);
		return true;
	case ERR_EXISTS:
		snprintf(buf, n, "release %s exists already with other content; nothing was changed (a new build "
			 "needs a new --id)", e->id);
		return true;
	case ERR_CURRENT_BAD:
		snprintf(buf, n, "%s/current is not a symlink to releases/<id>; refusing to replace it (move it away by hand)", cfg->root);
		return true;
	case ERR_PARTIAL:
		snprintf(buf, n, "release %s is recorded as current, but %s; run 'cutover mount %s' to finish",
			 e->id, s, cfg->app);
		return true;
	case ERR_NO_CURRENT:
		snprintf(buf, n, "%s has no current release to roll back from", cfg->app);
		return true;
	case ERR_PRUNE_CURRENT:
		snprintf(buf, n, "%s/current is not a symlink to releases/<id>; not pruning anything", cfg->root);
		return true;
	case ERR_FPM_PID_FILE:
		snprintf(buf, n, "[fpm] pid_file is not set in %s", cfg->path);
		return true;
	case ERR_FPM_RELOAD:
		snprintf(buf, n, "the php-fpm reload did not complete within %u s (%u old children, %s, %u new)",
			 cfg->fpm.timeout, (unsigned)(e->arg[2] & 0xffffffffu),
			 e->arg[0] ? "all gone" : "some still running", (unsigned)(e->arg[2] >> 32));
		return true;
	case ERR_FPM_SOCKET:
		snprintf(buf, n, "[fpm] socket is not set in %s", cfg->path);
		return true;
	case ERR_FPM_ADDRESS:
		snprintf(buf, n, "[fpm] socket = %s is not a usable address", cfg->fpm.socket);
		return true;
	case ERR_FCGI_CONNECT:
		snprintf(buf, n, "cannot connect to php-fpm at %s: %s", cfg->fpm.socket, why);
		return true;
	case ERR_FCGI_SEND:
		snprintf(buf, n, "sending the FastCGI request to %s failed: %s", cfg->fpm.socket, why);
		return true;
	default:
		return format_note_with_config(e, cfg, buf, n);
	}
}

void messages_format(const struct helper_error *e, const struct config *cfg, char *buf, size_t n)
{
	if (format_general(e, buf, n) || (cfg && format_with_config(e, cfg, buf, n)))
		return;
	/* ERR_NONE, a code this front end does not know, or no config yet:
	 * the reply's own text, else the errno. */
	if (e->subject[0])
		snprintf(buf, n, "%s", e->subject);
	else
		snprintf(buf, n, "%s", strerror(-e->status));
}

void messages_format_note(const struct helper_error *note, const struct config *cfg, char *buf, size_t n)
{
	if (note->code == ERR_NONE) {
		if (n)
			buf[0] = '\0';
		return;
	}
	messages_format(note, cfg, buf, n);
}

const char *messages_code(const struct helper_error *e)
{
	switch (e->code) {
	case ERR_LOCKED:
		return "locked";
	case ERR_NOT_FROZEN: case ERR_NO_CURRENT: case ERR_NO_PREVIOUS: case ERR_NO_MANIFEST:
		return "not_found";
	case ERR_TOO_BIG:
		return "too_big";
	case ERR_PARTIAL:
		return "partly_live";
	case ERR_GIT_SOURCE:
		return "source";
	case ERR_SETUP: case ERR_LAYOUT: case ERR_FPM_PID_FILE: case ERR_FPM_SOCKET:
	case ERR_FPM_ADDRESS: case ERR_FPM_STATUS_PATH:
		return "config";
	case ERR_STEP_TIMEOUT: case ERR_STEP_DISK: case ERR_STEP_DISK_FULL:
		return "build_failed";
	case ERR_FREEZE: case ERR_MOUNT_POINTS:
		return "freeze_failed";
	case ERR_PUBLISH:
		return "switch_failed";
	case ERR_FPM_RELOAD: case ERR_FPM_GONE:
		return "reload_failed";
	default:
		return NULL;
	}
}

const char *messages_code_name(enum proto_error code)
{
	static const char *const names[] = {
#define PROTO_X(u) [ERR_##u] = #u,
		PROTO_ERRORS(PROTO_X)
#undef PROTO_X
	};
	static char buf[64];
	const char *n = (unsigned)code < ERR_MAX ? names[code] : "UNKNOWN";
	size_t i = 0;

	if (strncmp(n, "CHECK_", 6) == 0)
		n += 6;
	for (; n[i] && i + 1 < sizeof(buf); i++)
		buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
	buf[i] = '\0';
	return buf;
}
