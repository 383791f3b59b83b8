/* SPDX-License-Identifier: MIT */
#include "frontend.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "artifact.h"
#include "fcgi_response.h"
#include <stdarg.h>

#include "health.h"
#include "migrate.h"
#include "reload.h"
#include "history_last.h"
#include "history_view.h"
#include "notify.h"
#include "messages.h"
#include "names.h"
#include "resolve.h"
#include "result.h"
#include "source_client.h"
#include "swap.h"
#include "util.h"

/* For the signal handler: what to stop and what to say. */
static volatile sig_atomic_t sig_sock = -1;
static volatile sig_atomic_t sig_helper = -1;
static volatile sig_atomic_t sig_published = 0;
/* A switch request is out: the helper may have moved the live link
 * before the reply arrives, so "unchanged" can no longer be said. */
static volatile sig_atomic_t sig_switching = 0;
/* The verb builds a release (deploy, stage): the messages name it. */
static volatile sig_atomic_t sig_builds = 0;
/* A migration or hook has started: shared/ (the database) may have changed. */
static volatile sig_atomic_t sig_shared_touched = 0;
/* This run holds the app's lock: a failed deploy may still prune. */
static bool fe_locked;
/* The app's root, for the --json document the signal handler prints. */
static char sig_root[sizeof(((struct config *)0)->root)];

/* The signal handler's last words: the line on stderr, and with --json
 * the document (code "interrupted"), both with write(2) only. */
static void on_signal_say(const char *line, size_t len)
{
	(void)!write(2, line, len);
	result_finish_signal(result_get(), EXIT_FAILED, line + strlen("cutover: "), sig_root[0] ? sig_root : NULL);
}

static void on_signal(int sig)
{
	static const char before[] = "cutover: interrupted; the release being built was removed, the live site is unchanged\n";
	static const char nothing[] = "cutover: interrupted; the live site is unchanged\n";
	static const char touched[] = "cutover: interrupted; the release being built was removed and the live release is "
				      "unchanged, but a migration or hook had started and may have changed shared/ (the database)\n";
	static const char after[] = "cutover: interrupted after the new release was published\n";
	static const char during[] = "cutover: interrupted during the switch; the live site may have changed: "
				     "cutover status shows which release is live\n";
	/* Only the helper's own exit proves its clean-up ran. */
	static const char unclean[] = "cutover: interrupted; the helper ended before its clean-up: a half-built release "
				      "may remain, the next run removes it; the live site is unchanged\n";
	int status = 0;

	if (sig_sock >= 0)
		shutdown(sig_sock, SHUT_RDWR);
	/* The helper sees EOF, stops any build step, removes the half-built
	 * release and exits; only then do we, so the lock is free when the
	 * caller's next command runs. */
	if (sig_helper > 0)
		while (waitpid(sig_helper, &status, 0) < 0 && errno == EINTR)
			;
	if (sig_published)
		on_signal_say(after, sizeof(after) - 1);
	else if (sig_switching)
		on_signal_say(during, sizeof(during) - 1);
	else if (sig_helper > 0 && !WIFEXITED(status))
		on_signal_say(unclean, sizeof(unclean) - 1);
	else if (sig_shared_touched)
		on_signal_say(touched, sizeof(touched) - 1);
	else if (sig_builds)
		on_signal_say(before, sizeof(before) - 1);
	else
		on_signal_say(nothing, sizeof(nothing) - 1);
	_exit(EXIT_FAILED);
}

void frontend_switching(bool on)
{
	sig_switching = on;
}

void frontend_published(void)
{
	sig_published = 1;
}

void frontend_install_signals(struct frontend *fe)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sig_sock = fe->sock;
	sig_helper = fe->helper_pid;
	sig_builds = fe->cli.verb == VERB_DEPLOY || fe->cli.verb == VERB_STAGE;
	if (fe->cfg)
		str_copy(sig_root, sizeof(sig_root), fe->cfg->root);
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void frontend_finish(struct frontend *fe)
{
	int status;

	if (fe->sock >= 0) {
		close(fe->sock);
		fe->sock = -1;
		sig_sock = -1;
	}
	client_capture_free(&fe->capture);
	if (fe->helper_pid > 0) {
		while (waitpid(fe->helper_pid, &status, 0) < 0 && errno == EINTR)
			;
		fe->helper_pid = -1;
		sig_helper = -1;
	}
}

/* Build output, as the helper relays it: printed under its step. */
static void print_output(void *ctx, const char *buf, size_t len)
{
	out_build_chunk(ctx, buf, len);
}

/* The one-line wording of a failure the helper reported. */
void fe_why(const struct frontend *fe, const struct helper_error *e, char *buf, size_t n)
{
	messages_format(e, fe->cfg, buf, n);
	result_set_code(result_get(), messages_code(e));
}

/* Prints the "helper stopped" error; returns EXIT_FAILED. */
int fe_helper_lost(struct frontend *fe)
{
	result_force_code(result_get(), "helper_lost");
	if (sig_published)
		out_error("the privileged helper stopped unexpectedly after the switch: the new release is live, "
			  "but the run did not finish (php-fpm reload, health check or prune); run 'cutover status %s'",
			  fe->cfg ? fe->cfg->app : "APP");
	else
		out_error("the privileged helper stopped unexpectedly; nothing was published (see the system log)");
	return EXIT_FAILED;
}

/* What reload.c and health.c need of this run. */
static struct reload_env fe_reload_env(struct frontend *fe)
{
	return (struct reload_env) { .client = &fe->client, .cfg = fe->cfg, .out = &fe->out };
}

/* What went wrong where the helper could not see it, for its history;
 * best effort: a run that failed already says so on stderr. */
static void fe_report(struct frontend *fe, enum history_report kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fe_report(struct frontend *fe, enum history_report kind, const char *fmt, ...)
{
	char why[PROTO_TEXT_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	(void)client_report(&fe->client, kind, why, (now_ns() - fe->start_ns) / 1000000, NULL);
}

static int do_lock(struct frontend *fe)
{
	struct client_lock_result res;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE], note[PROTO_TEXT_SIZE + 256];
	uint64_t t0 = now_ns();
	int r;

	r = client_lock(&fe->client, fe->cli.wait, &res, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, &e, why, sizeof(why));
		if (r == -EBUSY) {
			result_set_code(result_get(), "locked");
			out_error("%s; try again later or pass --wait SECONDS", why);
		}
		else
			out_error("%s", why);
		return EXIT_FAILED;
	}
	fe_locked = true;
	/* Where the live site stands now that no one else can move it. */
	result_set_before(result_get(), fe->cfg->root);
	/* mode = bind: what the repair of live at the start of the run found */
	messages_format_note(&res.note, fe->cfg, note, sizeof(note));
	out_step(&fe->out, "lock", now_ns() - t0, note[0] ? note : NULL);
	return EXIT_OK;
}

int fe_lock(struct frontend *fe)
{
	return do_lock(fe);
}

/* ---- importing the source ------------------------------------------ */

static int import_git(struct frontend *fe, int dirfd, struct extract_stats *st, char *err, size_t errlen)
{
	struct helper_error e;
	uint64_t code = 0;
	int r;

	/* The helper runs git as the deploy user in the build sandbox,
	 * where the release has a path git can use. */
	fe->out.tail_len = 0;
	r = client_fetch_git(&fe->client, fe->cli.from + 4, &code, &e);
	out_build_end(&fe->out);
	if (client_lost(&fe->client)) {
		snprintf(err, errlen, "the privileged helper stopped");
		return r;
	}
	if (r < 0) {
		fe_why(fe, &e, err, errlen);
		return r;
	}
	if (code != 0) {
		/* -q hid it: show what git said, or "above" would be a lie */
		if (fe->out.quiet && fe->out.tail_len)
			out_build_tail(&fe->out);
		snprintf(err, errlen, "git fetch failed (see its output above)");
		return -EIO;
	}
	memset(st, 0, sizeof(*st));
	return artifact_check_tree(dirfd, err, errlen);
}

static int import_source(struct frontend *fe, int dirfd, struct extract_stats *st,
			 char *err, size_t errlen)
{
	struct extract_limits lim = {
		.max_bytes = fe->cfg->max_size, .max_entries = fe->cfg->max_files,
	};
	struct source_open_result src = { .fd = -EBADF };
	_cleanup_close_ int fd = -EBADF;
	enum source_kind kind;
	int r;

	r = source_detect(fe->cli.from, &kind, err, errlen);
	if (r < 0)
		return r;
	if (kind == SOURCE_GIT)
		return import_git(fe, dirfd, st, err, errlen);
	/* The source reader opens it with the caller's credentials. */
	r = source_client_open(fe->reader_sock, fe->cli.from, &src, err, errlen);
	if (r < 0)
		return r;
	fd = src.fd;
	if (kind == SOURCE_DIR && !src.is_tree) {
		snprintf(err, errlen, "--from %s is a file but not a .tar, .tar.gz, .tgz, .tar.zst or .tar.xz archive", fe->from_shown);
		return -EINVAL;
	}
	if (kind == SOURCE_TARBALL && src.is_tree) {
		snprintf(err, errlen, "--from %s is a directory, not an archive", fe->from_shown);
		return -EINVAL;
	}
	r = artifact_extract_fd(fd, dirfd, &lim, st, err, errlen);
	if (src.is_tree) {
		/* The reader reports how its walk went after the stream ends. */
		int walk;

		closep(&fd);
		fd = -EBADF;
		walk = source_client_finish(fe->reader_sock, err, errlen);
		if (walk < 0)
			return walk;
	}
	/* The reader has answered its one request: let it go. */
	closep(&fe->reader_sock);
	fe->reader_sock = -1;
	return r;
}

/* ---- deploy and stage ------------------------------------------------ */

struct stage_result {
	char id[RELEASE_ID_MAX + 1];
	unsigned long long bytes, files;
	unsigned flags;                 /* FREEZE_: --id staged before with the same content */
	double step_seconds[8];
};

