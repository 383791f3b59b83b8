/* SPDX-License-Identifier: MIT */
#include "reload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi_response.h"
#include "messages.h"
#include "fpm_status.h"
#include "util.h"

#define FPM_MAX_RESPONSE (4u * 1024 * 1024)

/* "10s", "1m", "0" -> seconds; -1 if not a duration. */
static long parse_duration(const char *v)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	n = strtol(v, &end, 10);
	switch (*end) {
	case '\0': case 's': return n;
	case 'm': return n * 60;
	case 'h': return n * 3600;
	case 'd': return n * 86400;
	default: return -1;
	}
}

int fpm_facts_parse(const char *text, size_t len, struct fpm_facts *ret)
{
	struct fpm_facts f = { .process_control_timeout = -1 };
	bool global = false;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[512], *s, *eq, *key, *val;

		snprintf(line, sizeof(line), "%.*s", (int)(l < sizeof(line) ? l : sizeof(line) - 1), p);
		p = nl ? nl + 1 : end;
		s = strstr(line, "NOTICE:");
		if (!s)
			continue;
		s += 7;
		while (*s == ' ' || *s == '\t')
			s++;
		/* log_level = debug prefixes "pid N, fpm_conf_dump(), line N: ". */
		if (strncmp(s, "pid ", 4) == 0 && strstr(s, "fpm_conf_dump(), line ")) {
			char *c = strstr(s, "fpm_conf_dump(), line ");
			c = strchr(c, ':');
			if (!c)
				continue;
			s = c + 1;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		if (*s == '[') {
			global = strncmp(s, "[global]", 8) == 0;
			if (!global)
				f.pools++;
			continue;
		}
		eq = strstr(s, " = ");
		if (!eq)
			continue;
		*eq = '\0';
		key = s;
		val = eq + 3;
		val[strcspn(val, " \r")] = '\0';
		if (global && strcmp(key, "process_control_timeout") == 0)
			f.process_control_timeout = parse_duration(val);
		else if (!global && strcmp(key, "pm") == 0 && strcmp(val, "ondemand") == 0)
			f.ondemand_pools++;
		else if (!global && strcmp(key, "request_terminate_timeout") == 0) {
			long t = parse_duration(val);
			if (t > f.max_request_terminate)
				f.max_request_terminate = t;
		}
	}
	*ret = f;
	return f.pools > 0 ? 0 : -EINVAL;
}

void fpm_facts_warning(const struct fpm_facts *f, char *buf, size_t n)
{
	buf[0] = '\0';
	if (f->process_control_timeout == 0)
		snprintf(buf, n, "php-fpm has process_control_timeout = 0 in %s: a reload cuts every request in flight (502); "
			 "add 'process_control_timeout = 10s' to its [global] section", f->config);
	else if (f->process_control_timeout > 0 && f->max_request_terminate > 0 &&
		 f->process_control_timeout < f->max_request_terminate)
		snprintf(buf, n, "php-fpm has process_control_timeout = %lds, shorter than request_terminate_timeout = %lds, in %s: "
			 "a reload cuts requests running longer; set 'process_control_timeout = %lds' in its [global] section",
			 f->process_control_timeout, f->max_request_terminate, f->config, f->max_request_terminate);
}

/* The helper's failure as one line, the way every front-end message is worded. */
static void reload_error(const struct reload_env *env, const struct helper_error *e, char *buf, size_t n)
{
	messages_format(e, env->cfg, buf, n);
}

