/* SPDX-License-Identifier: MIT */
/*
 * cutover fpm-start APP (reload = swap; root or the boot unit, never
 * through sudo): the current release's php-fpm pool, started if it does
 * not run, checked, and made the one the live socket names; pools kept
 * warm longer than [fpm] keep_warm are stopped. Idempotent: with the live
 * pool already serving the current release it only verifies. After a
 * reboot /run is empty, so this is how the site comes back (docs/POOLSWAP.md,
 * "Supervision, boot, status").
 */
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "messages.h"
#include "result.h"
#include "swap.h"
#include "util.h"

/* Warm pools whose time is up: stopped (the live one never is). */
static void fpm_start_expire(struct frontend *fe, const struct swap_report *swap, struct json *j)
{
	json_key(j, "stopped");
	json_begin(j, '[');
	for (size_t i = 0; i < swap->n_slots; i++) {
		const struct client_fpm_slot *s = &swap->slots[i];
		struct client_fpm_slot_retire_result res;
		struct helper_error e;
		uint64_t t0 = now_ns();
		char why[PROTO_TEXT_SIZE + 256], detail[160], name[2] = { s->slot, '\0' };

		if (s->state != FPM_SLOT_WARM || s->slot == swap->start.slot ||
		    s->warm_seconds < fe->cfg->fpm.keep_warm)
			continue;
		if (client_fpm_slot_retire(&fe->client, s->slot, true, &res, &e) < 0) {
			if (client_lost(&fe->client))
				break;
			messages_format(&e, fe->cfg, why, sizeof(why));
			out_warn(&fe->out, "the warm php-fpm pool in slot %c was not stopped: %s", s->slot, why);
			continue;
		}
		result_get()->changed = true;
		json_string(j, name);
		snprintf(detail, sizeof(detail), "slot %c (release %s, warm for %llu s): stopped", s->slot,
			 s->release[0] ? s->release : "?", (unsigned long long)s->warm_seconds);
		out_step(&fe->out, "retire warm pool", now_ns() - t0, detail);
	}
	json_end(j, ']');
}

int verb_fpm_start(struct frontend *fe)
{
	struct reload_env env = { .client = &fe->client, .cfg = fe->cfg, .out = &fe->out };
	struct client_fpm_live_result live;
	struct swap_report swap = { 0 };
	struct helper_error e;
	char err[1600], detail[128];
	uint64_t t0;
	struct json j;
	int r;

	if (!swap_enabled(fe->cfg)) {
		result_set_code(result_get(), "usage");
		out_error("fpm-start is for [fpm] reload = swap; %s does not use it", fe->cfg->app);
		return EXIT_USAGE;
	}
	r = fe_lock(fe);
	if (r != EXIT_OK)
		return r;
	r = swap_prepare(&env, NULL, &swap, err, sizeof(err));
	if (r < 0) {
		if (client_lost(&fe->client))
			return fe_helper_lost(fe);
		result_set_code(result_get(), "reload_failed");
		out_error("%s; the live socket was not changed", err);
		return EXIT_FAILED;
	}
	if (!swap.start.already_warm)
		result_get()->changed = true;
	t0 = now_ns();
	frontend_switching(true);
	r = client_fpm_live(&fe->client, &live, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		frontend_switching(false);
		fe_why(fe, &e, err, sizeof(err));
		result_set_code(result_get(), "switch_failed");
		out_error("the live socket could not be pointed at the php-fpm pool in slot %c: %s",
			  swap.start.slot, err);
		return EXIT_FAILED;
	}
	frontend_published();
	if (swap.previous_slot != live.slot)
		result_get()->changed = true;
	snprintf(detail, sizeof(detail), "%s slot %c", swap.previous_slot == live.slot ? "still names" : "now names",
		 live.slot);
	out_step(&fe->out, "live socket", now_ns() - t0, detail);

	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", swap.start.release);
	swap_json(&j, fe->cfg, &swap);
	json_kv_double(&j, "live_rename_ms", (double)live.rename_ns / 1e6);
	fpm_start_expire(fe, &swap, &j);
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (!fe->cli.json && !fe->cli.quiet)
		fprintf(stderr, "fpm-start %s: release %s is live in php-fpm slot %c%s\n", fe->cfg->app,
			swap.start.release, live.slot, swap.start.already_warm ? " (it was running already)" : "");
	return EXIT_OK;
}
