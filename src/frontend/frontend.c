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
#include "health.h"
#include "migrate.h"
#include "reload.h"
#include "history_last.h"
#include "messages.h"
#include "names.h"
#include "proto.h"
#include "util.h"

/* For the signal handler: what to stop and what to say. */
static volatile sig_atomic_t sig_sock = -1;
static volatile sig_atomic_t sig_helper = -1;
static volatile sig_atomic_t sig_published = 0;

static void on_signal(int sig)
{
	static const char before[] = "cutover: interrupted; the release being built was removed, the live site is unchanged\n";
	static const char after[] = "cutover: interrupted after the new release was published\n";
	int status;

	if (sig_sock >= 0)
		shutdown(sig_sock, SHUT_RDWR);
	/* The helper sees EOF, stops any build step, removes the half-built
	 * release and exits; only then do we, so the lock is free when the
	 * caller's next command runs. */
	if (sig_helper > 0)
		while (waitpid(sig_helper, &status, 0) < 0 && errno == EINTR)
			;
	if (sig_published)
		(void)!write(2, after, sizeof(after) - 1);
	else
		(void)!write(2, before, sizeof(before) - 1);
	_exit(EXIT_FAILED);
}

void frontend_install_signals(struct frontend *fe)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sig_sock = fe->sock;
	sig_helper = fe->helper_pid;
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
	free(fe->capture);
	fe->capture = NULL;
	fe->capture_len = fe->capture_cap = 0;
	if (fe->helper_pid > 0) {
		while (waitpid(fe->helper_pid, &status, 0) < 0 && errno == EINTR)
			;
		fe->helper_pid = -1;
		sig_helper = -1;
	}
}

static void capture_add(struct frontend *fe, const char *buf, size_t len)
{
	/* Bounded: php-fpm -tt of a large config is a few hundred kB at most. */
	if (fe->capture_len + len + 1 > fe->capture_cap) {
		size_t cap = fe->capture_cap ? fe->capture_cap * 2 : 8192;
		char *n;

		while (cap < fe->capture_len + len + 1)
			cap *= 2;
		if (cap > 4 * 1024 * 1024 || !(n = realloc(fe->capture, cap))) {
			fe->capture_truncated = true;
			return;
		}
		fe->capture = n;
		fe->capture_cap = cap;
	}
	memcpy(fe->capture + fe->capture_len, buf, len);
	fe->capture_len += len;
	fe->capture[fe->capture_len] = '\0';
}

/*
 * Until the typed client (src/frontend/client.c) lands: a failed reply
 * carries an error code and the failing subject, and is worded here, once,
 * so that every caller's rep.text holds the sentence as before.
 */
static void fe_word_error(struct frontend *fe, struct proto_msg *rep)
{
	struct helper_error e;

	if (rep->op != OP_REPLY || rep->status >= 0 || rep->error == ERR_NONE)
		return;
	helper_error_from_reply(&e, rep);
	messages_format(&e, fe->cfg, rep->text, sizeof(rep->text));
	rep->len = (uint32_t)strlen(rep->text);
}

int fe_request(struct frontend *fe, const struct proto_msg *req, entry_fn on_entry,
	       void *ctx, struct proto_msg *rep, int *ret_fd)
{
	int r = proto_send(fe->sock, req, -1);

	if (r < 0)
		return -ECONNRESET;
	for (;;) {
		r = proto_recv(fe->sock, rep, ret_fd);
		if (r < 0)
			return r == -ECONNRESET || r == -EPIPE ? -ECONNRESET : r;
		if (rep->op == OP_OUTPUT) {
			if (fe->capturing)
				capture_add(fe, rep->text, rep->len);
			else
				out_build_chunk(&fe->out, rep->text, rep->len);
			continue;
		}
		if (rep->op == OP_ENTRY) {
			if (on_entry && (r = on_entry(fe, rep, ctx)) < 0)
				return r;
			continue;
		}
		if (rep->op == OP_REPLY || rep->op == OP_END) {
			fe_word_error(fe, rep);
			return 0;
		}
		return -EPROTO;
	}
}

int fe_helper_lost(struct frontend *fe)
{
	if (sig_published)
		out_error("the privileged helper stopped unexpectedly after the switch: the new release is live, "
			  "but the run did not finish (php-fpm reload, health check or prune); run 'cutover status %s'",
			  fe->cfg ? fe->cfg->app : "APP");
	else
		out_error("the privileged helper stopped unexpectedly; nothing was published (see the system log)");
	return EXIT_FAILED;
}

static int do_lock(struct frontend *fe)
{
	struct proto_msg req, rep;
	uint64_t t0 = now_ns();
	int r;

	proto_init(&req, OP_LOCK);
	req.arg[0] = fe->cli.wait;
	r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (rep.status == -EBUSY) {
		out_error("%s; try again later or pass --wait SECONDS", rep.text);
		return EXIT_FAILED;
	}
	if (rep.status < 0) {
		out_error("%s", rep.text);
		return EXIT_FAILED;
	}
	/* mode = bind: what the repair of live at the start of the run found */
	out_step(&fe->out, "lock", now_ns() - t0, rep.text[0] ? rep.text : NULL);
	return EXIT_OK;
}

/* ---- source reader --------------------------------------------------- */

/* Asks the source reader to open SOURCE with the caller's credentials.
 * ret_is_dir tells whether the fd is a tar stream of a directory. */