/*
 * Gives up the release being staged. Returns how to finish the sentence
 * "release ID ...": removed, or kept (--keep-failed) and where.
 */
static const char *abort_release_as(struct frontend *fe, const char *id, const char *why, unsigned kind)
{
	static char kept[512];
	bool was_kept = false;

	/* --id of a frozen release: only this run's build goes */
	if (fe->stage_existing) {
		if (client_abort_why(&fe->client, false, why, (now_ns() - fe->start_ns) / 1000000, kind, NULL, NULL) < 0)
			return "left as it was (the build's leftovers are removed by the next run)";
		return "left as it was (it was staged before this run)";
	}

	/* why goes to the history (the helper's own reason wins if it saw the
	 * failure): the build's record says what went wrong. */
	if (client_abort_why(&fe->client, fe->cli.keep_failed, why, (now_ns() - fe->start_ns) / 1000000,
			     kind, &was_kept, NULL) < 0)
		return "left behind (the next run removes it)";
	if (!fe->cli.keep_failed || !was_kept)
		return "removed";
	result_get()->changed = true;   /* a failed release stays */
	snprintf(kept, sizeof(kept), "kept as failed in %s/.cutover/failed/%s", fe->cfg->root, id);
	return kept;
}

static const char *abort_release(struct frontend *fe, const char *id, const char *why)
{
	return abort_release_as(fe, id, why, fe->refused ? ABORT_REFUSED : ABORT_FAILED);
}

static int run_steps(struct frontend *fe, const char *id)
{
	struct helper_error e;
	char shown[160];

	for (size_t i = 0; i < fe->cfg->n_build_run; i++) {
		uint64_t t0 = now_ns(), code = 0;
		char name[64];
		int r;

		out_build_begin(&fe->out, i + 1, fe->cfg->n_build_run, fe->cfg->build_run[i]);
		r = client_run_step(&fe->client, i, &code, &e);
		out_build_end(&fe->out);
		if (client_lost(&fe->client))
			return fe_helper_lost(fe);
		str_escape(shown, sizeof(shown), fe->cfg->build_run[i], strlen(fe->cfg->build_run[i]));
		if (r < 0 || code != 0) {
			if (fe->out.quiet && fe->out.tail_len)
				out_build_tail(&fe->out);
			char why[1100];

			if (r < 0)
				fe_why(fe, &e, why, sizeof(why));
			else
				snprintf(why, sizeof(why), "failed with exit code %llu", (unsigned long long)code);
			char reason[1300];

			snprintf(reason, sizeof(reason), "build step %zu '%s' %s", i + 1, shown, why);
			result_set_code(result_get(), "build_failed");
			out_error("%s; release %s %s, the live site is unchanged",
				  reason, id, abort_release(fe, id, reason));
			return EXIT_FAILED;
		}
		snprintf(name, sizeof(name), "build step %zu", i + 1);
		out_step(&fe->out, name, now_ns() - t0, NULL);
	}
	return EXIT_OK;
}

/* The end of a staging request: on failure the release is given up and one
 * error line printed. EXIT_OK or the exit code. */
static int stage_result(struct frontend *fe, int r, const struct helper_error *e, const char *id)
{
	char why[PROTO_TEXT_SIZE];

	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, e, why, sizeof(why));
		out_error("%s; release %s %s, the live site is unchanged", why, id, abort_release(fe, id, why));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* stage --id ID, staged before with other content: refused, one line;
 * the helper drops this run's build, the release ID stays as it was. */
static int stage_exists(struct frontend *fe, const struct helper_error *e)
{
	char why[PROTO_TEXT_SIZE];

	fe_why(fe, e, why, sizeof(why));
	(void)client_abort_why(&fe->client, false, why, (now_ns() - fe->start_ns) / 1000000, ABORT_REFUSED,
			       NULL, NULL);
	fe->error_code = "exists";
	result_set_code(result_get(), "exists");
	out_error("%s", why);
	return EXIT_FAILED;
}

static int stage(struct frontend *fe, struct stage_result *res)
{
	struct client_stage sb = { .dir_fd = -EBADF };
	struct client_freeze_result fr;
	struct helper_error e;
	_cleanup_close_ int dirfd = -EBADF;
	struct extract_stats st = { 0 };
	char err[1024] = "", detail[96], size[32];
	uint64_t t0;
	int r;

	t0 = now_ns();
	r = client_stage_begin_id(&fe->client, fe->cli.label, fe->cli.id, &sb, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, &e, err, sizeof(err));
		out_error("cannot create a release: %s", err);
		return EXIT_FAILED;
	}
	dirfd = sb.dir_fd;
	str_copy(res->id, sizeof(res->id), sb.id);
	fe->stage_existing = sb.existing;
	out_step(&fe->out, "create release", now_ns() - t0, sb.existing ? "staged before: this build is compared with it"
									     : res->id);

	t0 = now_ns();
	r = import_source(fe, dirfd, &st, err, sizeof(err));
	closep(&dirfd);
	dirfd = -EBADF;
	if (r < 0) {
		char reason[1400];

		snprintf(reason, sizeof(reason), "importing %s failed: %s", fe->from_shown, err[0] ? err : strerror(-r));
		result_set_code(result_get(), r == -EFBIG ? "too_big" : "source");
		out_error("%s; release %s %s, the live site is unchanged",
			  reason, res->id, abort_release(fe, res->id, reason));
		return EXIT_FAILED;
	}
	format_size(size, sizeof(size), st.bytes);
	snprintf(detail, sizeof(detail), "%llu files, %s", st.files, size);
	out_step(&fe->out, "import source", now_ns() - t0, st.files ? detail : NULL);

	t0 = now_ns();
	r = stage_result(fe, client_link_shared(&fe->client, &e), &e, res->id);
	if (r != EXIT_OK)
		return r;
	out_step(&fe->out, "link shared", now_ns() - t0, NULL);

	r = run_steps(fe, res->id);
	if (r != EXIT_OK)
		return r;

	t0 = now_ns();
	r = client_freeze(&fe->client, &fr, &e);
	if (r < 0 && !client_lost(&fe->client) && e.code == ERR_EXISTS) {
		result_set_code(result_get(), "exists");
		return stage_exists(fe, &e);
	}
	if (r < 0 && !client_lost(&fe->client))
		result_set_code(result_get(), e.code == ERR_TOO_BIG ? "too_big" : "freeze_failed");
	r = stage_result(fe, r, &e, res->id);
	if (r != EXIT_OK)
		return r;
	res->bytes = fr.bytes;
	res->files = fr.files;
	res->flags = fr.flags;
	format_size(size, sizeof(size), res->bytes);
	snprintf(detail, sizeof(detail), "%llu files, %s", res->files, size);
	out_step(&fe->out, "freeze", now_ns() - t0, detail);
	return EXIT_OK;
}

static void prune_entry(void *ctx, const char *id, uint64_t bytes)
{
	struct json *j = ctx;

	if (j)
		json_string(j, id);
}

static int do_switch_request(struct frontend *fe, bool rollback, const char *id,
			     uint64_t ms, struct client_switch_result *ret)
{
	const char *source = fe->cli.from ? fe->cli.from : fe->cli.verb_name;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE];
	int r;

	frontend_switching(true);
	r = rollback ? client_rollback(&fe->client, id, source, ms, ret, &e)
		     : client_switch(&fe->client, id, source, ms, ret, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0)
		fe_why(fe, &e, why, sizeof(why));
	if (r == -EXDEV) {
		/* mode = bind: recorded and live here, not (yet) everywhere */
		sig_published = 1;
		result_get()->changed = true;
		result_set_code(result_get(), "partly_live");
		out_error("%s", why);
		return EXIT_FAILED;
	}
	if (r < 0) {
		frontend_switching(false);   /* the helper's word: nothing changed */
		result_set_code(result_get(), "switch_failed");
		out_error("%s; the live site is unchanged", why);
		return EXIT_FAILED;
	}
	sig_published = 1;
	result_get()->changed = true;
	return EXIT_OK;
}

/* The detail of a switch step: how long until the new release was visible. */
static void switch_detail(const struct frontend *fe, const struct client_switch_result *sw, char *buf, size_t n)
{
	if (fe->cfg->mode == PUBLISH_BIND)
		snprintf(buf, n, "mount swap %.3f ms, verified %.3f ms%s", (double)sw->visible_ns / 1e6,
			 (double)sw->durable_ns / 1e6, sw->fpm_entered ? ", also in php-fpm's mount namespace" : "");
	else
		snprintf(buf, n, "publish %.3f ms, durable %.3f ms",
			 (double)sw->visible_ns / 1e6, (double)sw->durable_ns / 1e6);
}

/* ---- migrations and hooks ------------------------------------------- */

/* A sandboxed command the helper runs: a hook, or [migrate] in one of its modes. */
struct remote_cmd {
	bool hook;
	enum hook_kind kind;            /* hook: which list */
	size_t index;                   /* hook: which one */
	const char *reason;             /* hook: on_failure's reason */
	enum client_migrate_mode mode;  /* migrate */
};

/* Runs a sandboxed command through the helper with its output printed, or
 * captured into fe->capture when capture is set. 0, or -errno after
 * printing why. */
