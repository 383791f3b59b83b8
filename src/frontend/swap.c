/* SPDX-License-Identifier: MIT */
#include "swap.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcgi_response.h"
#include "health.h"
#include "messages.h"
#include "util.h"

/* Warm-up requests in flight at once: each holds a socket and a worker. */
#define WARM_BATCH 64
#define WARM_MAX_RESPONSE (1024u * 1024)
/* The nginx scan: directories below its root, and directories in all. */
#define NGINX_DEPTH 3
#define NGINX_DIRS_MAX 256

/* A failure of the helper's, or its loss, in err. */
static int swap_helper_failed(const struct reload_env *env, int r, const struct helper_error *e,
			      char *err, size_t errlen)
{
	if (client_lost(env->client)) {
		snprintf(err, errlen, "the privileged helper stopped");
		return -ECONNRESET;
	}
	messages_format(e, env->cfg, err, errlen);
	return r;
}

static void swap_slot_seen(void *ctx, const struct client_fpm_slot *s)
{
	struct swap_report *rep = ctx;

	if (rep->n_slots < ELEMENTSOF(rep->slots))
		rep->slots[rep->n_slots++] = *s;
}

int swap_slots(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen)
{
	struct client_fpm_slots_result res;
	struct helper_error e;
	int r;

	rep->n_slots = 0;
	r = client_fpm_slots(env->client, swap_slot_seen, rep, &res, &e);
	if (r < 0) {
		char why[PROTO_TEXT_SIZE + 256];

		r = swap_helper_failed(env, r, &e, why, sizeof(why));
		snprintf(err, errlen, "%s%s", r == -ECONNRESET ? "" : "php-fpm pools: ", why);
		return r;
	}
	rep->previous_slot = res.live_slot;
	str_copy(rep->previous_release, sizeof(rep->previous_release), res.live_release);
	return 0;
}

static int swap_start(const struct reload_env *env, const char *id, struct swap_report *rep, char *err,
		      size_t errlen)
{
	/* php-fpm -tt's dump: the failing line comes with the error itself. */
	struct client_sink saved = client_set_output(env->client, (struct client_sink) { 0 });
	struct helper_error e;
	uint64_t t0 = now_ns();
	char why[PROTO_TEXT_SIZE + 256], detail[96];
	int r;

	r = client_fpm_slot_start(env->client, id && id[0] ? id : NULL, &rep->start, &e);
	client_set_output(env->client, saved);
	if (r < 0) {
		r = swap_helper_failed(env, r, &e, why, sizeof(why));
		if (r == -ECONNRESET)
			snprintf(err, errlen, "%s", why);
		else
			snprintf(err, errlen, "cannot start a php-fpm pool%s%s: %s", id && id[0] ? " for release " : "",
				 id && id[0] ? id : "", why);
		return r;
	}
	rep->started = true;
	if (rep->start.already_warm)
		snprintf(detail, sizeof(detail), "slot %c, already warm", rep->start.slot);
	else
		snprintf(detail, sizeof(detail), "slot %c, answering after %llu ms", rep->start.slot,
			 (unsigned long long)rep->start.ready_ms);
	out_step(env->out, "start php-fpm pool", now_ns() - t0, detail);
	return 0;
}

int swap_precheck(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen)
{
	uint64_t t0 = now_ns();
	char why[400];
	int r;

	r = health_precheck_kind(env, FPM_REQ_SLOT_PRECHECK, rep->start.release, why, sizeof(why));
	if (r < 0) {
		if (client_lost(env->client))
			snprintf(err, errlen, "the privileged helper stopped");
		else
			snprintf(err, errlen, "pre-switch check of release %s in the new php-fpm pool %s",
				 rep->start.release, why);
		return client_lost(env->client) ? -ECONNRESET : r;
	}
	rep->prechecked = true;
	rep->precheck_ns = now_ns() - t0;
	out_step(env->out, "pre-switch check", rep->precheck_ns, "in the new pool");
	return 0;
}

int swap_warm_judge(int read_r, const struct fcgi_response *resp, const char *url, char *why, size_t n)
{
	char shown[160];

	str_escape(shown, sizeof(shown), url, strlen(url));
	if (read_r < 0) {
		snprintf(why, n, "%s got no answer: %s", shown, strerror(-read_r));
		return read_r;
	}
	if (resp->status >= 500) {
		char php[160] = "";

		if (resp->stderr_text && resp->stderr_text[0])
			str_escape(php, sizeof(php), resp->stderr_text, strlen(resp->stderr_text));
		snprintf(why, n, "%s answered %d%s%s", shown, resp->status, php[0] ? "; php: " : "", php);
		return -EPROTO;
	}
	return 0;
}

