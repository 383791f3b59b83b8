/* SPDX-License-Identifier: MIT */
#include "health.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_response.h"
#include "reload.h"
#include "util.h"

#define HEALTH_BODY_MAX (64 * 1024)
#define HEALTH_RETRY_DELAY_US (100 * 1000)

int health_evaluate(const struct health_config *h, int status, const char *body,
		    size_t body_len, char *why, size_t n)
{
	if ((unsigned)status != h->expect_status) {
		snprintf(why, n, "returned %d (expected %u)", status, h->expect_status);
		return -EPROTO;
	}
	if (h->expect_body[0] && (!body || !memmem(body, body_len, h->expect_body, strlen(h->expect_body)))) {
		snprintf(why, n, "returned %d without '%s' in the body", status, h->expect_body);
		return -EPROTO;
	}
	return 0;
}

int health_precheck(const struct reload_env *env, const char *id, char *err, size_t errlen)
{
	return health_precheck_kind(env, FPM_REQ_PRECHECK, id, err, errlen);
}

int health_precheck_kind(const struct reload_env *env, enum fpm_request_kind kind, const char *id,
			 char *err, size_t errlen)
{
	struct fcgi_response resp = { 0 };
	char why[300];
	int r;

	r = fpm_fetch(env, kind, id, &resp, why, sizeof(why));
	if (r == 0) {
		r = health_evaluate(&env->cfg->health, resp.status, resp.body, resp.body_len, why, sizeof(why));
		if (r < 0 && resp.stderr_text && resp.stderr_text[0]) {
			char shown[160];
			str_escape(shown, sizeof(shown), resp.stderr_text, strlen(resp.stderr_text));
			snprintf(why + strlen(why), sizeof(why) - strlen(why), "; php: %s", shown);
		}
	}
	fcgi_response_free(&resp);
	if (r < 0)
		snprintf(err, errlen, "%s", why);
	return r;
}

struct body {
	char buf[HEALTH_BODY_MAX];
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct body *b = user;
	size_t n = size * nmemb, room = sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, ptr, n < room ? n : room);
	b->len += n < room ? n : room;
	b->buf[b->len] = '\0';
	return n;   /* keep reading; the excess is dropped */
}

static int check_once(const struct health_config *h, CURL *c, char *why, size_t n)
{
	static struct body b;
	struct curl_slist *hdr = NULL;
	char host[300];
	long status = 0;
	CURLcode cr;
	int r;

	b.len = 0;
	b.buf[0] = '\0';
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)h->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cutover-health/1");
	/* A fresh connection each try: the new release must answer it. */
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (h->host[0]) {
		snprintf(host, sizeof(host), "Host: %s", h->host);
		hdr = curl_slist_append(NULL, host);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	}
	cr = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (cr != CURLE_OK) {
		snprintf(why, n, "failed: %s", curl_easy_strerror(cr));
		return -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	r = health_evaluate(h, (int)status, b.buf, b.len, why, n);
	return r;
}

int health_check(const struct health_config *h, char *err, size_t errlen)
{
	char why[300] = "";
	unsigned tries = 0;
	CURL *c;
	int r = -EIO;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c = curl_easy_init())) {
		snprintf(err, errlen, "libcurl could not start");
		return -ENOMEM;
	}
	while (tries < h->retries) {
		tries++;
		r = check_once(h, c, why, sizeof(why));
		if (r == 0)
			break;
		if (tries < h->retries)
			usleep(HEALTH_RETRY_DELAY_US);
	}
	curl_easy_cleanup(c);
	if (r < 0)
		snprintf(err, errlen, "GET %s %s after %u %s", h->url, why, tries, tries == 1 ? "try" : "tries");
	return r;
}