static int run_remote(struct frontend *fe, const struct remote_cmd *rc, const char *title,
		      const char *cmd, bool capture, char *err, size_t errlen)
{
	struct client_sink saved = fe->client.output;
	struct helper_error e;
	uint64_t t0 = now_ns(), code = 0;
	char shown[160], why[PROTO_TEXT_SIZE];
	int r;

	if (!capture)
		out_build_begin(&fe->out, 0, 0, cmd);
	client_capture_reset(&fe->capture);
	if (capture)
		saved = client_set_output(&fe->client, client_capture_sink(&fe->capture));
	if (rc->hook || rc->mode == CLIENT_MIGRATE_RUN)
		sig_shared_touched = 1;
	if (!rc->hook && rc->mode == CLIENT_MIGRATE_RUN)
		result_get()->changed = true;   /* the database may have changed */
	r = rc->hook ? client_hook_kind(&fe->client, rc->kind, rc->index, rc->reason, &code, &e)
		     : client_migrate(&fe->client, rc->mode, &code, &e);
	client_set_output(&fe->client, saved);
	out_build_end(&fe->out);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe), -ECONNRESET;
	str_escape(shown, sizeof(shown), cmd, strlen(cmd));
	if (r < 0 || code != 0) {
		if (capture && fe->capture.len) {
			out_build_begin(&fe->out, 0, 0, cmd);
			out_build_chunk(&fe->out, fe->capture.buf, fe->capture.len);
			out_build_end(&fe->out);
		} else if (fe->out.quiet && fe->out.tail_len)
			out_build_tail(&fe->out);
		if (r < 0) {
			fe_why(fe, &e, why, sizeof(why));
			snprintf(err, errlen, "%s '%s' %.300s", title, shown, why);
		} else
			snprintf(err, errlen, "%s '%s' failed with exit code %llu", title, shown,
				 (unsigned long long)code);
		return -EIO;
	}
	out_step(&fe->out, title, now_ns() - t0, NULL);
	return 0;
}

static int run_hooks_of(struct frontend *fe, enum hook_kind kind, const char *reason, char *err, size_t errlen)
{
	size_t n;
	char *const *v = config_hooks(fe->cfg, kind, &n);

	/* A dry run changes nothing the live site uses: no hooks. */
	if (fe->cli.dry_run)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char title[64];

		snprintf(title, sizeof(title), "%s hook %zu", config_hook_name(kind), i + 1);
		const struct remote_cmd rc = { .hook = true, .kind = kind, .index = i, .reason = reason };

		if (run_remote(fe, &rc, title, v[i], false, err, errlen) < 0) {
			result_set_code(result_get(), "hook_failed");
			return -EIO;
		}
	}
	return 0;
}

static int run_hooks(struct frontend *fe, bool after, char *err, size_t errlen)
{
	return run_hooks_of(fe, after ? HOOK_AFTER_SWITCH : HOOK_BEFORE_SWITCH, NULL, err, errlen);
}

/* on_failure and after_rollback: what they do is reported, but a run's
 * outcome is already decided, so they never change its exit code. */
static void run_hooks_after_outcome(struct frontend *fe, enum hook_kind kind, const char *reason)
{
	char err[1600], cur[PATH_MAX], link[PATH_MAX];
	size_t n;

	config_hooks(fe->cfg, kind, &n);
	if (n == 0 || client_lost(&fe->client))
		return;
	/* Nothing live to run on_failure in (the first deploy failed): the
	 * helper would refuse it too; say so plainly. */
	snprintf(cur, sizeof(cur), "%s/current", fe->cfg->root);
	if (kind == HOOK_ON_FAILURE && readlink(cur, link, sizeof(link)) < 0 && errno == ENOENT) {
		out_warn(&fe->out, "no release is live: the on_failure hooks did not run");
		return;
	}
	if (run_hooks_of(fe, kind, reason, err, sizeof(err)) < 0 && !client_lost(&fe->client))
		out_warn(&fe->out, "%s (the exit code is unchanged)", err);
}

/*
 * New schema first, then new code: [migrate] pretend shows the SQL, which
 * must be additive unless destructive changes are allowed; then [migrate]
 * run. Returns 0, or -errno after printing the one-line reason.
 */
/* For --json: what the guard found, whether or not it let it through. */
static void fe_note_destructive(struct frontend *fe, const struct migrate_finding *f, size_t n)
{
	fe->n_destructive = n < ELEMENTSOF(fe->destructive) ? n : ELEMENTSOF(fe->destructive);
	memcpy(fe->destructive, f, fe->n_destructive * sizeof(*f));
}

static int run_migrations(struct frontend *fe, char *err, size_t errlen)
{
	const struct migrate_config *m = &fe->cfg->migrate;
	struct migrate_finding f[8];
	size_t n = 0;
	int r;

	if (!m->run[0])
		return 0;
	if (m->pretend[0]) {
		r = run_remote(fe, &(struct remote_cmd) { .mode = CLIENT_MIGRATE_PRETEND }, "migrations (pretend)",
			       m->pretend, true, err, errlen);
		if (r < 0)
			return r;
		if (fe->capture.truncated) {
			snprintf(err, errlen, "'%.200s' printed more than 4 MiB; its SQL cannot be vetted, nothing was migrated", m->pretend);
			return -EFBIG;
		}
		migrate_scan(fe->capture.buf ? fe->capture.buf : "", fe->capture.len, f, ELEMENTSOF(f), &n);
		fe_note_destructive(fe, f, n);
		if (n > 0 && !m->allow_destructive && !fe->cli.allow_destructive) {
			char more[64] = "";

			if (n > 1)
				snprintf(more, sizeof(more), " (and %zu more)", n - 1);
			snprintf(err, errlen, "migration %.100s would run %s: '%.200s'%s; nothing was migrated. cutover deploys additive migrations only: "
				 "add the new column or table in this release and drop the old one in a later release, once no running code "
				 "uses it (expand/contract); to run it anyway pass --allow-destructive or set allow_destructive = yes in [migrate]",
				 f[0].migration[0] ? f[0].migration : "(unnamed)", f[0].kind, f[0].statement, more);
			fe->refused = true;   /* the history says refused, not failed */
			return -EPERM;
		}
		for (size_t i = 0; i < n && i < ELEMENTSOF(f); i++)
			out_warn(&fe->out, "destructive migration allowed: %s runs %s: %s", f[i].migration, f[i].kind,
				 f[i].statement);
	}
	/* A dry run stops at pretend: the database is the live site's. */
	if (fe->cli.dry_run || fe->cli.pretend)
		return 0;
	r = run_remote(fe, &(struct remote_cmd) { .mode = CLIENT_MIGRATE_RUN }, "migrations", m->run, false,
		       err, errlen);
	fe->migrated = true;   /* even when it failed: it may have changed the database */
	if (r < 0 || fe->cfg->preset != PRESET_LARAVEL || !m->pretend[0])
		return r;
	/* artisan exits 0 when it cannot log the exception that stopped a
	 * migration: check that nothing is left to run. */
	r = run_remote(fe, &(struct remote_cmd) { .mode = CLIENT_MIGRATE_VERIFY }, "migrations (verify)",
		       m->pretend, true, err, errlen);
	if (r < 0)
		return r;
	if (!fe->capture.buf || !strstr(fe->capture.buf, "Nothing to migrate")) {
		snprintf(err, errlen, "migrations exited 0 but left migrations pending ('%.200s' still lists them); "
			 "look at storage/logs/laravel.log", m->pretend);
		return -EIO;
	}
	return 0;
}

int fe_run_migrations(struct frontend *fe, char *err, size_t errlen)
{
	return run_migrations(fe, err, errlen);
}

/* ---- publishing: php-fpm, health, automatic rollback ----------------- */

/* What a switch reply says about the publish step, for --json. */
static void json_publish_fields(const struct frontend *fe, struct json *j, const struct client_switch_result *sw)
{
	json_kv_double(j, "publish_ms", (double)sw->visible_ns / 1e6);
	json_kv_double(j, "durable_ms", (double)sw->durable_ns / 1e6);
	if (fe->cfg->mode == PUBLISH_BIND)
		json_kv_bool(j, "fpm_namespace_entered", sw->fpm_entered);
}

static bool fpm_graceful(const struct frontend *fe)
{
	return fe->cfg->fpm.enabled && fe->cfg->fpm.reload == FPM_RELOAD_GRACEFUL;
}

/* Before publishing: the pool's master must be genuine and its
 * configuration valid, or a reload would take the whole pool down. */
static int before_publish(struct frontend *fe, struct fpm_facts *facts, char *err, size_t errlen)
{
	uint64_t t0 = now_ns();
	char detail[128];
	int r;

	if (!fpm_graceful(fe))
		return 0;
	struct reload_env env = fe_reload_env(fe);

	r = reload_inspect(&env, facts, err, errlen);
	if (r < 0)
		return r;
	if (facts->process_control_timeout >= 0)
		snprintf(detail, sizeof(detail), "process_control_timeout %lds", facts->process_control_timeout);
	else
		snprintf(detail, sizeof(detail), "configuration valid");
	out_step(&fe->out, "check php-fpm", now_ns() - t0, detail);
	return 0;
}

static int do_reload(struct frontend *fe, const struct fpm_facts *facts, struct json *j)
{
	struct reload_report rr = { 0 };
	uint64_t t0 = now_ns();
	char detail[160];
	int r;

	/* swap: the pools were swapped by the switch itself */
	if (!fe->cfg->fpm.enabled || fe->cfg->fpm.reload == FPM_RELOAD_NONE || swap_enabled(fe->cfg))
		return 0;
	struct reload_env env = fe_reload_env(fe);

	r = reload_run(&env, fpm_graceful(fe) ? facts : NULL, &rr);
	if (r < 0) {
		if (rr.helper_lost)
			fe_helper_lost(fe);
		return r;
	}
	if (fe->cfg->fpm.reload == FPM_RELOAD_GRACEFUL)
		snprintf(detail, sizeof(detail), "graceful; drain wait %.0f ms, pool answering after %.0f ms",
			 (double)rr.drain_wait_ns / 1e6, (double)rr.stall_ns / 1e6);
	else
		snprintf(detail, sizeof(detail), "opcache reset");
	out_step(&fe->out, "reload php-fpm", now_ns() - t0, detail);
	if (j) {
		json_key(j, "reload");
		json_begin(j, '{');
		json_kv_double(j, "seconds", (double)(now_ns() - t0) / 1e9);
		json_kv_double(j, "drain_wait_ms", (double)rr.drain_wait_ns / 1e6);
		json_kv_double(j, "stall_ms", (double)rr.stall_ns / 1e6);
		json_kv_uint(j, "longest_inflight_us", rr.longest_inflight_us);
		json_end(j, '}');
	}
	return 0;
}