/* One batch of warm-up requests, [from, to) of every (URL, repetition):
 * all sockets first, so php-fpm works on them together, then the answers. */
static int swap_warm_batch(const struct reload_env *env, size_t from, size_t to, char *err, size_t errlen)
{
	const struct fpm_config *f = &env->cfg->fpm;
	uint64_t deadline = now_ns() + (uint64_t)f->timeout * 1000000000ull;
	int fds[WARM_BATCH];
	size_t n = 0;
	int r = 0;

	for (size_t i = from; i < to; i++) {
		struct helper_error e;

		r = client_fpm_request_at(env->client, FPM_REQ_SLOT_WARM, NULL, i % f->n_warm_urls, &fds[n], &e);
		if (r < 0) {
			char why[PROTO_TEXT_SIZE + 256];

			r = swap_helper_failed(env, r, &e, why, sizeof(why));
			snprintf(err, errlen, "warm-up of the new php-fpm pool: %s", why);
			break;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		struct fcgi_response resp = { 0 };
		uint64_t now = now_ns();
		unsigned ms = now < deadline ? (unsigned)((deadline - now) / 1000000) : 0;
		char why[400];
		int rr;

		if (r == 0) {
			rr = fcgi_read_response(fds[i], ms ? ms : 1, WARM_MAX_RESPONSE, &resp);
			rr = swap_warm_judge(rr, &resp, f->warm_urls[(from + i) % f->n_warm_urls], why, sizeof(why));
			if (rr < 0) {
				snprintf(err, errlen, "warm-up of the new php-fpm pool: %s", why);
				r = rr;
			}
			fcgi_response_free(&resp);
		}
		close(fds[i]);
	}
	return r;
}

int swap_warm(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen)
{
	const struct fpm_config *f = &env->cfg->fpm;
	size_t total = f->n_warm_urls * f->warm_requests;
	uint64_t t0 = now_ns();
	char detail[96];
	int r;

	if (total == 0)
		return 0;
	for (size_t i = 0; i < total; i += WARM_BATCH) {
		r = swap_warm_batch(env, i, i + WARM_BATCH < total ? i + WARM_BATCH : total, err, errlen);
		if (r < 0)
			return client_lost(env->client) ? -ECONNRESET : r;
	}
	rep->warm_requests = (unsigned)total;
	snprintf(detail, sizeof(detail), "%zu requests (%zu URL%s x %u)", total, f->n_warm_urls,
		 f->n_warm_urls == 1 ? "" : "s", f->warm_requests);
	out_step(env->out, "warm up", now_ns() - t0, detail);
	return 0;
}

int swap_prepare(const struct reload_env *env, const char *id, struct swap_report *rep, char *err,
		 size_t errlen)
{
	const struct health_config *h = &env->cfg->health;
	int r;

	r = swap_slots(env, rep, err, errlen);
	if (r < 0)
		return r;
	r = swap_start(env, id, rep, err, errlen);
	if (r < 0)
		return r;
	/* A pool that already ran the release answered before: no new code. */
	if (rep->start.already_warm)
		return 0;
	if (h->enabled && h->precheck && h->url[0])
		r = swap_precheck(env, rep, err, errlen);
	if (r == 0)
		r = swap_warm(env, rep, err, errlen);
	if (r < 0 && !client_lost(env->client))
		swap_stop_new(env, rep, "stopped: the live site is unchanged");
	return r;
}

void swap_stop_new(const struct reload_env *env, struct swap_report *rep, const char *detail)
{
	struct client_fpm_slot_retire_result res;
	struct helper_error e;
	uint64_t t0 = now_ns();
	char why[PROTO_TEXT_SIZE + 256], line[256];
	int r;

	if (!rep->started || rep->start.already_warm || rep->new_retired || client_lost(env->client))
		return;
	r = client_fpm_slot_retire(env->client, rep->start.slot, true, &res, &e);
	if (r < 0) {
		swap_helper_failed(env, r, &e, why, sizeof(why));
		out_warn(env->out, "the new php-fpm pool (slot %c) was not stopped: %s; the helper stops it when this run ends",
			 rep->start.slot, why);
		return;
	}
	rep->new_retired = true;
	snprintf(line, sizeof(line), "slot %c %s", rep->start.slot, detail);
	out_step(env->out, "retire new pool", now_ns() - t0, line);
}

void swap_retire_old(const struct reload_env *env, struct swap_report *rep)
{
	uint64_t t0 = now_ns();
	struct helper_error e;
	char why[PROTO_TEXT_SIZE + 256], detail[200], fate[64];
	int r;

	if (!rep->previous_slot || (rep->started && rep->previous_slot == rep->start.slot) ||
	    client_lost(env->client))
		return;
	r = client_fpm_slot_retire(env->client, rep->previous_slot, false, &rep->retire, &e);
	if (r < 0) {
		swap_helper_failed(env, r, &e, why, sizeof(why));
		out_warn(env->out, "the old php-fpm pool (slot %c) was not retired: %s", rep->previous_slot, why);
		return;
	}
	rep->old_retired = true;
	if (rep->retire.stopped)
		snprintf(fate, sizeof(fate), "stopped");
	else
		snprintf(fate, sizeof(fate), "kept warm for %u s", env->cfg->fpm.keep_warm);
	if (rep->retire.still_queued)
		snprintf(detail, sizeof(detail), "slot %c: %llu connections still queued after %llu us; %s",
			 rep->previous_slot, (unsigned long long)rep->retire.still_queued,
			 (unsigned long long)rep->retire.queue_us, fate);
	else
		snprintf(detail, sizeof(detail), "slot %c: queue empty after %llu us; %s", rep->previous_slot,
			 (unsigned long long)rep->retire.queue_us, fate);
	out_step(env->out, "retire old pool", now_ns() - t0, detail);
}

static void json_kv_slot(struct json *j, const char *key, char slot)
{
	char s[2] = { slot, '\0' };

	json_kv_string(j, key, slot ? s : NULL);
}

void swap_json(struct json *j, const struct config *cfg, const struct swap_report *rep)
{
	json_key(j, "pool");
	json_begin(j, '{');
	json_kv_slot(j, "slot", rep->started ? rep->start.slot : 0);
	json_kv_slot(j, "previous_slot", rep->previous_slot);
	json_kv_uint(j, "start_ms", rep->start.ready_ms);
	json_kv_bool(j, "already_warm", rep->start.already_warm);
	json_key(j, "precheck_ms");
	if (rep->prechecked)
		json_double(j, (double)rep->precheck_ns / 1e6);
	else
		json_string(j, NULL);
	json_kv_uint(j, "warm_requests", rep->warm_requests);
	json_key(j, "retire_queue_us");
	if (rep->old_retired)
		json_uint(j, rep->retire.queue_us);
	else
		json_string(j, NULL);
	json_key(j, "kept_warm_seconds");
	if (rep->old_retired)
		json_uint(j, rep->retire.stopped ? 0 : cfg->fpm.keep_warm);
	else
		json_string(j, NULL);
	json_end(j, '}');
}

/* ---- status ---------------------------------------------------------- */

const char *swap_state_name(enum fpm_slot_state s)
{
	switch (s) {
	case FPM_SLOT_STOPPED: return "stopped";
	case FPM_SLOT_LIVE: return "live";
	case FPM_SLOT_WARM: return "warm";
	case FPM_SLOT_FAILED: return "failed";
	case FPM_SLOT_STOPPING: return "stopping";
	}
	return "failed";
}

void swap_slot_describe(const struct client_fpm_slot *s, char *buf, size_t n)
{
	int o;

	if (s->state == FPM_SLOT_STOPPED && !s->master_pid) {
		snprintf(buf, n, "stopped");
		return;
	}
	o = snprintf(buf, n, "%s, %s", s->release[0] ? s->release : "(no release)", swap_state_name(s->state));
	if (o < 0 || (size_t)o >= n)
		return;
	if (s->master_pid)
		o += snprintf(buf + o, n - (size_t)o, ", master %ld, %.1f MB Pss", s->master_pid,
			      (double)s->pss_kb / 1024);
	if (o > 0 && (size_t)o < n && s->state == FPM_SLOT_WARM)
		snprintf(buf + o, n - (size_t)o, ", warm for %llu s", (unsigned long long)s->warm_seconds);
}

void swap_slot_json(struct json *j, const struct client_fpm_slot *s)
{
	json_begin(j, '{');
	json_kv_slot(j, "slot", s->slot);
	json_kv_string(j, "release", s->release[0] ? s->release : NULL);
	json_kv_string(j, "state", swap_state_name(s->state));
	json_key(j, "master_pid");
	if (s->master_pid)
		json_uint(j, (unsigned long long)s->master_pid);
	else
		json_string(j, NULL);
	json_kv_uint(j, "pss_kb", s->pss_kb);
	json_key(j, "warm_seconds");
	if (s->state == FPM_SLOT_WARM)
		json_uint(j, s->warm_seconds);
	else
		json_string(j, NULL);
	json_end(j, '}');
}

/* ---- check: fastcgi_keep_conn in nginx's configuration --------------- */

/* The next word of a statement: up to blank, ';', '{' or '}'. */
static const char *nginx_word(const char *p, char *buf, size_t n)
{
	size_t i = 0;
	char quote = 0;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '"' || *p == '\'')
		quote = *p++;
	for (; *p; p++) {
		if (quote ? *p == quote : strchr(" \t\r\n;{}", *p) != NULL)
			break;
		if (i + 1 < n)
			buf[i++] = *p;
	}
	if (quote && *p == quote)
		p++;
	buf[i] = '\0';
	return p;
}

