/* SPDX-License-Identifier: MIT */
/*
 * cutover migrate APP RELEASE [--pretend] [--allow-destructive]: a staged
 * release's migrations as a step of their own (a fleet runs them once,
 * from one host, after every host staged and before any switch). The
 * sequence is deploy's (frontend.c run_migrations): [migrate] pretend, the
 * destructive-migration guard, [migrate] run, and with the Laravel preset
 * the check that nothing is left pending. The helper runs them in the
 * frozen release it selected (SELECT: frozen and sealed, as switch checks
 * a target), holding the app's lock; nothing is switched.
 */
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "messages.h"
#include "result.h"
#include "util.h"

/* The pretend output as it was captured: what --pretend is for. */
static void migrate_print_pretend(const struct frontend *fe)
{
	if (fe->cli.json || !fe->capture.buf || !fe->capture.len)
		return;
	fwrite(fe->capture.buf, 1, fe->capture.len, stdout);
	if (fe->capture.buf[fe->capture.len - 1] != '\n')
		putchar('\n');
}

static void migrate_json(const struct frontend *fe, const char *id)
{
	struct json j;

	result_get()->changed = fe->migrated;
	json_init(&j);
	json_begin(&j, '{');
	json_kv_string(&j, "release", id);
	json_kv_bool(&j, "pretend", fe->cli.pretend);
	json_kv_string(&j, "output", fe->cli.pretend && fe->capture.buf ? fe->capture.buf : NULL);
	json_key(&j, "destructive");
	json_begin(&j, '[');
	for (size_t i = 0; i < fe->n_destructive; i++) {
		json_begin(&j, '{');
		json_kv_string(&j, "migration", fe->destructive[i].migration[0] ? fe->destructive[i].migration : NULL);
		json_kv_string(&j, "kind", fe->destructive[i].kind);
		json_kv_string(&j, "statement", fe->destructive[i].statement);
		json_end(&j, '}');
	}
	json_end(&j, ']');
	json_end(&j, '}');
	result_take_body(result_get(), &j);
	json_free(&j);
}

int verb_migrate(struct frontend *fe)
{
	const struct migrate_config *m = &fe->cfg->migrate;
	struct client_select_result sel;
	struct helper_error e;
	char why[PROTO_TEXT_SIZE], err[1600];
	uint64_t t0;
	int r;

	fe->start_ns = now_ns();
	r = fe_lock(fe);
	if (r != EXIT_OK)
		return r;
	t0 = now_ns();
	r = client_select(&fe->client, fe->cli.release, &sel, &e);
	if (client_lost(&fe->client))
		return fe_helper_lost(fe);
	if (r < 0) {
		fe_why(fe, &e, why, sizeof(why));
		fe->error_code = e.code == ERR_NOT_FROZEN ? "not_found" : NULL;
		if (fe->error_code)
			result_set_code(result_get(), fe->error_code);
		out_error("migrate: %s; nothing was migrated", why);
		return EXIT_FAILED;
	}
	out_step(&fe->out, "select release", now_ns() - t0, sel.current ? "the current release" : sel.id);
	if (!m->run[0]) {
		fe->unchanged = true;
		if (!fe->cli.quiet)
			fprintf(stderr, "%s has no [migrate] run: nothing to migrate\n", fe->cfg->app);
		if (fe->cli.json)
			migrate_json(fe, sel.id);
		return EXIT_OK;
	}
	r = fe_run_migrations(fe, err, sizeof(err));
	if (client_lost(&fe->client))
		return EXIT_FAILED;   /* said already */
	if (r < 0) {
		fe->error_code = r == -EPERM ? "migration_refused" : "migration_failed";
		result_set_code(result_get(), fe->error_code);
		out_error("%s%s", err, r == -EPERM ? "" : "; nothing was switched");
		return EXIT_FAILED;
	}
	fe->unchanged = !fe->migrated;
	migrate_print_pretend(fe);
	if (fe->cli.json)
		migrate_json(fe, sel.id);
	else if (!fe->cli.quiet && fe->cli.pretend)
		fprintf(stderr, "pretend migrations of %s in release %s: %zu destructive statement(s); nothing was migrated\n",
			fe->cfg->app, sel.id, fe->n_destructive);
	else if (!fe->cli.quiet)
		fprintf(stderr, "migrated %s in release %s; %s\n", fe->cfg->app, sel.id,
			sel.current ? "it is the current release" :
			"nothing was switched: publish it with 'cutover switch APP RELEASE'");
	return EXIT_OK;
}