static int do_health(struct frontend *fe, char *err, size_t errlen)
{
	uint64_t t0 = now_ns();
	int r;

	if (!fe->cfg->health.enabled)
		return 0;
	r = health_check(&fe->cfg->health, err, errlen);
	if (r == 0)
		out_step(&fe->out, "health check", now_ns() - t0, fe->cfg->health.url);
	return r;
}

static int deploy_dry_run_end(struct frontend *fe, const char *id, uint64_t bytes, uint64_t files,
			      uint64_t start, const struct swap_report *swap);
static bool fpm_unset(const struct frontend *fe);
/* No [fpm] section: said by check and by every deploy. */
static const char fpm_unset_warning[] =
	"php-fpm is not reloaded: no [fpm] section; set [fpm] reload = none to say so on purpose";

/* After a deploy's health check failed: back to the release it replaced,
 * reloaded again, both recorded in history by the helper. */
static int auto_rollback(struct frontend *fe, const struct fpm_facts *facts, struct swap_report *swap,
			 const char *why)
{
	struct client_switch_result sw;
	struct helper_error e;
	char msg[PROTO_TEXT_SIZE];
	uint64_t t0 = now_ns();
	int r;

	snprintf(msg, sizeof(msg), "health check failed: %.900s", why);
	r = client_rollback_auto(&fe->client, msg, &sw, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		result_set_code(result_get(), "unhealthy");
		fe_why(fe, &e, msg, sizeof(msg));
		out_error("health check failed: %s; rolling back failed too: %s", why, msg);
		return EXIT_FAILED;
	}
	out_step(&fe->out, "rollback", now_ns() - t0, sw.to);
	if (swap) {
		struct reload_env env = fe_reload_env(fe);

		/* the old pool serves again: the new one goes */
		swap_stop_new(&env, swap, "stopped: rolled back to the old pool");
	}
	r = do_reload(fe, facts, NULL);
	run_hooks_after_outcome(fe, HOOK_AFTER_ROLLBACK, NULL);
	if (r < 0) {
		result_set_code(result_get(), "reload_failed");
		out_error("health check failed: %s; rolled back to %s, but the php-fpm reload failed", why, sw.to);
		return EXIT_FAILED;
	}
	out_error("health check failed: %s; rolled back to %s in %.0f ms", why, sw.to,
		  (double)(now_ns() - t0) / 1e6);
	return EXIT_ROLLED_BACK;
}

/*
 * --id ID was staged before with the same content: the build was dropped
 * and ID is what this run deploys. stage, and deploy of the live release,
 * change nothing (exit 0); a deploy of another release goes on with ID
 * (-1). stage prints the id on stdout as always.
 */
static int stage_reused(struct frontend *fe, const struct stage_result *res)
{
	const char *unhealthy = res->flags & FREEZE_UNHEALTHY ? " (it is marked unhealthy: rollback skips it)" : "";
	struct json j;

	if (fe->cli.verb == VERB_DEPLOY && !(res->flags & FREEZE_CURRENT)) {
		if (!fe->cli.quiet)
			fprintf(stderr, "release %s already staged with the same content; deploying it%s\n", res->id,
				unhealthy);
		return -1;
	}
	fe->unchanged = true;
	if (!fe->cli.quiet)
		fprintf(stderr, "release %s %s with the same content; nothing was changed%s\n", res->id,
			fe->cli.verb == VERB_STAGE ? "already staged" : "is already live", unhealthy);
	if (!fe->cli.json) {
		if (fe->cli.verb == VERB_STAGE)
			printf("%s\n", res->id);
		return EXIT_OK;
	}
	result_get()->changed = false;
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", res->id);
	json_kv_uint(&j, "bytes", res->bytes);
	json_kv_uint(&j, "files", res->files);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
	return EXIT_OK;
}

/* reload = swap: the new release's pool, before the switch. EXIT_OK, or
 * the exit code after the release was given up and the error printed. */
static int deploy_swap_prepare(struct frontend *fe, const char *id, struct swap_report *swap)
{
	struct reload_env env = fe_reload_env(fe);
	char err[1600];

	if (swap_prepare(&env, id, swap, err, sizeof(err)) == 0)
		return EXIT_OK;
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	result_set_code(result_get(), "precheck_failed");
	out_error("%s; release %s was not published and was %s, the live site is unchanged", err, id,
		  abort_release(fe, id, err));
	return EXIT_FAILED;
}

/* reload = swap: a run that fails before its switch stops the pool it started. */
static void fe_swap_stop_new(struct frontend *fe, struct swap_report *swap, const char *detail)
{
	struct reload_env env = fe_reload_env(fe);

	if (swap_enabled(fe->cfg))
		swap_stop_new(&env, swap, detail);
}

static void fe_swap_retire_old(struct frontend *fe, struct swap_report *swap)
{
	struct reload_env env = fe_reload_env(fe);

	if (swap_enabled(fe->cfg))
		swap_retire_old(&env, swap);
}

static int deploy_run(struct frontend *fe, struct notify_event *ev)
{
	struct stage_result res = { 0 };
	struct swap_report swap = { 0 };
	struct fpm_facts facts = { 0 };
	struct client_switch_result sw;
	struct client_prune_result pr;
	struct helper_error e;
	struct json j;
	uint64_t start = now_ns(), t0;
	char detail[160], size[32], from[RELEASE_ID_MAX + 1], err[1600];
	int r;

	fe->start_ns = start;
	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	r = stage(fe, &res);
	notify_event_staged(ev, res.id, r == EXIT_OK);
	if (r != EXIT_OK)
		return r;
	if (res.flags & FREEZE_REUSED) {
		r = stage_reused(fe, &res);
		if (r >= 0)
			return r;
	}
	if (fe->cli.verb == VERB_STAGE) {
		result_get()->changed = true;   /* a new frozen release */
		json_init(&j);
		json_begin(&j, '{');
		json_kv_string(&j, "release", res.id);
		json_kv_bool(&j, "dry_run", false);
		json_kv_uint(&j, "bytes", res.bytes);
		json_kv_uint(&j, "files", res.files);
		json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
		json_end(&j, '}');
		result_take_body(result_get(), &j);
		json_free(&j);
		if (!fe->cli.json)
			printf("%s\n", res.id);
		return EXIT_OK;
	}

	r = before_publish(fe, &facts, err, sizeof(err));
	if (r < 0) {
		result_set_code(result_get(), r == -EIO ? "precheck_failed" : "config");
		out_error("%s; release %s was not published and was %s, the live site is unchanged", err,
			  res.id, abort_release(fe, res.id, err));
		return r == -EIO ? EXIT_FAILED : EXIT_USAGE;
	}
	if (swap_enabled(fe->cfg)) {
		r = deploy_swap_prepare(fe, res.id, &swap);
		if (r != EXIT_OK)
			return r;
	}
	r = run_migrations(fe, err, sizeof(err));
	if (r < 0)
		result_set_code(result_get(), fe->refused ? "migration_refused" : "migration_failed");
	if (r < 0 || run_hooks(fe, false, err, sizeof(err)) < 0) {
		fe_swap_stop_new(fe, &swap, "stopped: the live site is unchanged");
		out_error("%s; release %s was not published and was %s, the old release keeps serving", err,
			  res.id, abort_release(fe, res.id, err));
		return EXIT_FAILED;
	}
	/* mode = bind has no second path to run the staged release from: its
	 * shared entries are mounted only at live (docs/BIND.md). */
	if (fe->cfg->health.enabled && fe->cfg->health.precheck && fe->cfg->fpm.socket[0] &&
	    fe->cfg->mode != PUBLISH_BIND && !swap_enabled(fe->cfg)) {
		t0 = now_ns();
		struct reload_env env = fe_reload_env(fe);

		r = health_precheck(&env, res.id, err, sizeof(err));
		if (r < 0) {
			char reason[1700];

			snprintf(reason, sizeof(reason), "pre-switch check through php-fpm %s", err);
			result_set_code(result_get(), "precheck_failed");
			out_error("pre-switch check of release %s through php-fpm %s; it was never published and was %s, the live site is unchanged",
				  res.id, err, abort_release(fe, res.id, reason));
			return EXIT_FAILED;
		}
		out_step(&fe->out, "pre-switch check", now_ns() - t0, "staged release answers in the live pool");
	}
	if (fe->cli.dry_run) {
		fe_swap_stop_new(fe, &swap, "stopped: a dry run (started, checked and warmed, never live)");
		return deploy_dry_run_end(fe, res.id, res.bytes, res.files, start,
					  swap_enabled(fe->cfg) ? &swap : NULL);
	}

	t0 = now_ns();
	r = do_switch_request(fe, false, res.id, (now_ns() - start) / 1000000, &sw);
	if (r != EXIT_OK) {
		if (!sig_published)
			fe_swap_stop_new(fe, &swap, "stopped: the live site is unchanged");
		return r;
	}
	str_copy(from, sizeof(from), sw.from);
	notify_event_switched(ev, from, res.id, now_ns() - t0);
	switch_detail(fe, &sw, detail, sizeof(detail));
	out_step(&fe->out, "switch", now_ns() - t0, detail);

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", res.id);
	json_kv_string(&j, "previous", from[0] ? from : NULL);
	json_kv_bool(&j, "dry_run", false);
	json_kv_uint(&j, "bytes", res.bytes);
	json_kv_uint(&j, "files", res.files);
	json_publish_fields(fe, &j, &sw);

	if (do_reload(fe, &facts, &j) < 0) {
		json_free(&j);
		result_set_code(result_get(), "reload_failed");
		fe_report(fe, REPORT_FAILED, "php-fpm was not reloaded after the switch%s", "");
		out_error("release %s is live, but php-fpm was not reloaded (see above)", res.id);
		return EXIT_FAILED;
	}
	r = do_health(fe, err, sizeof(err));
	if (r < 0) {
		json_free(&j);
		if (fe->cfg->health.rollback && from[0])
			return auto_rollback(fe, &facts, swap_enabled(fe->cfg) ? &swap : NULL, err);
		/* the new release stays: the old pool is kept warm for a rollback */
		fe_swap_retire_old(fe, &swap);
		result_set_code(result_get(), "unhealthy");
		fe_report(fe, REPORT_UNHEALTHY, "health check failed: %s", err);
		out_error("health check failed: %s; release %s stays live (%s)", err, res.id,
			  from[0] ? "rollback = no" : "there is no previous release");
		return EXIT_FAILED;
	}
	if (swap_enabled(fe->cfg)) {
		fe_swap_retire_old(fe, &swap);
		swap_json(&j, fe->cfg, &swap);
	}
	if (run_hooks(fe, true, err, sizeof(err)) < 0) {
		json_free(&j);
		fe_report(fe, REPORT_FAILED, "%s (release live and healthy)", err);
		out_error("%s; release %s is live and healthy nonetheless", err, res.id);
		return EXIT_FAILED;
	}

	json_key(&j, "pruned");
	json_begin(&j, '[');
	t0 = now_ns();
	/* keep 0: as the app's configuration says */
	r = client_prune(&fe->client, 0, prune_entry, &j, &pr, &e);
	json_end(&j, ']');
	if (r < 0) {
		char why[PROTO_TEXT_SIZE];

		if (client_lost(&fe->client))
			snprintf(why, sizeof(why), "helper stopped");
		else
			fe_why(fe, &e, why, sizeof(why));
		out_warn(&fe->out, "deployed, but pruning old releases failed: %s", why);
	} else {
		format_size(size, sizeof(size), pr.freed);
		snprintf(detail, sizeof(detail), "%llu removed, %s freed",
			 (unsigned long long)pr.removed, size);
		out_step(&fe->out, "prune", now_ns() - t0, detail);
		json_kv_uint(&j, "freed", pr.freed);
		if (pr.removed)
			result_get()->changed = true;
	}
	json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "deployed %s %s in %.1fs%s%s%s\n", fe->cfg->app, res.id,
			(double)(now_ns() - start) / 1e9, from[0] ? " (previous: " : "",
			from, from[0] ? ")" : "");
	json_free(&j);
	return EXIT_OK;
}