bool swap_nginx_line_keepalive(const char *line)
{
	char text[1024], word[64];
	char quote = 0;
	size_t i;

	/* The comment ends the line, unless the '#' is quoted. */
	for (i = 0; line[i] && i + 1 < sizeof(text); i++) {
		if (quote && line[i] == quote)
			quote = 0;
		else if (!quote && (line[i] == '"' || line[i] == '\''))
			quote = line[i];
		else if (!quote && line[i] == '#')
			break;
		text[i] = line[i];
	}
	text[i] = '\0';
	/* Statement by statement: the directive, then its value. */
	for (const char *p = text; *p;) {
		p = nginx_word(p, word, sizeof(word));
		if (strcmp(word, "fastcgi_keep_conn") == 0) {
			p = nginx_word(p, word, sizeof(word));
			if (strcasecmp(word, "on") == 0)
				return true;
		}
		while (*p && !strchr(";{}", *p))
			p = nginx_word(p, word, sizeof(word));
		if (*p)
			p++;
	}
	return false;
}

struct nginx_scan {
	swap_keepalive_fn on_hit;
	void *ctx;
	int hits;
	size_t n_seen;
	struct { dev_t dev; ino_t ino; } seen[NGINX_DIRS_MAX];
};

static void nginx_scan_file(struct nginx_scan *s, int dirfd, const char *name, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	f = fdopen(fd, "r");
	if (!f)
		return;
	fd = -EBADF;
	while (getline(&buf, &cap, f) >= 0) {
		lineno++;
		if (swap_nginx_line_keepalive(buf)) {
			s->hits++;
			if (s->on_hit)
				s->on_hit(s->ctx, path, lineno);
		}
	}
	fclose(f);
}

