/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define NOTIFY_FIRST_PAUSE_MS 200

void notify_event_init(struct notify_event *ev, const char *app, const char *verb)
{
	memset(ev, 0, sizeof(*ev));
	str_copy(ev->app, sizeof(ev->app), app);
	str_copy(ev->verb, sizeof(ev->verb), verb);
	if (gethostname(ev->host, sizeof(ev->host) - 1) < 0)
		str_copy(ev->host, sizeof(ev->host), "unknown");
	ev->host[sizeof(ev->host) - 1] = '\0';
	ev->start_ns = now_ns();
}

void notify_event_staged(struct notify_event *ev, const char *id, bool built)
{
	str_copy(ev->release, sizeof(ev->release), id ? id : "");
	ev->have_build = built;
	if (built)
		ev->build_ms = (now_ns() - ev->start_ns) / 1000000;
}

void notify_event_switched(struct notify_event *ev, const char *from, const char *to, uint64_t ns)
{
	str_copy(ev->previous, sizeof(ev->previous), from ? from : "");
	str_copy(ev->release, sizeof(ev->release), to ? to : "");
	ev->have_switch = true;
	ev->switch_ms = ns / 1000000;
}

void notify_event_live(struct notify_event *ev, const char *root)
{
	char path[PATH_MAX], target[RELEASE_ID_MAX + 16];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/current", root) >= (int)sizeof(path))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	if (strncmp(target, "releases/", 9) == 0 && release_id_valid(target + 9))
		str_copy(ev->previous, sizeof(ev->previous), target + 9);
}

/* A copy of s in which every byte that is not part of valid UTF-8 is '?':
 * a receiver may refuse a whole body for one bad byte. */
static void utf8_clean(char *dst, size_t n, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	while (*p && o + 1 < n) {
		size_t l = utf8_len(p);

		if (l == 0) {
			dst[o++] = '?';
			p++;
			continue;
		}
		if (o + l >= n)
			break;
		memcpy(dst + o, p, l);
		o += l;
		p += l;
	}
	dst[o] = '\0';
}

static void kv_clean(struct json *j, const char *key, const char *s)
{
	char buf[sizeof(((struct notify_event *)0)->reason)];

	json_key(j, key);
	if (!s || !*s) {
		json_string(j, NULL);
		return;
	}
	utf8_clean(buf, sizeof(buf), s);
	json_string(j, buf);
}

void notify_summary(const struct notify_event *ev, char *buf, size_t n)
{
	char prev[RELEASE_ID_MAX + 16] = "";
	double secs = (double)ev->total_ms / 1e3;

	if (ev->previous[0])
		snprintf(prev, sizeof(prev), " (previous: %s)", ev->previous);
	if (ev->reason[0])
		snprintf(buf, n, "cutover: %s %s %s%s%s on %s%s: %s", ev->app, ev->verb, ev->outcome,
			 ev->release[0] ? " " : "", ev->release, ev->host, prev, ev->reason);
	else
		snprintf(buf, n, "cutover: %s %s%s%s on %s%s in %.1f s", ev->app, ev->outcome,
			 ev->release[0] ? " " : "", ev->release, ev->host, prev, secs);
}

/* s with & < > as Slack's &amp; &lt; &gt;, cut to fit n. */
static void slack_escape(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		size_t l = rep ? strlen(rep) : 1;

		if (o + l >= n)
			break;
		memcpy(dst + o, rep ? rep : s, l);
		o += l;
	}
	dst[o] = '\0';
}

static void json_ms(struct json *j, const char *key, bool have, uint64_t ms)
{
	json_key(j, key);
	if (have)
		json_uint(j, ms);
	else
		json_raw(j, "null");
}

int notify_payload(const struct notify_event *ev, enum notify_format format, uint64_t now_wall_ns,
		   struct json *j)
{
	char when[32], line[1600];