int reload_inspect(const struct reload_env *env, struct fpm_facts *ret, char *err, size_t errlen)
{
	struct client_capture dump = { 0 };
	struct client_fpm_inspect_result res;
	struct client_sink saved;
	struct helper_error e;
	char warn[600];
	int r;

	/* php-fpm -tt's dump is for us to read, not for the terminal. */
	saved = client_set_output(env->client, client_capture_sink(&dump));
	r = client_fpm_inspect(env->client, &res, &e);
	client_set_output(env->client, saved);
	if (client_lost(env->client)) {
		client_capture_free(&dump);
		snprintf(err, errlen, "the privileged helper stopped");
		return -ECONNRESET;
	}
	if (r < 0) {
		client_capture_free(&dump);
		reload_error(env, &e, err, errlen);
		/* A pid file we cannot trust is a configuration error; a pool
		 * whose own configuration test fails is an operation failure. */
		return r == -EIO ? -EIO : -EPERM;
	}
	r = fpm_facts_parse(dump.buf ? dump.buf : "", dump.len, ret);
	client_capture_free(&dump);
	if (r < 0) {
		/* The configuration is valid (php-fpm -t passed) but its dump
		 * is hidden: php-fpm prints it at log level notice. */
		*ret = (struct fpm_facts){ .process_control_timeout = -1 };
		str_copy(ret->config, sizeof(ret->config), res.config);
		out_warn(env->out, "cannot read process_control_timeout from %s: php-fpm -tt prints its settings only at "
			 "log_level = notice or more verbose; make sure it is at least as long as your longest request", res.config);
		return 0;
	}
	str_copy(ret->config, sizeof(ret->config), res.config);
	fpm_facts_warning(ret, warn, sizeof(warn));
	if (warn[0])
		out_warn(env->out, "%s", warn);
	return 0;
}

/* Asks the helper to send a FastCGI request of one of the fixed kinds and
 * reads the answer from the socket it hands over. */
int fpm_fetch(const struct reload_env *env, enum fpm_request_kind kind, const char *id,
	      struct fcgi_response *resp, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -EBADF;
	struct helper_error e;
	int r;

	r = client_fpm_request(env->client, kind, id, &fd, &e);
	if (client_lost(env->client)) {
		snprintf(err, errlen, "the privileged helper stopped");
		return -ECONNRESET;
	}
	if (r < 0) {
		reload_error(env, &e, err, errlen);
		return r;
	}
	r = fcgi_read_response(fd, env->cfg->fpm.timeout * 1000, FPM_MAX_RESPONSE, resp);
	if (r < 0)
		snprintf(err, errlen, "reading php-fpm's answer failed: %s", strerror(-r));
	return r;
}

/* The longest request in flight, not counting our own status request. */
static int longest_inflight(const struct reload_env *env, uint64_t *ret_us)
{
	struct fcgi_response resp = { 0 };
	struct fpm_status st = { 0 };
	const char *sp = env->cfg->fpm.status_path;
	uint64_t longest = 0;
	char err[300];
	int r;

	r = fpm_fetch(env, FPM_REQ_STATUS, NULL, &resp, err, sizeof(err));
	if (r < 0)
		return r;
	if (resp.status != 200) {
		fcgi_response_free(&resp);
		return -EPROTO;
	}
	r = fpm_status_parse(resp.body, resp.body_len, &st);
	fcgi_response_free(&resp);
	if (r < 0)
		return r;
	for (size_t i = 0; i < st.n_procs; i++) {
		const struct fpm_proc *p = &st.procs[i];

		if (strcmp(p->state, "Idle") == 0)
			continue;
		if (strncmp(p->request_uri, sp, strlen(sp)) == 0)
			continue;
		if (p->request_duration_us > longest)
			longest = p->request_duration_us;
	}
	fpm_status_free(&st);
	*ret_us = longest;
	return 0;
}

/* Waits until no request has been running longer than max_inflight_ms,
 * up to [fpm] timeout: a reload makes new requests wait for the longest
 * one in flight, so signal when that wait is short. */