static bool nginx_seen(struct nginx_scan *s, const struct stat *st)
{
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].dev == st->st_dev && s->seen[i].ino == st->st_ino)
			return true;
	if (s->n_seen >= ELEMENTSOF(s->seen))
		return true;   /* enough: a real configuration has a handful */
	s->seen[s->n_seen].dev = st->st_dev;
	s->seen[s->n_seen].ino = st->st_ino;
	s->n_seen++;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* dirfd is taken (closed here). */
static void nginx_scan_dir(struct nginx_scan *s, int dirfd, const char *path, unsigned depth, bool enabled)
{
	struct dirent *de;
	DIR *d;

	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* Symlinks followed: sites-enabled holds links to sites-available. */
		if (fstatat(dirfd, de->d_name, &st, 0) < 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
			continue;
		if (S_ISREG(st.st_mode) && (enabled || ends_with(de->d_name, ".conf")))
			nginx_scan_file(s, dirfd, de->d_name, sub);
		else if (S_ISDIR(st.st_mode) && depth < NGINX_DEPTH && !nginx_seen(s, &st)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd >= 0)
				nginx_scan_dir(s, fd, sub, depth + 1, strcmp(de->d_name, "sites-enabled") == 0);
		}
	}
	closedir(d);
}

int swap_scan_nginx(const char *root, swap_keepalive_fn on_hit, void *ctx)
{
	_cleanup_free_ struct nginx_scan *s = calloc(1, sizeof(*s));
	struct stat st;
	int fd;

	if (!s)
		return -ENOMEM;
	s->on_hit = on_hit;
	s->ctx = ctx;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;   /* no nginx here */
	if (fstat(fd, &st) == 0)
		nginx_seen(s, &st);
	nginx_scan_dir(s, fd, root, 0, false);
	return s->hits;
}