/* --json of a deploy or stage that did not succeed: the release it made
 * (removed or kept), and for a rolled back one where it went. */
static void deploy_failure_body(struct frontend *fe, const struct notify_event *ev)
{
	struct json j;

	if (!ev->release[0])
		return;
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", ev->release);
	json_kv_bool(&j, "dry_run", fe->cli.dry_run);
	json_kv_double(&j, "seconds", (double)(now_ns() - fe->start_ns) / 1e9);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
}

/* After a deploy: on_failure hooks if it failed once it had a release,
 * then the notification. Neither changes the exit code r. */
static int verb_deploy(struct frontend *fe)
{
	struct notify_event ev;
	int r;

	notify_event_init(&ev, fe->cfg->app, "deploy");
	r = deploy_run(fe, &ev);
	if (r != EXIT_OK)
		deploy_failure_body(fe, &ev);
	/* A dry run changes nothing anyone must hear about. */
	if (fe->cli.verb == VERB_STAGE || fe->cli.dry_run || fe->unchanged)
		return r;
	ev.outcome = r == EXIT_OK ? "deployed" : r == EXIT_ROLLED_BACK ? "auto-rolled-back" : "failed";
	if (r != EXIT_OK)
		str_copy(ev.reason, sizeof(ev.reason), out_last_error());
	if (r != EXIT_OK && !ev.have_switch)
		notify_event_live(&ev, fe->cfg->root);
	if (r != EXIT_OK && ev.release[0])
		run_hooks_after_outcome(fe, HOOK_ON_FAILURE, ev.reason);
	notify_send(&fe->cfg->notify, &ev, &fe->out);
	return r;
}

static int switch_run(struct frontend *fe, struct notify_event *ev)
{
	struct swap_report swap = { 0 };
	struct fpm_facts facts = { 0 };
	struct client_switch_result sw;
	struct json j;
	uint64_t start = now_ns(), t_switch;
	char detail[160], err[1600];
	int r;

	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	r = before_publish(fe, &facts, err, sizeof(err));
	if (r < 0) {
		result_set_code(result_get(), r == -EIO ? "precheck_failed" : "config");
		out_error("%s; nothing was switched, the live site is unchanged", err);
		return r == -EIO ? EXIT_FAILED : EXIT_USAGE;
	}
	if (swap_enabled(fe->cfg)) {
		struct reload_env env = fe_reload_env(fe);

		if (swap_prepare(&env, fe->cli.release, &swap, err, sizeof(err)) < 0) {
			if (client_lost(&fe->client))
				return fe_helper_lost(fe);
			result_set_code(result_get(), "precheck_failed");
			out_error("%s; nothing was switched, the live site is unchanged", err);
			return EXIT_FAILED;
		}
	}
	/* The step is the switch itself: the checks and a new pool before it
	 * were steps of their own. */
	t_switch = now_ns();
	r = do_switch_request(fe, fe->cli.verb != VERB_SWITCH, fe->cli.release, 0, &sw);
	if (r != EXIT_OK) {
		if (!sig_published)
			fe_swap_stop_new(fe, &swap, "stopped: the live site is unchanged");
		return r;
	}
	notify_event_switched(ev, sw.from, sw.to, now_ns() - start);
	switch_detail(fe, &sw, detail, sizeof(detail));
	out_step(&fe->out, fe->cli.verb_name, now_ns() - t_switch, detail);
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", sw.to);
	json_kv_string(&j, "previous", sw.from[0] ? sw.from : NULL);
	json_kv_string(&j, "mode", fe->cfg->mode == PUBLISH_BIND ? "bind" : "symlink");
	json_kv_string(&j, "from", sw.from[0] ? sw.from : NULL);
	json_kv_string(&j, "to", sw.to);
	json_publish_fields(fe, &j, &sw);
	if (do_reload(fe, &facts, &j) < 0) {
		json_free(&j);
		result_set_code(result_get(), "reload_failed");
		out_error("release %s is live, but php-fpm was not reloaded (see above)", sw.to);
		return EXIT_FAILED;
	}
	if (do_health(fe, err, sizeof(err)) < 0) {
		json_free(&j);
		/* it stays live: the old pool is kept warm for a rollback */
		fe_swap_retire_old(fe, &swap);
		/* The helper lets a run mark only what it switched to itself, not
		 * a rollback's target: that one is reported as a failure. */
		fe_report(fe, fe->cli.verb == VERB_SWITCH ? REPORT_UNHEALTHY : REPORT_FAILED,
			  "health check failed: %s", err);
		result_set_code(result_get(), "unhealthy");
		out_error("release %s is live, but its health check failed: %s", sw.to, err);
		return EXIT_FAILED;
	}
	if (swap_enabled(fe->cfg)) {
		fe_swap_retire_old(fe, &swap);
		swap_json(&j, fe->cfg, &swap);
	}
	if (run_hooks(fe, true, err, sizeof(err)) < 0) {
		json_free(&j);
		out_error("%s; release %s is live nonetheless", err, sw.to);
		return EXIT_FAILED;
	}
	json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "%s %s: now serving %s%s%s%s in %.0f ms\n",
			fe->cli.verb == VERB_SWITCH ? "switched" : "rolled back",
			fe->cfg->app, sw.to, sw.from[0] ? " (was " : "", sw.from,
			sw.from[0] ? ")" : "", (double)(now_ns() - start) / 1e6);
	json_free(&j);
	return EXIT_OK;
}

/* After a switch or rollback: after_rollback hooks once a rollback was
 * made, then the notification; neither changes the exit code r. */
static int verb_switch(struct frontend *fe)
{
	bool rollback = fe->cli.verb == VERB_ROLLBACK;
	struct notify_event ev;
	int r;

	notify_event_init(&ev, fe->cfg->app, fe->cli.verb_name);
	r = switch_run(fe, &ev);
	ev.outcome = r != EXIT_OK ? "failed" : rollback ? "rolled-back" : "switched";
	if (r != EXIT_OK)
		str_copy(ev.reason, sizeof(ev.reason), out_last_error());
	if (rollback && ev.have_switch)
		run_hooks_after_outcome(fe, HOOK_AFTER_ROLLBACK, NULL);
	notify_send(&fe->cfg->notify, &ev, &fe->out);
	return r;
}

static int verb_prune(struct frontend *fe)
{
	struct client_prune_result pr;
	struct helper_error e;
	char size[32], why[PROTO_TEXT_SIZE];
	struct json j;
	int r;

	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	json_init(&j);
	json_begin(&j, '{');
	json_key(&j, "removed");
	json_begin(&j, '[');
	r = client_prune(&fe->client, fe->cli.keep ? fe->cli.keep : fe->cfg->keep, prune_entry, &j, &pr, &e);
	json_end(&j, ']');
	if (client_lost(&fe->client)) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	if (r < 0) {
		json_free(&j);
		fe_why(fe, &e, why, sizeof(why));
		out_error("%s", why);
		return EXIT_FAILED;
	}
	json_kv_uint(&j, "freed", pr.freed);
	json_end(&j, '}');
	format_size(size, sizeof(size), pr.freed);
	result_take_body(result_get(), &j);
	if (pr.removed)
		result_get()->changed = true;
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "pruned %s: %llu release(s) removed, %s freed\n", fe->cfg->app,
			(unsigned long long)pr.removed, size);
	json_free(&j);
	return EXIT_OK;
}

/* The label of an id the helper made (TIMESTAMP[-N][-LABEL]), or NULL. */
static const char *release_label(const char *id, char *buf, size_t n)
{
	const char *p = id;
	size_t i;

	for (i = 0; i < 16 && p[i]; i++)
		if (i == 8 ? p[i] != 'T' : i == 15 ? p[i] != 'Z' : (p[i] < '0' || p[i] > '9'))
			return NULL;
	if (i < 16 || p[16] != '-')
		return NULL;
	p += 17;
	/* "-N" of a second id in the same second */
	for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
		;
	if (i > 0 && (p[i] == '-' || p[i] == '\0'))
		p += p[i] ? i + 1 : i;
	if (!*p || str_copy(buf, n, p) < 0)
		return NULL;
	return buf;
}