static void wait_drain(const struct reload_env *env, struct reload_report *rep)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)env->cfg->fpm.timeout * 1000000000ull;
	uint64_t limit_us = (uint64_t)env->cfg->fpm.max_inflight_ms * 1000, us = 0;

	if (!env->cfg->fpm.status_path[0])
		return;
	for (;;) {
		if (longest_inflight(env, &us) < 0)
			break;   /* no status page answer: do not wait on it */
		if (us <= limit_us)
			break;
		if (now_ns() > deadline) {
			out_warn(env->out, "a request has been running for %.1f s; reloading anyway (it can finish within process_control_timeout)",
				 (double)us / 1e6);
			break;
		}
		usleep(20 * 1000);
	}
	rep->longest_inflight_us = us;
	rep->drain_wait_ns = now_ns() - t0;
}

/* Until the pool answers again: its status page if it has one, else a
 * request for a script that does not exist (any answer will do). */
static int wait_answering(const struct reload_env *env, uint64_t start, uint64_t *ret_ns)
{
	uint64_t deadline = start + (uint64_t)env->cfg->fpm.timeout * 1000000000ull;
	enum fpm_request_kind kind = env->cfg->fpm.status_path[0] ? FPM_REQ_STATUS : FPM_REQ_PROBE;
	char err[300] = "";

	for (;;) {
		struct fcgi_response resp = { 0 };
		int r = fpm_fetch(env, kind, NULL, &resp, err, sizeof(err));

		if (r == 0) {
			bool ok = kind == FPM_REQ_PROBE || resp.status == 200;
			fcgi_response_free(&resp);
			if (ok) {
				*ret_ns = now_ns() - start;
				return 0;
			}
		}
		if (r == -ECONNRESET && strstr(err, "helper"))
			return r;
		if (now_ns() > deadline) {
			out_error("php-fpm did not answer within %u s after the reload: %s", env->cfg->fpm.timeout, err);
			return -ETIMEDOUT;
		}
		usleep(5 * 1000);
	}
}

int reload_run(const struct reload_env *env, const struct fpm_facts *facts, struct reload_report *ret)
{
	struct reload_report rep = { 0 };
	struct helper_error e;
	uint64_t t0;
	char err[300], msg[PROTO_TEXT_SIZE];
	int r;

	ret->helper_lost = false;
	switch (env->cfg->fpm.reload) {
	case FPM_RELOAD_NONE:
	case FPM_RELOAD_SWAP:   /* the pools are swapped at the switch itself */
		*ret = rep;
		return 0;
	case FPM_RELOAD_OPCACHE_RESET: {
		struct fcgi_response resp = { 0 };
		t0 = now_ns();
		r = fpm_fetch(env, FPM_REQ_OPCACHE_RESET, NULL, &resp, err, sizeof(err));
		if (r == 0 && (resp.status != 200 || !resp.body || !strstr(resp.body, "OK"))) {
			snprintf(err, sizeof(err), "the opcache reset script answered %d: %.100s", resp.status,
				 resp.body ? resp.body : "");
			r = -EPROTO;
		}
		fcgi_response_free(&resp);
		if (r < 0) {
			out_error("opcache reset failed: %s", err);
			return r;
		}
		rep.reload_ns = now_ns() - t0;
		*ret = rep;
		return 0;
	}
	case FPM_RELOAD_GRACEFUL:
		break;
	}
	wait_drain(env, &rep);
	t0 = now_ns();
	/* Unknown pools (no dump): do not wait for children that an ondemand
	 * pool never starts; the pool answering is confirmed below anyway. */
	r = client_fpm_reload(env->client, facts && facts->pools > facts->ondemand_pools, &rep.fpm, &e);
	if (client_lost(env->client)) {
		ret->helper_lost = true;
		return -ECONNRESET;
	}
	if (r < 0) {
		reload_error(env, &e, msg, sizeof(msg));
		out_error("%s", msg);
		return r;
	}
	r = wait_answering(env, t0, &rep.stall_ns);
	if (r < 0)
		return r;
	rep.reload_ns = now_ns() - t0;
	*ret = rep;
	return 0;
}