static int reader_open(struct frontend *fe, const char *path, int *ret_fd, bool *ret_is_dir,
		       char *err, size_t errlen)
{
	struct proto_msg req, rep;
	int r;

	if (fe->reader_sock < 0)
		return -EBADF;
	proto_init(&req, OP_REPLY);
	if (str_copy(req.text, sizeof(req.text), path) < 0) {
		snprintf(err, errlen, "--from path is too long");
		return -ENAMETOOLONG;
	}
	req.len = (uint32_t)strlen(req.text);
	r = proto_send(fe->reader_sock, &req, -1);
	if (r == 0)
		r = proto_recv(fe->reader_sock, &rep, ret_fd);
	if (r < 0) {
		snprintf(err, errlen, "the source reader failed: %s", strerror(-r));
		return r;
	}
	if (rep.status < 0) {
		snprintf(err, errlen, "%s", rep.text);
		return rep.status;
	}
	if (*ret_fd < 0) {
		snprintf(err, errlen, "the source reader sent no file");
		return -EBADF;
	}
	*ret_is_dir = rep.arg[0] == 1;
	return 0;
}

static int import_source(struct frontend *fe, int dirfd, struct extract_stats *st,
			 char *err, size_t errlen)
{
	struct extract_limits lim = {
		.max_bytes = fe->cfg->max_size, .max_entries = fe->cfg->max_files,
	};
	enum source_kind kind;
	_cleanup_close_ int fd = -EBADF;
	bool is_dir = false;
	int r;

	r = source_detect(fe->cli.from, &kind, err, errlen);
	if (r < 0)
		return r;
	if (kind == SOURCE_GIT) {
		struct proto_msg req, rep;

		/* The helper runs git as the deploy user in the build sandbox,
		 * where the release has a path git can use. */
		proto_init(&req, OP_FETCH_GIT);
		if (str_copy(req.text, sizeof(req.text), fe->cli.from + 4) < 0) {
			snprintf(err, errlen, "--from git+URL#REF is too long");
			return -ENAMETOOLONG;
		}
		req.len = (uint32_t)strlen(req.text);
		r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
		out_build_end(&fe->out);
		if (r < 0) {
			snprintf(err, errlen, "the privileged helper stopped");
			return r;
		}
		if (rep.status < 0 || rep.arg[0] != 0) {
			snprintf(err, errlen, "%s", rep.status < 0 ? rep.text : "git fetch failed (see its output above)");
			return rep.status < 0 ? rep.status : -EIO;
		}
		memset(st, 0, sizeof(*st));
		return artifact_check_tree(dirfd, err, errlen);
	}
	r = reader_open(fe, fe->cli.from, &fd, &is_dir, err, errlen);
	if (r < 0)
		return r;
	if (kind == SOURCE_DIR && !is_dir) {
		snprintf(err, errlen, "--from %s is a file but not a .tar, .tar.gz, .tgz, .tar.zst or .tar.xz archive", fe->from_shown);
		return -EINVAL;
	}
	if (kind == SOURCE_TARBALL && is_dir) {
		snprintf(err, errlen, "--from %s is a directory, not an archive", fe->from_shown);
		return -EINVAL;
	}
	r = artifact_extract_fd(fd, dirfd, &lim, st, err, errlen);
	if (is_dir) {
		/* The reader reports how its walk went after the stream ends. */
		struct proto_msg rep;
		closep(&fd);
		if (proto_recv(fe->reader_sock, &rep, NULL) == 0 && rep.status < 0) {
			snprintf(err, errlen, "%s", rep.text);
			return rep.status;
		}
	}
	return r;
}

/* ---- deploy and stage ------------------------------------------------ */

struct stage_result {
	char id[RELEASE_ID_MAX + 1];
	unsigned long long bytes, files;
	double step_seconds[8];
};

/*
 * Gives up the release being staged. Returns how to finish the sentence
 * "release ID ...": removed, or kept (--keep-failed) and where.
 */
static const char *abort_release(struct frontend *fe, const char *id)
{
	static char kept[512];
	struct proto_msg req, rep;

	proto_init(&req, OP_ABORT);
	req.arg[0] = fe->cli.keep_failed ? 1 : 0;
	if (fe_request(fe, &req, NULL, NULL, &rep, NULL) < 0 || rep.status < 0)
		return "left behind (the next run removes it)";
	if (!fe->cli.keep_failed || strcmp(rep.text, "kept") != 0)
		return "removed";
	snprintf(kept, sizeof(kept), "kept as failed in %s/.cutover/failed/%s", fe->cfg->root, id);
	return kept;
}

static int run_steps(struct frontend *fe, const char *id)
{
	struct proto_msg req, rep;
	char shown[160];

	for (size_t i = 0; i < fe->cfg->n_build_run; i++) {
		uint64_t t0 = now_ns();
		char name[64];
		int r;

		out_build_begin(&fe->out, i + 1, fe->cfg->n_build_run, fe->cfg->build_run[i]);
		proto_init(&req, OP_RUN_STEP);
		req.arg[0] = i;
		r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
		out_build_end(&fe->out);
		if (r < 0)
			return fe_helper_lost(fe);
		str_escape(shown, sizeof(shown), fe->cfg->build_run[i], strlen(fe->cfg->build_run[i]));
		if (rep.status < 0 || rep.arg[0] != 0) {
			if (fe->out.quiet && fe->out.tail_len)
				out_build_tail(&fe->out);
			char why[1100];

			if (rep.status < 0)
				snprintf(why, sizeof(why), "%s", rep.text);
			else
				snprintf(why, sizeof(why), "failed with exit code %llu", (unsigned long long)rep.arg[0]);
			out_error("build step %zu '%s' %s; release %s %s, the live site is unchanged",
				  i + 1, shown, why, id, abort_release(fe, id));
			return EXIT_FAILED;
		}
		snprintf(name, sizeof(name), "build step %zu", i + 1);
		out_step(&fe->out, name, now_ns() - t0, NULL);
	}
	return EXIT_OK;
}