static const char *state_name(enum release_state s)
{
	switch (s) {
	case RELEASE_BUILDING: return "building";
	case RELEASE_FROZEN: return "frozen";
	case RELEASE_FAILED: return "failed";
	default: return "unknown";
	}
}

struct list_ctx {
	struct frontend *fe;
	struct json *j;
};

static void list_entry(void *ctx, const struct client_release *rel)
{
	struct list_ctx *l = ctx;
	struct json *j = l->j;
	char when[32], size[32], own[32], shared[32], label[RELEASE_ID_MAX + 1];
	const char *state = rel->unhealthy && rel->state == RELEASE_FROZEN ? "unhealthy" : state_name(rel->state);

	format_time(when, sizeof(when), rel->created_ns);
	if (l->fe->cli.json) {
		json_begin(j, '{');
		json_kv_string(j, "id", rel->id);
		json_kv_string(j, "state", state);
		json_kv_string(j, "reason", rel->reason[0] ? rel->reason : NULL);
		json_kv_string(j, "created", when);
		json_kv_uint(j, "bytes", rel->bytes);
		json_kv_uint(j, "files", rel->files);
		json_kv_bool(j, "current", rel->current);
		json_kv_bool(j, "previous", rel->previous);
		json_kv_string(j, "label", release_label(rel->id, label, sizeof(label)));
		json_key(j, "own_bytes");
		rel->has_usage ? json_uint(j, rel->own) : json_string(j, NULL);
		json_key(j, "shared_bytes");
		rel->has_usage ? json_uint(j, rel->shared) : json_string(j, NULL);
		json_end(j, '}');
		return;
	}
	format_size(size, sizeof(size), rel->bytes);
	format_size(own, sizeof(own), rel->own);
	format_size(shared, sizeof(shared), rel->shared);
	printf("%-40s %-9s %-21s %10s %10s %10s  %s%s%s\n", rel->id, state, when, size,
	       rel->has_usage ? own : "-", rel->has_usage ? shared : "-",
	       rel->current ? "current" : rel->previous ? "previous" : "",
	       rel->reason[0] && (rel->current || rel->previous) ? " " : "", rel->reason);
}

static int verb_list(struct frontend *fe)
{
	struct json j;
	struct list_ctx l = { .fe = fe, .j = &j };
	struct helper_error e;
	char why[PROTO_TEXT_SIZE + 256];
	int r;

	json_init(&j);
	json_begin(&j, '{');
	json_key(&j, "releases");
	json_begin(&j, '[');
	if (!fe->cli.json)
		printf("%-40s %-9s %-21s %10s %10s %10s\n", "RELEASE", "STATE", "CREATED", "SIZE", "OWN", "SHARED");
	r = client_list(&fe->client, list_entry, &l, &e);
	json_end(&j, ']');
	json_end(&j, '}');
	if (client_lost(&fe->client)) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	/* A listing the helper could not read (releases/ unreadable) is a
	 * failure, as for status: an empty list would say there is nothing. */
	if (r < 0) {
		json_free(&j);
		fe_why(fe, &e, why, sizeof(why));
		out_error("%s", why);
		return EXIT_FAILED;
	}
	result_take_body(result_get(), &j);
	json_free(&j);
	return EXIT_OK;
}

/* One line on what live shows, and whether it is what it should be. */
static bool live_describe(const struct client_live *li, const char *current, char *buf, size_t n)
{
	if (!li->known)
		snprintf(buf, n, "(cannot read the mount table)");
	else if (li->stacked == 0)
		snprintf(buf, n, "(nothing mounted)");
	else
		snprintf(buf, n, "%s (%s; root %s)%s", li->release[0] ? li->release : "(not a release of this app)",
			 li->options, li->root, li->stacked > 1 ? "; more mounts stacked beneath!" : "");
	return li->known && (!current[0] || (li->stacked == 1 && strcmp(li->release, current) == 0));
}

static int verb_status(struct frontend *fe)
{
	struct client_status cs;
	const struct client_live *li = &cs.live;
	struct history_entry last;
	_cleanup_close_ int hfd = -EBADF;
	struct helper_error e;
	bool have_last = false, have_failure = false, bind = fe->cfg->mode == PUBLISH_BIND, live_ok = true;
	struct history_entry failure;
	char mounted[PROTO_TEXT_SIZE + 256] = "", size[32];
	struct swap_report pools = { 0 };
	char pools_why[PROTO_TEXT_SIZE + 256] = "";
	bool have_pools = false;
	struct json j;
	int r;

	r = client_status(&fe->client, &cs, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, &e, mounted, sizeof(mounted));
		out_error("%s", mounted);
		return EXIT_FAILED;
	}
	if (bind && cs.set_up)
		live_ok = live_describe(li, cs.current, mounted, sizeof(mounted));
	/* No history (nothing deployed yet, or unreadable) is "(none)". */
	(void)client_history(&fe->client, &hfd, NULL);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (hfd >= 0) {
		have_last = history_last(hfd, &last) == 1;
		have_failure = history_view_last_failure(hfd, &failure) == 1;
	}
	/* reload = swap: the pools, as the helper sees them; a refusal is
	 * shown in their place and does not fail status. */
	if (swap_enabled(fe->cfg)) {
		struct reload_env env = fe_reload_env(fe);

		have_pools = swap_slots(&env, &pools, pools_why, sizeof(pools_why)) == 0;
		if (client_lost(&fe->client))
			return fe_helper_lost(fe);
	}
	if (fe->cli.json) {
		json_init(&j);
		json_begin(&j, '{');
		json_kv_string(&j, "root", fe->cfg->root);
		json_kv_bool(&j, "deployed", cs.set_up);
		json_kv_string(&j, "mode", bind ? "bind" : "symlink");
		if (bind) {
			json_kv_string(&j, "live", fe->cfg->live);
			json_key(&j, "mount");
			if (li->known && li->stacked > 0) {
				json_begin(&j, '{');
				json_kv_string(&j, "release", li->release[0] ? li->release : NULL);
				json_kv_string(&j, "root", li->root);
				json_kv_string(&j, "options", li->options);
				json_kv_uint(&j, "stacked", li->stacked);
				json_kv_bool(&j, "root_shared", li->root_shared);
				json_kv_bool(&j, "ok", live_ok);
				json_end(&j, '}');
			} else
				json_string(&j, NULL);
		}
		json_kv_string(&j, "current", cs.current[0] ? cs.current : NULL);
		json_kv_string(&j, "previous", cs.previous[0] ? cs.previous : NULL);
		json_key(&j, "last_deploy");
		if (have_last) {
			json_begin(&j, '{');
			json_kv_string(&j, "time", last.time);
			json_kv_string(&j, "verb", last.verb);
			json_kv_string(&j, "from", last.from[0] ? last.from : NULL);
			json_kv_string(&j, "to", last.to);
			json_kv_string(&j, "who", last.who);
			json_kv_uint(&j, "duration_ms", last.duration_ms);
			json_end(&j, '}');
		} else
			json_string(&j, NULL);
		json_key(&j, "last_failure");
		if (have_failure)
			history_view_json(&j, &failure);
		else
			json_string(&j, NULL);
		json_kv_string(&j, "lock", cs.lock_holder[0] ? cs.lock_holder : NULL);
		json_key(&j, "store");
		json_begin(&j, '{');
		json_kv_uint(&j, "objects", cs.store_objects);
		json_kv_uint(&j, "bytes", cs.store_bytes);
		json_end(&j, '}');
		if (swap_enabled(fe->cfg)) {
			json_key(&j, "pools");
			if (have_pools) {
				json_begin(&j, '[');
				for (size_t i = 0; i < pools.n_slots; i++)
					swap_slot_json(&j, &pools.slots[i]);
				json_end(&j, ']');
			} else
				json_string(&j, NULL);
		}
		json_end(&j, '}');
		result_take_body(result_get(), &j);
		json_free(&j);
	} else {
		printf("app:         %s\n", fe->cfg->app);
		printf("root:        %s%s\n", fe->cfg->root,
		       cs.set_up ? "" : " (not set up yet: nothing deployed)");
		printf("mode:        %s\n", bind ? "bind" : "symlink");
		if (bind) {
			printf("live:        %s\n", fe->cfg->live);
			if (mounted[0])
				printf("mounted:     %s%s\n", mounted,
				       live_ok ? "" : " -- not the current release; run 'cutover mount APP'");
		}
		printf("current:     %s\n", cs.current_broken ? "(current is not a cutover symlink!)" :
		       cs.current[0] ? cs.current : "(none)");
		printf("previous:    %s\n", cs.previous[0] ? cs.previous : "(none)");
		if (have_last)
			printf("last change: %s %s %s -> %s by %s (%.1fs)\n", last.time, last.verb,
			       last.from[0] ? last.from : "(none)", last.to, last.who,
			       (double)last.duration_ms / 1e3);
		else
			printf("last change: (none)\n");
		if (have_failure) {
			char line[1024];

			history_view_line(line, sizeof(line), &failure);
			printf("last failure: %s\n", line);
		}
		printf("lock:        %s\n", cs.lock_holder[0] ? cs.lock_holder : "free");
		format_size(size, sizeof(size), cs.store_bytes);
		printf("store:       %llu objects, %s (every release's files, each counted once)\n",
		       (unsigned long long)cs.store_objects, size);
		if (swap_enabled(fe->cfg) && !have_pools)
			printf("pools:       (unknown: %s)\n", pools_why);
		for (size_t i = 0; have_pools && i < pools.n_slots; i++) {
			char line[PROTO_TEXT_SIZE];

			swap_slot_describe(&pools.slots[i], line, sizeof(line));
			printf("pool %c:      %s\n", pools.slots[i].slot, line);
		}
	}
	if (cs.current_broken)
		result_set_message(result_get(), "ROOT/current is not a cutover symlink");
	else if (!live_ok)
		result_set_message(result_get(), "live does not show the current release; run 'cutover mount APP'");
	return cs.current_broken || !live_ok ? EXIT_FAILED : EXIT_OK;
}

