/* SPDX-License-Identifier: MIT */
/*
 * [notify]: one JSON event per deploy, switch, rollback or failure, POSTed
 * to each configured webhook from the front end (unprivileged, seccomp),
 * with a time limit and retries. A notification never fails a run: what
 * could not be sent is one warning line.
 */
#ifndef CUTOVER_NOTIFY_H
#define CUTOVER_NOTIFY_H

#include <stdint.h>

#include "config.h"
#include "names.h"
#include "output.h"

struct notify_event {
	char app[APP_NAME_MAX + 1];
	char verb[16];                    /* deploy, switch, rollback */
	const char *outcome;              /* deployed, failed, auto-rolled-back, switched, rolled-back */
	char host[256];
	char release[RELEASE_ID_MAX + 1]; /* the release deployed or switched to, "" if none */
	char previous[RELEASE_ID_MAX + 1];/* what was live before, "" if nothing */
	char reason[1024];                /* why it failed, "" on success */
	uint64_t start_ns;                /* now_ns() when the verb began */
	uint64_t build_ms, switch_ms, total_ms;
	bool have_build, have_switch;
};

/* A fresh event for verb of app, started now (host from gethostname). */
void notify_event_init(struct notify_event *ev, const char *app, const char *verb);

/* The release a deploy created (id, "" if none) and, if built, how long
 * the build took since the start. */
void notify_event_staged(struct notify_event *ev, const char *id, bool built);

/* After a deploy failed before its switch: previous is what root/current
 * names (the release still live), if it can be read. */
void notify_event_live(struct notify_event *ev, const char *root);

/* A switch or rollback from from (or "") to to, whose publish took ns. */
void notify_event_switched(struct notify_event *ev, const char *from, const char *to, uint64_t ns);

/*
 * The body to POST: format json gives the event as an object
 * {"event":..., "app":..., "host":..., "release":..., "previous":...,
 * "outcome":..., "reason":..., "time":..., "durations_ms":
 * {"build":..., "switch":..., "total":...}} (absent values are null);
 * format slack gives {"text": "one line"}. Strings are JSON-escaped and
 * bytes that are not UTF-8 replaced. 0, or -ENOMEM (j is then failed).
 */
int notify_payload(const struct notify_event *ev, enum notify_format format, uint64_t now_wall_ns,
		   struct json *j);

/* The one line of the slack format, e.g. "cutover: shop deployed R on
 * HOST (previous: P) in 12.3 s". */
void notify_summary(const struct notify_event *ev, char *buf, size_t n);

/*
 * POSTs body to url: http/https only, no redirects, at most
 * 1 + retries tries with a growing pause between them, all within
 * timeout_s. 0, or -errno with why in err.
 */
int notify_post(const char *url, const char *body, unsigned timeout_s, unsigned retries,
		char *err, size_t errlen);

/* Sends ev to every [notify] url (nothing when there is none); each URL
 * that could not take it is one warning on o. Never fails. */
void notify_send(const struct notify_config *cfg, struct notify_event *ev, struct output *o);

#endif