/* One staging request without arguments; on failure the release is given
 * up and one error line printed. EXIT_OK or the exit code. */
static int stage_request(struct frontend *fe, enum proto_op op, const char *id, struct proto_msg *rep)
{
	struct proto_msg req;

	proto_init(&req, op);
	if (fe_request(fe, &req, NULL, NULL, rep, NULL) < 0)
		return fe_helper_lost(fe);
	if (rep->status < 0) {
		out_error("%s; release %s %s, the live site is unchanged", rep->text, id,
			  abort_release(fe, id));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int stage(struct frontend *fe, struct stage_result *res)
{
	struct proto_msg req, rep;
	_cleanup_close_ int dirfd = -EBADF;
	struct extract_stats st = { 0 };
	char err[1024] = "", detail[96], size[32];
	uint64_t t0;
	int r;

	t0 = now_ns();
	proto_init(&req, OP_STAGE_BEGIN);
	if (fe->cli.label)
		str_copy(req.text, sizeof(req.text), fe->cli.label);
	req.len = (uint32_t)strlen(req.text);
	r = fe_request(fe, &req, NULL, NULL, &rep, &dirfd);
	if (r < 0)
		return fe_helper_lost(fe);
	if (rep.status < 0 || dirfd < 0 || !release_id_valid(rep.id)) {
		out_error("cannot create a release: %s", rep.text);
		return EXIT_FAILED;
	}
	str_copy(res->id, sizeof(res->id), rep.id);
	out_step(&fe->out, "create release", now_ns() - t0, res->id);

	t0 = now_ns();
	r = import_source(fe, dirfd, &st, err, sizeof(err));
	closep(&dirfd);
	if (r < 0) {
		out_error("importing %s failed: %s; release %s %s, the live site is unchanged",
			  fe->from_shown, err[0] ? err : strerror(-r), res->id, abort_release(fe, res->id));
		return EXIT_FAILED;
	}
	format_size(size, sizeof(size), st.bytes);
	snprintf(detail, sizeof(detail), "%llu files, %s", st.files, size);
	out_step(&fe->out, "import source", now_ns() - t0, st.files ? detail : NULL);

	t0 = now_ns();
	r = stage_request(fe, OP_LINK_SHARED, res->id, &rep);
	if (r != EXIT_OK)
		return r;
	out_step(&fe->out, "link shared", now_ns() - t0, NULL);

	r = run_steps(fe, res->id);
	if (r != EXIT_OK)
		return r;

	t0 = now_ns();
	r = stage_request(fe, OP_FREEZE, res->id, &rep);
	if (r != EXIT_OK)
		return r;
	res->bytes = rep.arg[0];
	res->files = rep.arg[1];
	format_size(size, sizeof(size), res->bytes);
	snprintf(detail, sizeof(detail), "%llu files, %s", res->files, size);
	out_step(&fe->out, "freeze", now_ns() - t0, detail);
	return EXIT_OK;
}

static int prune_entry(struct frontend *fe, const struct proto_msg *m, void *ctx)
{
	struct json *j = ctx;

	if (j)
		json_string(j, m->id);
	return 0;
}

static int do_switch_request(struct frontend *fe, enum proto_op op, const char *id,
			     uint64_t ms, struct proto_msg *rep)
{
	struct proto_msg req;
	int r;

	proto_init(&req, op);
	if (id)
		str_copy(req.id, sizeof(req.id), id);
	snprintf(req.text, sizeof(req.text), "%s", fe->cli.from ? fe->cli.from : fe->cli.verb_name);
	req.len = (uint32_t)strlen(req.text);
	req.arg[0] = ms;
	r = fe_request(fe, &req, NULL, NULL, rep, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (rep->status == -EXDEV) {
		/* mode = bind: recorded and live here, not (yet) everywhere */
		sig_published = 1;
		out_error("%s", rep->text);
		return EXIT_FAILED;
	}
	if (rep->status < 0) {
		out_error("%s; the live site is unchanged", rep->text);
		return EXIT_FAILED;
	}
	sig_published = 1;
	return EXIT_OK;
}

/* The detail of a switch step: how long until the new release was visible. */
static void switch_detail(const struct frontend *fe, const struct proto_msg *rep, char *buf, size_t n)
{
	if (fe->cfg->mode == PUBLISH_BIND)
		snprintf(buf, n, "mount swap %.3f ms, verified %.3f ms%s", (double)rep->arg[1] / 1e6,
			 (double)rep->arg[2] / 1e6, rep->arg[3] ? ", also in php-fpm's mount namespace" : "");
	else
		snprintf(buf, n, "publish %.3f ms, durable %.3f ms",
			 (double)rep->arg[1] / 1e6, (double)rep->arg[2] / 1e6);
}

/* ---- migrations and hooks ------------------------------------------- */

/* Runs a sandboxed command through the helper (OP_HOOK or OP_MIGRATE) with
 * its output printed, or captured when capture is set. 0, or -errno after
 * printing why. */
static int run_remote(struct frontend *fe, enum proto_op op, uint64_t a0, uint64_t a1,
		      const char *title, const char *cmd, bool capture, char *err, size_t errlen)
{
	struct proto_msg req, rep;
	uint64_t t0 = now_ns();
	char shown[160];
	int r;

	if (!capture)
		out_build_begin(&fe->out, 0, 0, cmd);
	proto_init(&req, op);
	req.arg[0] = a0;
	req.arg[1] = a1;
	fe->capturing = capture;
	fe->capture_len = 0;
	fe->capture_truncated = false;
	r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
	fe->capturing = false;
	out_build_end(&fe->out);
	if (r < 0)
		return fe_helper_lost(fe), -ECONNRESET;
	str_escape(shown, sizeof(shown), cmd, strlen(cmd));
	if (rep.status < 0 || rep.arg[0] != 0) {
		if (capture && fe->capture_len) {
			out_build_begin(&fe->out, 0, 0, cmd);
			out_build_chunk(&fe->out, fe->capture, fe->capture_len);
			out_build_end(&fe->out);
		} else if (fe->out.quiet && fe->out.tail_len)
			out_build_tail(&fe->out);
		if (rep.status < 0)
			snprintf(err, errlen, "%s '%s' %.300s", title, shown, rep.text);
		else
			snprintf(err, errlen, "%s '%s' failed with exit code %llu", title, shown,
				 (unsigned long long)rep.arg[0]);
		return -EIO;
	}
	out_step(&fe->out, title, now_ns() - t0, NULL);
	return 0;
}

static int run_hooks(struct frontend *fe, bool after, char *err, size_t errlen)
{
	size_t n = after ? fe->cfg->n_after_switch : fe->cfg->n_before_switch;
	char *const *v = after ? fe->cfg->after_switch : fe->cfg->before_switch;

	for (size_t i = 0; i < n; i++) {
		char title[64];

		snprintf(title, sizeof(title), "%s hook %zu", after ? "after_switch" : "before_switch", i + 1);
		if (run_remote(fe, OP_HOOK, after, i, title, v[i], false, err, errlen) < 0)
			return -EIO;
	}
	return 0;
}

/*
 * New schema first, then new code: [migrate] pretend shows the SQL, which
 * must be additive unless destructive changes are allowed; then [migrate]
 * run. Returns 0, or -errno after printing the one-line reason.
 */
static int run_migrations(struct frontend *fe, char *err, size_t errlen)
{
	const struct migrate_config *m = &fe->cfg->migrate;
	struct migrate_finding f[8];
	size_t n = 0;
	int r;

	if (!m->run[0])
		return 0;
	if (m->pretend[0]) {
		r = run_remote(fe, OP_MIGRATE, 0, 0, "migrations (pretend)", m->pretend, true, err, errlen);
		if (r < 0)
			return r;
		if (fe->capture_truncated) {
			snprintf(err, errlen, "'%.200s' printed more than 4 MiB; its SQL cannot be vetted, nothing was migrated", m->pretend);
			return -EFBIG;
		}
		migrate_scan(fe->capture ? fe->capture : "", fe->capture_len, f, ELEMENTSOF(f), &n);
		if (n > 0 && !m->allow_destructive && !fe->cli.allow_destructive) {
			char more[64] = "";

			if (n > 1)
				snprintf(more, sizeof(more), " (and %zu more)", n - 1);
			snprintf(err, errlen, "migration %.100s would run %s: '%.200s'%s; nothing was migrated. cutover deploys additive migrations only: "
				 "add the new column or table in this release and drop the old one in a later release, once no running code "
				 "uses it (expand/contract); to run it anyway pass --allow-destructive or set allow_destructive = yes in [migrate]",
				 f[0].migration[0] ? f[0].migration : "(unnamed)", f[0].kind, f[0].statement, more);
			return -EPERM;
		}
		for (size_t i = 0; i < n && i < ELEMENTSOF(f); i++)
			out_warn(&fe->out, "destructive migration allowed: %s runs %s: %s", f[i].migration, f[i].kind,
				 f[i].statement);
	}
	r = run_remote(fe, OP_MIGRATE, 1, 0, "migrations", m->run, false, err, errlen);
	if (r < 0 || fe->cfg->preset != PRESET_LARAVEL || !m->pretend[0])
		return r;
	/* artisan exits 0 when it cannot log the exception that stopped a
	 * migration: check that nothing is left to run. */
	r = run_remote(fe, OP_MIGRATE, 2, 0, "migrations (verify)", m->pretend, true, err, errlen);
	if (r < 0)
		return r;
	if (!fe->capture || !strstr(fe->capture, "Nothing to migrate")) {
		snprintf(err, errlen, "migrations exited 0 but left migrations pending ('%.200s' still lists them); "
			 "look at storage/logs/laravel.log", m->pretend);
		return -EIO;
	}
	return 0;
}

/* ---- publishing: php-fpm, health, automatic rollback ----------------- */

/* What a switch reply says about the publish step, for --json. */
static void json_publish_fields(const struct frontend *fe, struct json *j, const struct proto_msg *rep)
{
	json_kv_double(j, "publish_ms", (double)rep->arg[1] / 1e6);
	json_kv_double(j, "durable_ms", (double)rep->arg[2] / 1e6);
	if (fe->cfg->mode == PUBLISH_BIND)
		json_kv_bool(j, "fpm_namespace_entered", rep->arg[3] == 1);
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
	r = reload_inspect(fe, facts, err, errlen);
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

	if (!fe->cfg->fpm.enabled || fe->cfg->fpm.reload == FPM_RELOAD_NONE)
		return 0;
	r = reload_run(fe, fpm_graceful(fe) ? facts : NULL, &rr);
	if (r < 0)
		return r;
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

/* After a deploy's health check failed: back to the release it replaced,
 * reloaded again, both recorded in history by the helper. */
static int auto_rollback(struct frontend *fe, const struct fpm_facts *facts, const char *why)
{
	struct proto_msg req, rep;
	uint64_t t0 = now_ns();
	int r;

	proto_init(&req, OP_ROLLBACK);
	r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (rep.status < 0) {
		out_error("health check failed: %s; rolling back failed too: %s", why, rep.text);
		return EXIT_FAILED;
	}
	out_step(&fe->out, "rollback", now_ns() - t0, rep.id);
	if (do_reload(fe, facts, NULL) < 0) {
		out_error("health check failed: %s; rolled back to %s, but the php-fpm reload failed", why, rep.id);
		return EXIT_FAILED;
	}
	out_error("health check failed: %s; rolled back to %s in %.0f ms", why, rep.id,
		  (double)(now_ns() - t0) / 1e6);
	return EXIT_ROLLED_BACK;
}

static int verb_deploy(struct frontend *fe)
{
	struct stage_result res = { 0 };
	struct fpm_facts facts = { 0 };
	struct proto_msg req, rep;
	struct json j;
	uint64_t start = now_ns(), t0;
	char detail[160], size[32], from[RELEASE_ID_MAX + 1], err[1600];
	int r;

	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	r = stage(fe, &res);
	if (r != EXIT_OK)
		return r;
	if (fe->cli.verb == VERB_STAGE) {
		if (fe->cli.json) {
			json_init(&j);
			json_begin(&j, '{');
			json_kv_string(&j, "app", fe->cfg->app);
			json_kv_string(&j, "release", res.id);
			json_kv_uint(&j, "bytes", res.bytes);
			json_kv_uint(&j, "files", res.files);
			json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
			json_end(&j, '}');
			json_print(&j);
			json_free(&j);
		} else
			printf("%s\n", res.id);
		return EXIT_OK;
	}

	r = before_publish(fe, &facts, err, sizeof(err));
	if (r < 0) {
		out_error("%s; release %s was not published and was %s, the live site is unchanged", err,
			  res.id, abort_release(fe, res.id));
		return r == -EIO ? EXIT_FAILED : EXIT_USAGE;
	}
	if (run_migrations(fe, err, sizeof(err)) < 0 || run_hooks(fe, false, err, sizeof(err)) < 0) {
		out_error("%s; release %s was not published and was %s, the old release keeps serving", err,
			  res.id, abort_release(fe, res.id));
		return EXIT_FAILED;
	}
	/* mode = bind has no second path to run the staged release from: its
	 * shared entries are mounted only at live (docs/BIND.md). */
	if (fe->cfg->health.enabled && fe->cfg->health.precheck && fe->cfg->fpm.socket[0] &&
	    fe->cfg->mode != PUBLISH_BIND) {
		t0 = now_ns();
		r = health_precheck(fe, res.id, err, sizeof(err));
		if (r < 0) {
			out_error("pre-switch check of release %s through php-fpm %s; it was never published and was %s, the live site is unchanged",
				  res.id, err, abort_release(fe, res.id));
			return EXIT_FAILED;
		}
		out_step(&fe->out, "pre-switch check", now_ns() - t0, "staged release answers in the live pool");
	}

	t0 = now_ns();
	r = do_switch_request(fe, OP_SWITCH, res.id, (now_ns() - start) / 1000000, &rep);
	if (r != EXIT_OK)
		return r;
	str_copy(from, sizeof(from), rep.id2);
	switch_detail(fe, &rep, detail, sizeof(detail));
	out_step(&fe->out, "switch", now_ns() - t0, detail);

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "app", fe->cfg->app);
	json_kv_string(&j, "release", res.id);
	json_kv_string(&j, "previous", from[0] ? from : NULL);
	json_kv_uint(&j, "bytes", res.bytes);
	json_kv_uint(&j, "files", res.files);
	json_publish_fields(fe, &j, &rep);

	if (do_reload(fe, &facts, &j) < 0) {
		json_free(&j);
		out_error("release %s is live, but php-fpm was not reloaded (see above)", res.id);
		return EXIT_FAILED;
	}
	r = do_health(fe, err, sizeof(err));
	if (r < 0) {
		json_free(&j);
		if (fe->cfg->health.rollback && from[0])
			return auto_rollback(fe, &facts, err);
		out_error("health check failed: %s; release %s stays live (%s)", err, res.id,
			  from[0] ? "rollback = no" : "there is no previous release");
		return EXIT_FAILED;
	}
	if (run_hooks(fe, true, err, sizeof(err)) < 0) {
		json_free(&j);
		out_error("%s; release %s is live and healthy nonetheless", err, res.id);
		return EXIT_FAILED;
	}

	json_key(&j, "pruned");
	json_begin(&j, '[');
	t0 = now_ns();
	proto_init(&req, OP_PRUNE);
	r = fe_request(fe, &req, prune_entry, &j, &rep, NULL);
	json_end(&j, ']');
	if (r < 0 || rep.status < 0) {
		out_warn(&fe->out, "deployed, but pruning old releases failed: %s",
			 r < 0 ? "helper stopped" : rep.text);
	} else {
		format_size(size, sizeof(size), rep.arg[0]);
		snprintf(detail, sizeof(detail), "%llu removed, %s freed",
			 (unsigned long long)rep.arg[1], size);
		out_step(&fe->out, "prune", now_ns() - t0, detail);
		json_kv_uint(&j, "freed", rep.arg[0]);
	}
	json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
	json_end(&j, '}');
	if (fe->cli.json)
		json_print(&j);
	else if (!fe->cli.quiet)
		fprintf(stderr, "deployed %s %s in %.1fs%s%s%s\n", fe->cfg->app, res.id,
			(double)(now_ns() - start) / 1e9, from[0] ? " (previous: " : "",
			from, from[0] ? ")" : "");
	json_free(&j);
	return EXIT_OK;
}

static int verb_switch(struct frontend *fe)
{
	struct fpm_facts facts = { 0 };
	struct proto_msg rep;
	struct json j;
	uint64_t start = now_ns();
	char detail[160], err[1600];
	int r;

	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	r = before_publish(fe, &facts, err, sizeof(err));
	if (r < 0) {
		out_error("%s; nothing was switched, the live site is unchanged", err);
		return r == -EIO ? EXIT_FAILED : EXIT_USAGE;
	}
	r = do_switch_request(fe, fe->cli.verb == VERB_SWITCH ? OP_SWITCH : OP_ROLLBACK,
			      fe->cli.release, 0, &rep);
	if (r != EXIT_OK)
		return r;
	switch_detail(fe, &rep, detail, sizeof(detail));
	out_step(&fe->out, fe->cli.verb_name, now_ns() - start, detail);
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "app", fe->cfg->app);
	json_kv_string(&j, "verb", fe->cli.verb_name);
	json_kv_string(&j, "from", rep.id2[0] ? rep.id2 : NULL);
	json_kv_string(&j, "to", rep.id);
	json_publish_fields(fe, &j, &rep);
	if (do_reload(fe, &facts, &j) < 0) {
		json_free(&j);
		out_error("release %s is live, but php-fpm was not reloaded (see above)", rep.id);
		return EXIT_FAILED;
	}
	if (do_health(fe, err, sizeof(err)) < 0) {
		json_free(&j);
		out_error("release %s is live, but its health check failed: %s", rep.id, err);
		return EXIT_FAILED;
	}
	if (run_hooks(fe, true, err, sizeof(err)) < 0) {
		json_free(&j);
		out_error("%s; release %s is live nonetheless", err, rep.id);
		return EXIT_FAILED;
	}
	json_kv_double(&j, "seconds", (double)(now_ns() - start) / 1e9);
	json_end(&j, '}');
	if (fe->cli.json)
		json_print(&j);
	else if (!fe->cli.quiet)
		fprintf(stderr, "%s %s: now serving %s%s%s%s in %.0f ms\n",
			fe->cli.verb == VERB_SWITCH ? "switched" : "rolled back",
			fe->cfg->app, rep.id, rep.id2[0] ? " (was " : "", rep.id2,
			rep.id2[0] ? ")" : "", (double)(now_ns() - start) / 1e6);
	json_free(&j);
	return EXIT_OK;
}

static int verb_prune(struct frontend *fe)
{
	struct proto_msg req, rep;
	struct json j;
	char size[32];
	int r;

	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "app", fe->cfg->app);
	json_key(&j, "removed");
	json_begin(&j, '[');
	proto_init(&req, OP_PRUNE);
	req.arg[0] = fe->cli.keep ? fe->cli.keep : fe->cfg->keep;
	r = fe_request(fe, &req, prune_entry, &j, &rep, NULL);
	json_end(&j, ']');
	if (r < 0) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	if (rep.status < 0) {
		json_free(&j);
		out_error("%s", rep.text);
		return EXIT_FAILED;
	}
	json_kv_uint(&j, "freed", rep.arg[0]);
	json_end(&j, '}');
	format_size(size, sizeof(size), rep.arg[0]);
	if (fe->cli.json)
		json_print(&j);
	else if (!fe->cli.quiet)
		fprintf(stderr, "pruned %s: %llu release(s) removed, %s freed\n", fe->cfg->app,
			(unsigned long long)rep.arg[1], size);
	json_free(&j);
	return EXIT_OK;
}

static const char *state_name(unsigned s)
{
	switch (s & 0xff) {
	case RELEASE_BUILDING: return "building";
	case RELEASE_FROZEN: return "frozen";
	case RELEASE_FAILED: return "failed";
	default: return "unknown";
	}
}

static int list_entry(struct frontend *fe, const struct proto_msg *m, void *ctx)
{
	struct json *j = ctx;
	unsigned flags = (unsigned)m->arg[3];
	char when[32], size[32];

	format_time(when, sizeof(when), m->arg[0]);
	if (fe->cli.json) {
		json_begin(j, '{');
		json_kv_string(j, "id", m->id);
		json_kv_string(j, "state", state_name(flags));
		json_kv_string(j, "created", when);
		json_kv_uint(j, "bytes", m->arg[1]);
		json_kv_uint(j, "files", m->arg[2]);
		json_kv_bool(j, "current", flags & RELEASE_FLAG_CURRENT);
		json_kv_bool(j, "previous", flags & RELEASE_FLAG_PREVIOUS);
		json_end(j, '}');
		return 0;
	}
	format_size(size, sizeof(size), m->arg[1]);
	printf("%-40s %-9s %-21s %10s  %s\n", m->id, state_name(flags), when, size,
	       flags & RELEASE_FLAG_CURRENT ? "current" :
	       flags & RELEASE_FLAG_PREVIOUS ? "previous" : "");
	return 0;
}

static int verb_list(struct frontend *fe)
{
	struct proto_msg req, rep;
	struct json j;
	int r;

	json_init(&j);
	json_begin(&j, '[');
	if (!fe->cli.json)
		printf("%-40s %-9s %-21s %10s\n", "RELEASE", "STATE", "CREATED", "SIZE");
	proto_init(&req, OP_LIST);
	r = fe_request(fe, &req, list_entry, &j, &rep, NULL);
	json_end(&j, ']');
	if (r < 0) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	if (fe->cli.json)
		json_print(&j);
	json_free(&j);
	return EXIT_OK;
}

/* mode = bind: what is mounted at live, from OP_STATUS's entry. */
struct live_info {
	bool known;
	unsigned stacked;
	bool root_shared;
	char release[RELEASE_ID_MAX + 1];
	char options[128];
	char root[PROTO_TEXT_SIZE];
};

static int live_entry(struct frontend *fe, const struct proto_msg *m, void *ctx)
{
	struct live_info *li = ctx;
	const char *tab = strchr(m->text, '\t');

	li->known = true;
	li->stacked = m->arg[0] > 99 ? 99 : (unsigned)m->arg[0];
	li->root_shared = m->arg[1] == 1;
	str_copy(li->release, sizeof(li->release), m->id);
	if (tab) {
		snprintf(li->options, sizeof(li->options), "%.*s", (int)(tab - m->text), m->text);
		str_copy(li->root, sizeof(li->root), tab + 1);
	}
	return 0;
}

/* One line on what live shows, and whether it is what it should be. */
static bool live_describe(const struct live_info *li, const char *current, char *buf, size_t n)
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
	struct proto_msg req, rep;
	struct history_entry last;
	_cleanup_close_ int hfd = -EBADF;
	struct live_info li = { 0 };
	bool have_last = false, bind = fe->cfg->mode == PUBLISH_BIND, live_ok = true;
	char mounted[PROTO_TEXT_SIZE + 256] = "";
	struct json j;
	int r;

	proto_init(&req, OP_STATUS);
	r = fe_request(fe, &req, live_entry, &li, &rep, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (bind && rep.arg[1] != 1)
		live_ok = live_describe(&li, rep.status == 0 ? rep.id : "", mounted, sizeof(mounted));
	proto_init(&req, OP_HISTORY);
	{
		struct proto_msg hrep;
		if (fe_request(fe, &req, NULL, NULL, &hrep, &hfd) < 0)
			return fe_helper_lost(fe);
	}
	if (hfd >= 0)
		have_last = history_last(hfd, &last) == 1;
	if (fe->cli.json) {
		json_init(&j);
		json_begin(&j, '{');
		json_kv_string(&j, "app", fe->cfg->app);
		json_kv_string(&j, "root", fe->cfg->root);
		json_kv_bool(&j, "deployed", rep.arg[1] != 1);
		json_kv_string(&j, "mode", bind ? "bind" : "symlink");
		if (bind) {
			json_kv_string(&j, "live", fe->cfg->live);
			json_key(&j, "mount");
			if (li.known && li.stacked > 0) {
				json_begin(&j, '{');
				json_kv_string(&j, "release", li.release[0] ? li.release : NULL);
				json_kv_string(&j, "root", li.root);
				json_kv_string(&j, "options", li.options);
				json_kv_uint(&j, "stacked", li.stacked);
				json_kv_bool(&j, "root_shared", li.root_shared);
				json_kv_bool(&j, "ok", live_ok);
				json_end(&j, '}');
			} else
				json_string(&j, NULL);
		}
		json_kv_string(&j, "current", rep.id[0] ? rep.id : NULL);
		json_kv_string(&j, "previous", rep.id2[0] ? rep.id2 : NULL);
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
		json_kv_string(&j, "lock", rep.text[0] ? rep.text : NULL);
		json_end(&j, '}');
		json_print(&j);
		json_free(&j);
	} else {
		printf("app:         %s\n", fe->cfg->app);
		printf("root:        %s%s\n", fe->cfg->root,
		       rep.arg[1] == 1 ? " (not set up yet: nothing deployed)" : "");
		printf("mode:        %s\n", bind ? "bind" : "symlink");
		if (bind) {
			printf("live:        %s\n", fe->cfg->live);
			if (mounted[0])
				printf("mounted:     %s%s\n", mounted,
				       live_ok ? "" : " -- not the current release; run 'cutover mount APP'");
		}
		printf("current:     %s\n", rep.status == -EUCLEAN ? "(current is not a cutover symlink!)" :
		       rep.id[0] ? rep.id : "(none)");
		printf("previous:    %s\n", rep.id2[0] ? rep.id2 : "(none)");
		if (have_last)
			printf("last change: %s %s %s -> %s by %s (%.1fs)\n", last.time, last.verb,
			       last.from[0] ? last.from : "(none)", last.to, last.who,
			       (double)last.duration_ms / 1e3);
		else
			printf("last change: (none)\n");
		printf("lock:        %s\n", rep.text[0] ? rep.text : "free");
	}
	return rep.status == -EUCLEAN || !live_ok ? EXIT_FAILED : EXIT_OK;
}

static int check_entry(struct frontend *fe, const struct proto_msg *m, void *ctx)
{
	struct json *j = ctx;

	if (fe->cli.json)
		json_string(j, m->text);
	else
		fprintf(stderr, "cutover: check: %s\n", m->text);
	return 0;
}

static int verb_check(struct frontend *fe)
{
	struct proto_msg req, rep;
	struct fpm_facts facts;
	struct json j;
	bool ok;
	int r;

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "app", fe->cfg->app);
	json_key(&j, "problems");
	json_begin(&j, '[');
	proto_init(&req, OP_CHECK);
	r = fe_request(fe, &req, check_entry, &j, &rep, NULL);
	if (r < 0) {
		json_free(&j);
		return fe_helper_lost(fe);
	}
	ok = rep.status == 0;
	if (fe->cfg->mode == PUBLISH_BIND && !(fe->cfg->fpm.enabled && fe->cfg->fpm.pid_file[0])) {
		static const char warn[] = "mode = bind without [fpm] pid_file: cutover cannot reload php-fpm nor find its "
					   "mount namespace, and OPcache keeps serving the old code at the same path";
		out_warn(&fe->out, "%s", warn);
		json_string(&j, warn);
	}
	/* The pool: its master genuine, its configuration valid, and a
	 * warning if a reload would cut requests. */
	if (fe->cfg->fpm.enabled && fe->cfg->fpm.pid_file[0]) {
		char why[600];

		if (reload_inspect(fe, &facts, why, sizeof(why)) < 0) {
			out_error("check: %s", why);
			json_string(&j, why);
			ok = false;
		} else {
			char warn[600];
			fpm_facts_warning(&facts, warn, sizeof(warn));
			if (warn[0])
				json_string(&j, warn);
		}
	}
	if (fe->cfg->fpm.enabled && fe->cfg->fpm.socket[0]) {
		struct fcgi_response resp = { 0 };
		char err[300];

		if (fpm_fetch(fe, FPM_REQ_PROBE, NULL, &resp, err, sizeof(err)) < 0) {
			out_error("check: php-fpm at %s does not answer: %s", fe->cfg->fpm.socket, err);
			json_string(&j, "php-fpm does not answer on [fpm] socket");
			ok = false;
		}
		fcgi_response_free(&resp);
	}
	json_end(&j, ']');
	json_kv_bool(&j, "ok", ok);
	json_end(&j, '}');
	if (fe->cli.json)
		json_print(&j);
	else if (ok && !fe->cli.quiet)
		printf("%s: configuration and environment are fine\n", fe->cfg->app);
	json_free(&j);
	return ok ? EXIT_OK : EXIT_USAGE;
}

