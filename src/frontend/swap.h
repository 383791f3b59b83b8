/* SPDX-License-Identifier: MIT */
/*
 * reload = swap from the front end (docs/POOLSWAP.md, "The switch, step by
 * step"): start a php-fpm master for the new release in the free slot,
 * check and warm it there, and after the switch retire the old one. The
 * helper does every privileged part (FPM_SLOTS, FPM_SLOT_START,
 * FPM_REQUEST, FPM_SLOT_RETIRE); this module orders the requests, judges
 * the answers and prints the steps. The verbs (frontend.c) decide what a
 * failure means for the release.
 *
 * Every function returning int gives 0, or -errno with a one-line reason
 * in err; -ECONNRESET with client_lost(): the helper is gone, the caller
 * says so.
 */
#ifndef CUTOVER_SWAP_H
#define CUTOVER_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "output.h"
#include "reload.h"

struct fcgi_response;

/* What a swap did, for the steps and the "pool" object of --json. */
struct swap_report {
	struct client_fpm_slot slots[2];    /* as FPM_SLOTS found them */
	size_t n_slots;
	char previous_slot;                 /* live before, or 0 */
	char previous_release[RELEASE_ID_MAX + 1];
	bool started;                       /* FPM_SLOT_START answered */
	struct client_fpm_slot_start_result start;
	bool prechecked;
	uint64_t precheck_ns;
	unsigned warm_requests;             /* warm-up requests answered */
	bool new_retired;                   /* the started slot was stopped again */
	bool old_retired;                   /* the previous slot was retired */
	struct client_fpm_slot_retire_result retire;   /* of the previous slot */
};

static inline bool swap_enabled(const struct config *cfg)
{
	return cfg->fpm.enabled && cfg->fpm.reload == FPM_RELOAD_SWAP;
}

/* FPM_SLOTS: the slots, and which is live now (rep->previous_slot, _release). */
int swap_slots(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen);

/*
 * Before the switch: FPM_SLOTS, FPM_SLOT_START(id) ("start php-fpm pool"),
 * the pre-switch check in the new pool when [health] precheck asks for it
 * and warm-up with [fpm] warm_urls (both only for a pool this run started).
 * id NULL or "": the helper's pick (rollback, fpm-start). On failure a pool
 * this run started is stopped again (rep->new_retired) and err says why.
 */
int swap_prepare(const struct reload_env *env, const char *id, struct swap_report *rep, char *err,
		 size_t errlen);

/* The pre-switch check in the started slot: "pre-switch check". */
int swap_precheck(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen);

/* Sends each [fpm] warm_urls entry warm_requests times to the started
 * slot, all at once, then reads the answers: "warm up". */
int swap_warm(const struct reload_env *env, struct swap_report *rep, char *err, size_t errlen);

/* Is one warm-up answer good enough? read_r: fcgi_read_response's result.
 * Anything but a 5xx is (a 404 or a redirect still compiled the code);
 * no answer or a 5xx is not. 0 or -errno with why. Pure. */
int swap_warm_judge(int read_r, const struct fcgi_response *resp, const char *url, char *why, size_t n);

/* Stops the slot this run started (never published, or rolled back from):
 * "retire new pool" with detail. Best effort: a failure is a warning. */
void swap_stop_new(const struct reload_env *env, struct swap_report *rep, const char *detail);

/* After the switch: retires the previous slot (kept warm for [fpm]
 * keep_warm, or stopped): "retire old pool". Best effort: the new release
 * is live either way, so a failure is a warning. */
void swap_retire_old(const struct reload_env *env, struct swap_report *rep);

/* The "pool" object of --json (key included). */
void swap_json(struct json *j, const struct config *cfg, const struct swap_report *rep);

/* enum fpm_slot_state as status prints it. */
const char *swap_state_name(enum fpm_slot_state s);
/* One slot for `cutover status`: "RELEASE, live, master 123, 12.3 MB Pss". */
void swap_slot_describe(const struct client_fpm_slot *s, char *buf, size_t n);
/* One slot as an object of status's "pools". */
void swap_slot_json(struct json *j, const struct client_fpm_slot *s);

/*
 * `cutover check`: nginx's configuration under root (normally /etc/nginx):
 * *.conf files and everything in a sites-enabled directory, at most three
 * directories deep, symlinks followed but no directory twice. on_hit is
 * called per uncommented `fastcgi_keep_conn on` (path, line number).
 * Unreadable files and directories are skipped. Returns the number of hits.
 */
typedef void (*swap_keepalive_fn)(void *ctx, const char *path, unsigned line);
int swap_scan_nginx(const char *root, swap_keepalive_fn on_hit, void *ctx);
/* Does this line of nginx configuration turn fastcgi_keep_conn on? Pure. */
bool swap_nginx_line_keepalive(const char *line);

#endif