/* One problem of check --json: {code, message}. */
static void check_problem(struct json *j, const char *code, const char *message)
{
	json_begin(j, '{');
	json_kv_string(j, "code", code);
	json_kv_string(j, "message", message);
	json_end(j, '}');
}

struct check_ctx {
	struct frontend *fe;
	struct json *j;
	bool keepalive;              /* nginx keeps connections: swap refused */
};

/* Where nginx keeps its configuration (the keepalive scan of check). */
#define CHECK_NGINX_DIR "/etc/nginx"

static void check_entry(void *ctx, const struct helper_error *e)
{
	struct check_ctx *k = ctx;
	char problem[PROTO_TEXT_SIZE + 256];

	messages_format_note(e, k->fe->cfg, problem, sizeof(problem));

	if (k->fe->cli.json)
		check_problem(k->j, messages_code_name(e->code), problem);
	else
		fprintf(stderr, "cutover: check: %s\n", problem);
}

/* A `fastcgi_keep_conn on` in nginx's configuration (reload = swap). */
static void check_keepalive(void *ctx, const char *path, unsigned line)
{
	struct check_ctx *k = ctx;
	char msg[PATH_MAX + 400], shown[PATH_MAX];

	str_escape(shown, sizeof(shown), path, strlen(path));
	snprintf(msg, sizeof(msg), "%s:%u has fastcgi_keep_conn on: with reload = swap nginx keeps sending requests "
		 "down its kept connections to the old pool after a switch, and retiring it waits for them; "
		 "remove it (docs/POOLSWAP.md)", shown, line);
	out_error("check: %s", msg);
	check_problem(k->j, "fpm_keepalive", msg);
	k->keepalive = true;
}

/* Where systemd keeps unit files, in the order it reads them. */
static const char *const check_unit_dirs[] = { "/etc/systemd/system", "/run/systemd/system",
					       "/usr/local/lib/systemd/system", "/lib/systemd/system",
					       "/usr/lib/systemd/system" };

/* reload = swap runs its masters as systemd units: systemd must be PID 1
 * (sd_booted(3): /run/systemd/system exists) and the template unit must
 * be installed. The first is a problem, the second a warning: a unit
 * can live where cutover does not look. */
static bool check_swap_systemd(struct frontend *fe, struct check_ctx *k)
{
	static const char no_systemd[] = "reload = swap needs systemd as PID 1 (/run/systemd/system does not "
					 "exist): its units run the php-fpm masters; use reload = graceful";
	char path[PATH_MAX], msg[400];
	struct stat st;

	if (stat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode)) {
		out_error("check: %s", no_systemd);
		check_problem(k->j, "fpm_systemd", no_systemd);
		return false;
	}
	for (size_t i = 0; i < ELEMENTSOF(check_unit_dirs); i++) {
		snprintf(path, sizeof(path), "%s/cutover-fpm@.service", check_unit_dirs[i]);
		if (stat(path, &st) == 0)
			return true;
	}
	snprintf(msg, sizeof(msg), "cutover-fpm@.service is not installed (looked in /etc/systemd/system and "
		 "/lib/systemd/system): install the package or run 'make install'");
	out_warn(&fe->out, "%s", msg);
	check_problem(k->j, "fpm_unit_missing", msg);
	return true;
}

/* reload = swap: the helper must be able to read the pools (a refusal is
 * a problem), and nginx must not keep connections to them. */
static bool check_swap(struct frontend *fe, struct check_ctx *k)
{
	struct reload_env env = fe_reload_env(fe);
	struct swap_report pools = { 0 };
	char why[PROTO_TEXT_SIZE + 256];
	bool ok = true;

	if (swap_slots(&env, &pools, why, sizeof(why)) < 0) {
		if (client_lost(&fe->client))
			return false;
		out_error("check: %s", why);
		check_problem(k->j, "fpm_slots", why);
		ok = false;
	}
	if (!check_swap_systemd(fe, k))
		ok = false;
	(void)swap_scan_nginx(CHECK_NGINX_DIR, check_keepalive, k);
	return ok && !k->keepalive;
}

static int verb_check(struct frontend *fe)
{
	struct reload_env env = fe_reload_env(fe);
	struct fpm_facts facts;
	struct json j;
	struct check_ctx k = { .fe = fe, .j = &j };
	bool ok;
	int r;

	json_init(&j);
	json_begin(&j, '{');
	json_key(&j, "problems");
	json_begin(&j, '[');
	/* Problems found come as entries; the reply only says there were some. */
	r = client_check(&fe->client, check_entry, &k, NULL);
	if (client_lost(&fe->client)) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	ok = r == 0;
	if (fe->cfg->mode == PUBLISH_BIND && !(fe->cfg->fpm.enabled && fe->cfg->fpm.pid_file[0])) {
		static const char warn[] = "mode = bind without [fpm] pid_file: cutover cannot reload php-fpm nor find its "
					   "mount namespace, and OPcache keeps serving the old code at the same path";
		out_warn(&fe->out, "%s", warn);
		check_problem(&j, "bind_without_pid_file", warn);
	}
	if (fpm_unset(fe)) {
		out_warn(&fe->out, "%s", fpm_unset_warning);
		check_problem(&j, "fpm_unset", fpm_unset_warning);
	}
	/* The pool: its master genuine, its configuration valid, and a
	 * warning if a reload would cut requests. */
	if (fe->cfg->fpm.enabled && fe->cfg->fpm.pid_file[0]) {
		char why[600];

		if (reload_inspect(&env, &facts, why, sizeof(why)) < 0) {
			out_error("check: %s", why);
			check_problem(&j, "fpm_config", why);
			ok = false;
		} else {
			char warn[600];
			fpm_facts_warning(&facts, warn, sizeof(warn));
			if (warn[0])
				check_problem(&j, "fpm_reload_cuts", warn);
		}
	}
	if (swap_enabled(fe->cfg) && !check_swap(fe, &k)) {
		if (client_lost(&fe->client)) {
			json_free(&j);
			return fe_helper_lost(fe);
		}
		ok = false;
	}
	if (fe->cfg->fpm.enabled && fe->cfg->fpm.socket[0]) {
		struct fcgi_response resp = { 0 };
		char err[300];

		if (fpm_fetch(&env, FPM_REQ_PROBE, NULL, &resp, err, sizeof(err)) < 0) {
			out_error("check: php-fpm at %s does not answer: %s", fe->cfg->fpm.socket, err);
			check_problem(&j, "fpm_unreachable", "php-fpm does not answer on [fpm] socket");
			ok = false;
		}
		fcgi_response_free(&resp);
	}
	json_end(&j, ']');
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	if (!ok) {
		result_set_code(result_get(), "config");
		result_set_message(result_get(), "check found problems (see problems)");
	}
	if (!fe->cli.json && ok && !fe->cli.quiet)
		printf("%s: configuration and environment are fine\n", fe->cfg->app);
	json_free(&j);
	return ok ? EXIT_OK : EXIT_USAGE;
}

/* cutover mount: live as ROOT/current says (at boot; after a crash). */
static int verb_mount(struct frontend *fe)
{
	struct client_mount_result mr;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE], note[PROTO_TEXT_SIZE + 256];
	uint64_t t0 = now_ns();
	struct json j;
	int r;

	if (fe->cfg->mode != PUBLISH_BIND) {
		result_set_code(result_get(), "usage");
		out_error("mount is for mode = bind; %s uses mode = symlink, where ROOT/current is all there is to publish",
			  fe->cfg->app);
		return EXIT_USAGE;
	}
	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	/* The helper may mount the live path before its reply arrives. */
	frontend_switching(true);
	r = client_mount(&fe->client, &mr, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		frontend_switching(false);
		fe_why(fe, &e, why, sizeof(why));
		out_error("%s", why);
		return EXIT_FAILED;
	}
	messages_format_note(&mr.note, fe->cfg, note, sizeof(note));
	out_step(&fe->out, "mount", now_ns() - t0, note);
	if (mr.mounted || mr.unstacked)
		result_get()->changed = true;
	{
		json_init(&j);
		json_begin(&j, '{');
		json_kv_string(&j, "live", fe->cfg->live);
		json_kv_string(&j, "release", mr.release[0] ? mr.release : NULL);
		json_kv_uint(&j, "unstacked", mr.unstacked);
		json_kv_bool(&j, "mounted", mr.mounted);
		json_kv_bool(&j, "fpm_namespace", mr.fpm_namespace);
		json_kv_string(&j, "note", note);
		json_end(&j, '}');
		result_take_body(result_get(), &j);
		json_free(&j);
	}
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "mounted %s: %s\n", fe->cfg->app, note);
	return EXIT_OK;
}

struct verify_out {
	struct frontend *fe;
	struct json *j;
};

static const char *verify_kind_name(enum verify_kind k)
{
	static const char *const names[] = {
		[VERIFY_CONTENT] = "content", [VERIFY_MODE] = "mode", [VERIFY_OWNER] = "owner",
		[VERIFY_TYPE] = "type", [VERIFY_EXTRA] = "extra", [VERIFY_MISSING] = "missing",
		[VERIFY_NOT_LINKED] = "not-linked", [VERIFY_TARGET] = "target",
	};

	return k > 0 && k < VERIFY_KIND_MAX ? names[k] : "unknown";
}

static const char *verify_type_name(uint64_t t)
{
	return t == 'd' ? "directory" : t == 'f' ? "file" : t == 'l' ? "symlink" : "special file";
}