/* cutover mount: live as ROOT/current says (at boot; after a crash). */
static int verb_mount(struct frontend *fe)
{
	struct proto_msg req, rep;
	uint64_t t0 = now_ns();
	struct json j;
	int r;

	if (fe->cfg->mode != PUBLISH_BIND) {
		out_error("mount is for mode = bind; %s uses mode = symlink, where ROOT/current is all there is to publish",
			  fe->cfg->app);
		return EXIT_USAGE;
	}
	r = do_lock(fe);
	if (r != EXIT_OK)
		return r;
	proto_init(&req, OP_MOUNT);
	r = fe_request(fe, &req, NULL, NULL, &rep, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (rep.status < 0) {
		out_error("%s", rep.text);
		return EXIT_FAILED;
	}
	out_step(&fe->out, "mount", now_ns() - t0, rep.text);
	if (fe->cli.json) {
		json_init(&j);
		json_begin(&j, '{');
		json_kv_string(&j, "app", fe->cfg->app);
		json_kv_string(&j, "live", fe->cfg->live);
		json_kv_string(&j, "release", rep.id[0] ? rep.id : NULL);
		json_kv_uint(&j, "unstacked", rep.arg[0]);
		json_kv_bool(&j, "mounted", rep.arg[1] == 1);
		json_kv_bool(&j, "fpm_namespace", rep.arg[2] == 1);
		json_kv_string(&j, "note", rep.text);
		json_end(&j, '}');
		json_print(&j);
		json_free(&j);
	} else if (!fe->cli.quiet)
		fprintf(stderr, "mounted %s: %s\n", fe->cfg->app, rep.text);
	return EXIT_OK;
}

int frontend_run(struct frontend *fe)
{
	struct proto_msg hello;
	int r;

	out_init(&fe->out, fe->cli.quiet, fe->cli.json);
	/* --from is the caller's text; it appears in messages only escaped. */
	if (fe->cli.from)
		str_escape(fe->from_shown, sizeof(fe->from_shown), fe->cli.from, strlen(fe->cli.from));
	/* The helper says first whether it could load the config and set up
	 * the app's directories. */
	r = proto_recv(fe->sock, &hello, NULL);
	if (r < 0)
		return fe_helper_lost(fe);
	if (hello.status < 0) {
		fe_word_error(fe, &hello);
		out_error("%s", hello.text);
		return EXIT_USAGE;
	}
	switch (fe->cli.verb) {
	case VERB_DEPLOY:
	case VERB_STAGE:
		return verb_deploy(fe);
	case VERB_SWITCH:
	case VERB_ROLLBACK:
		return verb_switch(fe);
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
	default:
		return EXIT_USAGE;
	}
}