	json_init(j);
	json_begin(j, '{');
	if (format == NOTIFY_SLACK) {
		char text[sizeof(line)];

		notify_summary(ev, line, sizeof(line));
		/* Slack reads <...> as links and mentions (<!channel>) and &
		 * as the start of an entity: the text is data only. */
		slack_escape(text, sizeof(text), line);
		kv_clean(j, "text", text);
	} else {
		format_time(when, sizeof(when), now_wall_ns);
		json_kv_string(j, "event", ev->verb);
		kv_clean(j, "app", ev->app);
		kv_clean(j, "host", ev->host);
		kv_clean(j, "release", ev->release);
		kv_clean(j, "previous", ev->previous);
		json_kv_string(j, "outcome", ev->outcome);
		kv_clean(j, "reason", ev->reason);
		json_kv_string(j, "time", when);
		json_key(j, "durations_ms");
		json_begin(j, '{');
		json_ms(j, "build", ev->have_build, ev->build_ms);
		json_ms(j, "switch", ev->have_switch, ev->switch_ms);
		json_ms(j, "total", true, ev->total_ms);
		json_end(j, '}');
	}
	json_end(j, '}');
	return j->failed ? -ENOMEM : 0;
}

/* The receiver's answer is not ours to read or print. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *user)
{
	(void)ptr;
	(void)user;
	return size * nmemb;
}

static int post_once(CURL *c, const char *url, struct curl_slist *hdr, const char *body,
		     long budget_ms, char *why, size_t n)
{
	long status = 0;
	CURLcode cr;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, budget_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, budget_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cutover-notify/1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(why, n, "%s", curl_easy_strerror(cr));
		return -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, n, "answered HTTP %ld", status);
		return -EPROTO;
	}
	return 0;
}

int notify_post(const char *url, const char *body, unsigned timeout_s, unsigned retries,
		char *err, size_t errlen)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ull;
	struct curl_slist *hdr = NULL;
	unsigned pause_ms = NOTIFY_FIRST_PAUSE_MS, tries = 0;
	char why[256] = "";
	CURL *c;
	int r = -EIO;

	if (!config_notify_url_valid(url)) {
		snprintf(err, errlen, "%s is not an http:// or https:// URL", url);
		return -EINVAL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c = curl_easy_init())) {
		snprintf(err, errlen, "libcurl could not start");
		return -ENOMEM;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	for (;;) {
		uint64_t now = now_ns();
		long budget_ms = now < deadline ? (long)((deadline - now) / 1000000) : 0;

		if (budget_ms < 1) {
			if (tries == 0)
				snprintf(why, sizeof(why), "no time left");
			break;
		}
		tries++;
		r = post_once(c, url, hdr, body, budget_ms, why, sizeof(why));
		if (r == 0 || tries > retries)
			break;
		/* A pause that doubles each time, cut short by the deadline. */
		now = now_ns();
		if (now + (uint64_t)pause_ms * 1000000ull >= deadline)
			break;
		usleep(pause_ms * 1000u);
		pause_ms *= 2;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (r < 0)
		snprintf(err, errlen, "POST %s: %s after %u %s (timeout %u s)", url, why, tries,
			 tries == 1 ? "try" : "tries", timeout_s);
	return r;
}

void notify_send(const struct notify_config *cfg, struct notify_event *ev, struct output *o)
{
	struct timespec ts;
	struct json j;
	char err[1024];

	if (cfg->n_urls == 0)
		return;
	if (!ev->total_ms)
		ev->total_ms = (now_ns() - ev->start_ns) / 1000000;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (notify_payload(ev, cfg->format, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, &j) < 0) {
		json_free(&j);
		out_warn(o, "notification not sent: out of memory");
		return;
	}
	for (size_t i = 0; i < cfg->n_urls; i++)
		if (notify_post(cfg->urls[i], j.buf, cfg->timeout, cfg->retries, err, sizeof(err)) < 0)
			out_warn(o, "notification not sent: %s", err);
	json_free(&j);
}
