/* SPDX-License-Identifier: MIT */
/*
 * The help of each verb: what `cutover help VERB` and `cutover VERB --help`
 * print. Plain text on stdout, no config, no root: the launcher prints it
 * before it looks at anything else. Keep it in step with cli_parse and
 * docs/cutover.8.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define COMMON \
	"  -q, --quiet          only errors (the output of a failed step is still shown)\n" \
	"  --json               one JSON document on stdout\n" \
	"  -c FILE              another config file (root only, not through sudo)\n"
#define WAIT \
	"  --wait SECONDS       wait up to SECONDS (0-86400) for a running deploy instead of failing\n"

#define ID_HELP \
	"  --id ID              the whole release id, the same on every host (a CI build number, a commit):\n" \
	"                       letters, digits, '.', '_', '-', at most 64, not starting like a generated\n" \
	"                       id (YYYYMMDDTHHMMSSZ), not 'auto'; an ID staged before with the same content\n" \
	"                       is no change, with other content an error\n"

static const struct {
	const char *verb;
	const char *text;
} verb_help[] = {
	{ "deploy",
	  "usage: cutover deploy APP --from SOURCE [--label TEXT | --id ID] [--dry-run] [--keep-failed]\n"
	  "                          [--allow-destructive] [--wait SECONDS]\n"
	  "Stage a release from SOURCE, run the migrations and hooks, switch to it, reload\n"
	  "php-fpm, check its health, then prune old releases (also after a failed deploy).\n"
	  "  --from SOURCE        a directory, a .tar, .tar.gz, .tgz, .tar.zst or .tar.xz file, or git+URL#REF\n"
	  "  --label TEXT         appended to the release id: letters, digits, '.', '_', '-'; '/' becomes '-'\n"
	  "                       (a branch name such as feature/x gives the label feature-x)\n"
	  ID_HELP
	  "  --dry-run            import, build, freeze, check php-fpm, migrations (pretend only) and the\n"
	  "                       pre-switch health check, then stop: no before_switch hooks, no migrations\n"
	  "                       run, no switch; the staged release is removed and the live site untouched\n"
	  "  --keep-failed        keep a failed build in ROOT/.cutover/failed for inspection\n"
	  "  --allow-destructive  run migrations that drop, rename or retype tables and columns\n"
	  WAIT COMMON
	  "Exit codes: 0 deployed (dry run: would deploy), 1 failed, 2 usage or configuration error,\n"
	  "  3 deployed but unhealthy, rolled back.\n" },
	{ "stage",
	  "usage: cutover stage APP --from SOURCE [--label TEXT | --id ID] [--keep-failed] [--wait SECONDS]\n"
	  "Build and freeze a release without publishing it; print its id on stdout.\n"
	  "Publish it later with 'cutover switch APP ID'.\n"
	  "  --from SOURCE        a directory, a .tar, .tar.gz, .tgz, .tar.zst or .tar.xz file, or git+URL#REF\n"
	  "  --label TEXT         appended to the release id; '/' becomes '-'\n"
	  ID_HELP
	  "  --keep-failed        keep a failed build in ROOT/.cutover/failed for inspection\n"
	  WAIT COMMON },
	{ "migrate",
	  "usage: cutover migrate APP RELEASE [--pretend] [--allow-destructive] [--wait SECONDS]\n"
	  "Run the migrations of a staged release ([migrate] pretend, the destructive-migration guard,\n"
	  "then [migrate] run) without switching to it; publish it later with 'cutover switch APP RELEASE'.\n"
	  "  RELEASE              a frozen release: its id, a unique prefix of one, or a unique label\n"
	  "  --pretend            only [migrate] pretend: print the SQL, run the guard, change nothing\n"
	  "  --allow-destructive  run migrations that drop, rename or retype tables and columns\n"
	  WAIT COMMON },
	{ "switch",
	  "usage: cutover switch APP RELEASE [--wait SECONDS]\n"
	  "Publish a frozen release, reload php-fpm, check its health, run after_switch hooks.\n"
	  "  RELEASE              a release id, a unique prefix of one, or a unique label\n"
	  "                       ('/' becomes '-', as for --label); see 'cutover list APP'\n"
	  WAIT COMMON },
	{ "rollback",
	  "usage: cutover rollback APP [RELEASE] [--wait SECONDS]\n"
	  "Switch back to the release that was current before the current one, or to the one named.\n"
	  "  RELEASE              a release id, a unique prefix of one, or a unique label\n"
	  WAIT COMMON },
	{ "list",
	  "usage: cutover list APP\n"
	  "Releases, newest first: id, state, creation time, size, own and shared size,\n"
	  "and which is current and previous.\n"
	  COMMON },
	{ "status",
	  "usage: cutover status APP\n"
	  "Current and previous release, mode, the last change and who made it, the lock holder.\n"
	  COMMON },
	{ "prune",
	  "usage: cutover prune APP [--keep N] [--wait SECONDS]\n"
	  "Remove old releases, failed builds and leftovers of interrupted runs; the current and\n"
	  "the previous release always stay.\n"
	  "  --keep N             keep the newest N (1-1000) frozen releases (default: keep in the config)\n"
	  WAIT COMMON },
	{ "check",
	  "usage: cutover check APP\n"
	  "Validate the configuration and the application's directories and php-fpm; change nothing.\n"
	  "Warns when no [fpm] section says how php-fpm is reloaded.\n"
	  COMMON },
	{ "mount",
	  "usage: cutover mount APP [--wait SECONDS]\n"
	  "mode = bind: mount the current release at live (at boot, after a crash).\n"
	  WAIT COMMON },
	{ "fpm-start",
	  "usage: cutover fpm-start APP [--wait SECONDS]\n"
	  "[fpm] reload = swap: start the php-fpm pool of the current release if it does not run,\n"
	  "check it, point the live socket at it, and stop warm pools older than [fpm] keep_warm.\n"
	  "Run at boot by cutover-fpm-boot@APP.service; safe to repeat. Root only, not through sudo.\n"
	  WAIT COMMON },
	{ "verify",
	  "usage: cutover verify APP [RELEASE]\n"
	  "Check a frozen release (default: the current one) against its manifest, every byte hashed.\n"
	  "  RELEASE              a whole release id\n"
	  COMMON },
};

const char *cli_verb_help(const char *verb)
{
	for (size_t i = 0; verb && i < ELEMENTSOF(verb_help); i++)
		if (strcmp(verb_help[i].verb, verb) == 0)
			return verb_help[i].text;
	return NULL;
}

const char *cli_help_text(const struct cli *c)
{
	return c->help_verb ? cli_verb_help(c->help_verb) : cli_usage;
}

int cli_print_help(const struct cli *c)
{
	const char *text = cli_help_text(c);

	if (!text)
		return -EINVAL;
	fputs(text, stdout);
	return fflush(stdout) == 0 ? 0 : -EIO;
}