/* One line for a difference, the path escaped (it is the build's). */
static void verify_describe(const struct client_verify_diff *d, char *buf, size_t n)
{
	char p[600];

	str_escape(p, sizeof(p), d->path, strlen(d->path));
	switch (d->kind) {
	case VERIFY_CONTENT:
		snprintf(buf, n, "%s: content differs from the manifest (SHA-256)", p);
		break;
	case VERIFY_MODE:
		snprintf(buf, n, "%s: mode %04llo, the manifest says %04llo", p,
			 (unsigned long long)d->found, (unsigned long long)d->expected);
		break;
	case VERIFY_OWNER:
		snprintf(buf, n, "%s: owner %llu:%llu, the manifest says %llu:%llu", p,
			 (unsigned long long)(d->found >> 32), (unsigned long long)(d->found & 0xffffffffu),
			 (unsigned long long)(d->expected >> 32), (unsigned long long)(d->expected & 0xffffffffu));
		break;
	case VERIFY_TYPE:
		snprintf(buf, n, "%s: is a %s, the manifest says %s", p, verify_type_name(d->found),
			 verify_type_name(d->expected));
		break;
	case VERIFY_EXTRA:
		snprintf(buf, n, "%s: extra %s, not in the manifest", p, verify_type_name(d->found));
		break;
	case VERIFY_MISSING:
		snprintf(buf, n, "%s: missing (the manifest lists a %s)", p, verify_type_name(d->expected));
		break;
	case VERIFY_NOT_LINKED:
		snprintf(buf, n, "%s: not a hard link to its object in the store (.cutover/objects)", p);
		break;
	case VERIFY_TARGET:
		snprintf(buf, n, "%s: symlink target differs from the manifest", p);
		break;
	default:
		snprintf(buf, n, "%s: differs from the manifest", p);
	}
}

static void verify_diff(void *ctx, const struct client_verify_diff *d)
{
	struct verify_out *v = ctx;
	char line[1200];

	if (!v->fe->cli.json) {
		verify_describe(d, line, sizeof(line));
		printf("%s\n", line);
		return;
	}
	json_begin(v->j, '{');
	json_kv_string(v->j, "path", d->path);
	json_kv_string(v->j, "kind", verify_kind_name(d->kind));
	if (d->kind == VERIFY_MODE || d->kind == VERIFY_OWNER) {
		json_kv_uint(v->j, "expected", d->expected);
		json_kv_uint(v->j, "found", d->found);
	} else if (d->kind == VERIFY_TYPE || d->kind == VERIFY_EXTRA || d->kind == VERIFY_MISSING) {
		if (d->kind != VERIFY_EXTRA)
			json_kv_string(v->j, "expected", verify_type_name(d->expected));
		if (d->kind != VERIFY_MISSING)
			json_kv_string(v->j, "found", verify_type_name(d->found));
	}
	json_end(v->j, '}');
}

/* cutover verify: a release against its manifest, every byte hashed. */
static int verb_verify(struct frontend *fe)
{
	struct client_verify_result vr;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE];
	struct json j;
	struct verify_out v = { .fe = fe, .j = &j };
	int r;

	json_init(&j);
	json_begin(&j, '{');
	json_key(&j, "differences");
	json_begin(&j, '[');
	r = client_verify(&fe->client, fe->cli.release, verify_diff, &v, &vr, &e);
	if (client_lost(&fe->client)) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	if (r < 0) {
		json_free(&j);
		fe_why(fe, &e, why, sizeof(why));
		out_error("verify: %s", why);
		return EXIT_FAILED;
	}
	json_end(&j, ']');
	json_kv_string(&j, "release", vr.release);
	json_kv_uint(&j, "entries", vr.entries);
	json_kv_uint(&j, "files", vr.files);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	if (vr.differences) {
		char msg[128];

		snprintf(msg, sizeof(msg), "release %s: %llu difference%s from its manifest", vr.release,
			 (unsigned long long)vr.differences, vr.differences == 1 ? "" : "s");
		result_set_code(result_get(), "verify_failed");
		result_set_message(result_get(), msg);
	}
	if (!fe->cli.json && vr.differences)
		printf("release %s: %llu difference%s from its manifest (%llu entries, %llu files hashed)\n",
		       vr.release, (unsigned long long)vr.differences, vr.differences == 1 ? "" : "s",
		       (unsigned long long)vr.entries, (unsigned long long)vr.files);
	else if (!fe->cli.json && !fe->cli.quiet)
		printf("release %s matches its manifest (%llu entries, %llu files hashed)\n", vr.release,
		       (unsigned long long)vr.entries, (unsigned long long)vr.files);
	json_free(&j);
	return vr.differences ? EXIT_FAILED : EXIT_OK;
}

/* ---- honest defaults, dry run, prune after a failure ----------------- */

/* No [fpm] section at all: deploys never reload php-fpm, which the
 * operator may not know. mode = bind has its own warning (and refuses
 * reload = none). */
static bool fpm_unset(const struct frontend *fe)
{
	return !fe->cfg->fpm.enabled && fe->cfg->mode != PUBLISH_BIND;
}

/*
 * deploy --dry-run, after everything the switch would follow: the staged
 * release is given up (a deploy run's helper removes what it did not
 * publish). Keeping it for `cutover switch` would publish a release whose
 * migrations and before_switch hooks never ran.
 */
static int deploy_dry_run_end(struct frontend *fe, const char *id, uint64_t bytes, uint64_t files,
			      uint64_t start, const struct swap_report *swap)
{
	const char *fate = abort_release_as(fe, id, NULL, ABORT_DRY_RUN);
	double secs = (double)(now_ns() - start) / 1e9;
	char pool[160] = "";
	struct json j;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", id);
	json_kv_string(&j, "previous", NULL);
	json_kv_bool(&j, "dry_run", true);
	json_kv_bool(&j, "removed", strcmp(fate, "removed") == 0);
	json_kv_uint(&j, "bytes", bytes);
	json_kv_uint(&j, "files", files);
	json_key(&j, "pruned");
	json_begin(&j, '[');
	json_end(&j, ']');
	json_kv_double(&j, "seconds", secs);
	if (swap) {
		swap_json(&j, fe->cfg, swap);
		snprintf(pool, sizeof(pool), " (php-fpm: a pool for it was started in slot %c, checked and warmed, then %s)",
			 swap->start.slot, swap->new_retired ? "stopped" : "left to the helper to stop");
	}
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "dry run of %s: release %s built and checked in %.1fs, then %s; nothing was switched, "
			"the live site is unchanged%s%s\n", fe->cfg->app, id, secs, fate,
			fe->cfg->migrate.run[0] ? " (migrations: pretend only)" : "", pool);
	return EXIT_OK;
}

static void prune_after_entry(void *ctx, const char *id, uint64_t bytes)
{
}

/*
 * A deploy that failed (1) or was rolled back (3) still prunes, as a
 * successful one does (keep from the config): a health check that fails
 * every time must not pile up releases. Never when the lock was not ours,
 * never in a dry run, and not after --keep-failed kept the build that
 * failed (prune would remove it). A failing prune is reported and leaves
 * the exit code alone.
 */
static int deploy_prune_after_failure(struct frontend *fe, int code)
{
	struct client_prune_result pr;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE], size[32], detail[96];
	uint64_t t0 = now_ns();

	if ((code != EXIT_FAILED && code != EXIT_ROLLED_BACK) || !fe_locked || fe->cli.dry_run ||
	    client_lost(&fe->client) || (fe->cli.keep_failed && !sig_published))
		return code;
	/* keep 0 is "as configured" only to a run that published */
	if (client_prune(&fe->client, sig_published ? 0 : fe->cfg->keep, prune_after_entry, NULL, &pr, &e) < 0) {
		if (client_lost(&fe->client))
			snprintf(why, sizeof(why), "helper stopped");
		else
			fe_why(fe, &e, why, sizeof(why));
		if (!fe->cli.quiet)
			fprintf(stderr, "  warning: pruning old releases after the failed deploy failed too: %s\n", why);
		return code;
	}
	format_size(size, sizeof(size), pr.freed);
	snprintf(detail, sizeof(detail), "%llu removed, %s freed", (unsigned long long)pr.removed, size);
	out_step(&fe->out, "prune", now_ns() - t0, detail);
	if (pr.removed)
		result_get()->changed = true;
	return code;
}

int frontend_run(struct frontend *fe)
{
	struct helper_error e;
	char why[PROTO_TEXT_SIZE];
	int r;

	fe->start_ns = now_ns();
	out_init(&fe->out, fe->cli.quiet, fe->cli.json);
	client_init(&fe->client, fe->sock, (struct client_sink) { .fn = print_output, .ctx = &fe->out });
	/* --from is the caller's text; it appears in messages only escaped. */
	if (fe->cli.from)
		str_escape(fe->from_shown, sizeof(fe->from_shown), fe->cli.from, strlen(fe->cli.from));
	/* The helper says first whether it could load the config and set up
	 * the app's directories. */
	r = client_hello(&fe->client, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, &e, why, sizeof(why));
		result_set_code(result_get(), "config");
		out_error("%s", why);
		return EXIT_USAGE;
	}
	switch (fe->cli.verb) {
	case VERB_DEPLOY:
		if (fpm_unset(fe) && !fe->cli.quiet)
			fprintf(stderr, "  warning: %s\n", fpm_unset_warning);
		return deploy_prune_after_failure(fe, verb_deploy(fe));
	case VERB_STAGE:
		return verb_deploy(fe);
	case VERB_SWITCH:
	case VERB_ROLLBACK:
		r = frontend_resolve_release(fe);
		return r != EXIT_OK ? r : verb_switch(fe);
	case VERB_PRUNE:
		return verb_prune(fe);
	case VERB_LIST:
		return verb_list(fe);
	case VERB_STATUS:
		return verb_status(fe);
	case VERB_CHECK:
		return verb_check(fe);
	case VERB_MOUNT:
		return verb_mount(fe);
	case VERB_VERIFY:
		return verb_verify(fe);
	case VERB_HISTORY:
		return history_view(fe);
	case VERB_LOG:
		return log_view(fe);
	case VERB_MIGRATE:
		r = frontend_resolve_release(fe);
		return r != EXIT_OK ? r : verb_migrate(fe);
	case VERB_FPM_START:
		return verb_fpm_start(fe);
	default:
		return EXIT_USAGE;
	}
}
