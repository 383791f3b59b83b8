/* SPDX-License-Identifier: MIT */
#include "resolve.h"
#include "result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "messages.h"
#include "names.h"
#include "util.h"

/* "20261126T041056Z": the time every release id starts with
 * (helpers/release_id.c). */
#define ID_TIME_LEN 16

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The label of a release id, or NULL: after the time and an optional
 * "-N" attempt number. "…Z-2" has attempt 2 and no label; "…Z-2-rc" has
 * the label "rc", "…Z-rc" too. */
static const char *id_label(const char *id)
{
	const char *p;

	if (strlen(id) <= ID_TIME_LEN + 1 || id[ID_TIME_LEN - 1] != 'Z' || id[ID_TIME_LEN] != '-')
		return NULL;
	p = id + ID_TIME_LEN + 1;
	if (is_digit(*p)) {
		const char *q = p;

		while (is_digit(*q))
			q++;
		if (*q == '\0')
			return NULL;
		if (*q == '-')
			p = q + 1;
	}
	return *p ? p : NULL;
}

int release_selector_match(const char *id, const char *selector)
{
	const char *label;

	if (!*selector)
		return 0;
	if (strcmp(id, selector) == 0)
		return 2;
	if (strncmp(id, selector, strlen(selector)) == 0)
		return 1;
	label = id_label(id);
	return label && strcmp(label, selector) == 0;
}

int release_select(const char *const *ids, size_t n, const char *selector, char *err, size_t errlen)
{
	size_t found = 0, o;
	int pick = -ENOENT;

	for (size_t i = 0; i < n; i++) {
		int m = release_selector_match(ids[i], selector);

		if (m == 2)
			return (int)i;
		if (m == 1 && found++ == 0)
			pick = (int)i;
	}
	if (found <= 1)
		return pick;
	/* One line: the candidates, as many as fit. */
	o = (size_t)snprintf(err, errlen, "'%s' matches %zu releases:", selector, found);
	for (size_t i = 0, shown = 0; i < n && o < errlen; i++) {
		if (release_selector_match(ids[i], selector) != 1)
			continue;
		if (shown++ == 8) {
			o += (size_t)snprintf(err + o, errlen - o, " ...");
			break;
		}
		o += (size_t)snprintf(err + o, errlen - o, "%s %s", shown > 1 ? "," : "", ids[i]);
	}
	if (o < errlen)
		snprintf(err + o, errlen - o, "; give more of the id");
	return -ENOTUNIQ;
}

struct resolve_ctx {
	char (*ids)[RELEASE_ID_MAX + 1];
	size_t n, cap;
	bool oom;
};

static void resolve_entry(void *ctx, const struct client_release *rel)
{
	struct resolve_ctx *k = ctx;

	if (k->oom)
		return;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 32;
		void *p = reallocarray(k->ids, cap, sizeof(*k->ids));

		if (!p) {
			k->oom = true;
			return;
		}
		k->ids = p;
		k->cap = cap;
	}
	str_copy(k->ids[k->n++], sizeof(k->ids[0]), rel->id);
}

int frontend_resolve_release(struct frontend *fe)
{
	struct resolve_ctx k = { 0 };
	_cleanup_free_ const char **v = NULL;
	struct helper_error e;
	char err[1024];
	int r;

	if ((fe->cli.verb != VERB_SWITCH && fe->cli.verb != VERB_ROLLBACK && fe->cli.verb != VERB_MIGRATE) ||
	    !fe->cli.release)
		return EXIT_OK;
	r = client_list(&fe->client, resolve_entry, &k, &e);
	if (client_lost(&fe->client)) {
		free(k.ids);
		result_force_code(result_get(), "helper_lost");
		out_error("the privileged helper stopped unexpectedly; nothing was published (see the system log)");
		return EXIT_FAILED;
	}
	/* No list (nothing deployed, releases/ unreadable): the helper
	 * answers for the name as given, as it always did. */
	if (r < 0 || k.oom || k.n == 0) {
		free(k.ids);
		return EXIT_OK;
	}
	v = calloc(k.n, sizeof(*v));
	if (!v) {
		free(k.ids);
		return EXIT_OK;
	}
	for (size_t i = 0; i < k.n; i++)
		v[i] = k.ids[i];
	r = release_select(v, k.n, fe->cli.release, err, sizeof(err));
	if (r >= 0 && fe->cli.release != fe->cli.release_buf) {
		str_copy(fe->cli.release_buf, sizeof(fe->cli.release_buf), k.ids[r]);
		fe->cli.release = fe->cli.release_buf;
	}
	free(k.ids);
	if (r == -ENOTUNIQ) {
		result_set_code(result_get(), "not_found");
		out_error("%s %s: %s", fe->cli.verb_name, fe->cfg->app, err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
