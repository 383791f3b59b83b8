/* SPDX-License-Identifier: MIT */
/*
 * /etc/cutover/APP.conf: parsing, validation and the trust check on the file
 * and its directories. The helper and the front end both load the config
 * through this module; the helper never takes a value from the front end
 * that it could read here itself.
 */
#ifndef CUTOVER_CONFIG_H
#define CUTOVER_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "names.h"

#define CONFIG_DIR "/etc/cutover"
#define CONFIG_MAX_LIST 64       /* shared dirs, files, run steps, env entries */
#define CONFIG_MAX_VALUE 4096    /* one value, e.g. a build command */
#define CONFIG_USER_MAX 32

enum publish_mode {
	PUBLISH_SYMLINK = 0,         /* ROOT/current, a symlink renamed into place */
	PUBLISH_BIND = 1,            /* the release mounted read-only at live (docs/BIND.md) */
};

/* mode = bind swaps mounts with move_mount(MOVE_MOUNT_BENEATH): Linux 6.5. */
#define BIND_KERNEL_MAJOR 6
#define BIND_KERNEL_MINOR 5

enum fpm_reload {
	FPM_RELOAD_GRACEFUL = 0,     /* SIGUSR2 through the master, confirmed */
	FPM_RELOAD_OPCACHE_RESET,    /* opcache_reset() run inside the pool */
	FPM_RELOAD_NONE,
	FPM_RELOAD_SWAP,             /* a new master per release, one rename (docs/POOLSWAP.md) */
};

#define FPM_SWAP_DIR "/run/cutover/fpm"   /* slots and the default live socket */
#define FPM_WARM_URLS_MAX 8

/* [fpm]: the PHP-FPM pool that serves the app. */
struct fpm_config {
	bool enabled;                        /* the section is present */
	char pid_file[256];                  /* absolute */
	char config[256];                    /* the master's php-fpm.conf, "" if not given */
	enum fpm_reload reload;
	char socket[256];                    /* unix path, or host:port */
	char status_path[128];               /* pm.status_path, "" if none */
	unsigned max_inflight_ms;
	unsigned timeout;                    /* seconds */
	/* reload = swap (docs/POOLSWAP.md) */
	char live_socket[256];               /* the path the web server connects to; a symlink */
	char binary[256];                    /* php-fpm executable, "" = found in /usr/sbin */
	char user[CONFIG_USER_MAX + 1];      /* the pool's workers run as */
	char group[CONFIG_USER_MAX + 1];     /* "" = the user's primary group */
	bool user_given;                     /* user was set explicitly */
	unsigned keep_warm;                  /* seconds the previous pool stays up */
	unsigned long long max_memory;       /* both pools together, bytes; 0 = no bound */
	char *warm_urls[FPM_WARM_URLS_MAX];  /* request paths sent to a new pool */
	size_t n_warm_urls;
	unsigned warm_requests;              /* each warm URL this many times */
	char preload[256];                   /* opcache.preload, relative to a release; "" none */
};

/* [health]: checks of a new release. */
struct health_config {
	bool enabled;
	char url[512];
	char host[256];                      /* Host header, "" for the URL's */
	unsigned expect_status;
	char expect_body[256];               /* substring, "" for any */
	unsigned timeout;                    /* seconds per try */
	unsigned retries;
	bool rollback;
	bool precheck;                       /* check the staged release through FPM */
};

enum notify_format {
	NOTIFY_JSON = 0,                     /* cutover's own event object */
	NOTIFY_SLACK,                        /* {"text": "..."}: Slack, Mattermost, Rocket.Chat */
};

#define NOTIFY_MAX_URLS 8

/* [notify]: webhooks told of every deploy, rollback and failure. */
struct notify_config {
	char *urls[NOTIFY_MAX_URLS];         /* http:// or https:// */
	size_t n_urls;
	enum notify_format format;
	unsigned timeout;                    /* seconds, all tries of one URL together */
	unsigned retries;                    /* tries after the first */
};

enum preset {
	PRESET_NONE = 0,
	PRESET_LARAVEL,
};

/* [migrate]: database migrations, run after the freeze, before the switch. */
struct migrate_config {
	char run[CONFIG_MAX_VALUE];          /* "" = no migrations */
	char pretend[CONFIG_MAX_VALUE];      /* prints the SQL run would execute */
	bool allow_destructive;
};

/* The [hooks] lists, in the order of the HOOK op's arg[0]. */
enum hook_kind {
	HOOK_BEFORE_SWITCH = 0,              /* this deploy's frozen release, before it is published */
	HOOK_AFTER_SWITCH,                   /* the release just published */
	HOOK_ON_FAILURE,                     /* the live release, after a deploy failed */
	HOOK_AFTER_ROLLBACK,                 /* the release rolled back to */
	HOOK_KIND_MAX,
};

struct config {
	char path[PATH_MAX];                 /* the file it was read from */
	char app[APP_NAME_MAX + 1];

	char root[256];                      /* absolute, normalised, < 256 */
	char user[CONFIG_USER_MAX + 1];
	char group[CONFIG_USER_MAX + 1];
	char web_group[CONFIG_USER_MAX + 1];
	uid_t uid;                           /* resolved by config_resolve_ids */
	gid_t gid;
	gid_t web_gid;
	char operators[CONFIG_USER_MAX + 1]; /* [app] operators: may read the history; "" none */
	gid_t operators_gid;                 /* (gid_t)-1 when none */
	unsigned keep;
	enum publish_mode mode;
	char live[256];                      /* mode = bind: ROOT/NAME, where the release is mounted */
	char docroot[256];                   /* relative to a release */
	char *allow_users[CONFIG_MAX_LIST];
	size_t n_allow_users;

	char *shared_dirs[CONFIG_MAX_LIST];
	size_t n_shared_dirs;
	char *shared_files[CONFIG_MAX_LIST];
	size_t n_shared_files;

	char *build_run[CONFIG_MAX_LIST];
	size_t n_build_run;
	char *build_env[CONFIG_MAX_LIST];    /* KEY=VALUE */
	size_t n_build_env;
	unsigned build_timeout;              /* seconds, per step */
	unsigned long long max_size;         /* disk budget of one release, bytes */
	unsigned long long max_files;        /* entries in one release */
	unsigned max_procs;                  /* tasks of one build step */
	unsigned long long max_memory;       /* memory of one build step, bytes */
	char ssh_key[256];                   /* git+ssh: the only identity ssh may use ("" none) */
	char ssh_known_hosts[256];           /* git+ssh: the only known_hosts ssh may use ("" none) */
	char git_user[CONFIG_USER_MAX + 1];  /* git+: the repository cache's own user ("" no cache) */
	uid_t git_uid;                       /* resolved by config_resolve_ids */

	struct fpm_config fpm;
	struct health_config health;
	struct migrate_config migrate;
	struct notify_config notify;

	enum preset preset;
	/* [hooks]: run as the deploy user in the new release */
	char *before_switch[CONFIG_MAX_LIST];
	size_t n_before_switch;
	char *after_switch[CONFIG_MAX_LIST];
	size_t n_after_switch;
	/* run in the live release after a deploy failed, and after a rollback */
	char *on_failure[CONFIG_MAX_LIST];
	size_t n_on_failure;
	char *after_rollback[CONFIG_MAX_LIST];
	size_t n_after_rollback;
	/* shared/storage gets Laravel's framework/{cache,sessions,views} and
	 * logs directories, writable by the deploy user and web_group */
	bool laravel_storage;
};

void config_init(struct config *c);
void config_free(struct config *c);

/*
 * Parses an open config stream. On error returns -EINVAL and writes
 * "PATH:LINE: what is wrong" into err. name is the file's name for messages.
 */
int config_parse_stream(struct config *c, FILE *f, const char *name,
			char *err, size_t errlen);

/* Parses a config held in memory (tests, fuzzing). */
int config_parse_string(struct config *c, const char *text, char *err,
			size_t errlen);

/*
 * Opens PATH for reading after checking that the file and every directory
 * above it are owned by root and not writable by group or others (a
 * root-owned sticky directory passes), and that no component is a symlink.
 * Returns an fd or -errno, with a one-line reason in err.
 */
int config_open_trusted(const char *path, char *err, size_t errlen);

/* The same check for any absolute path; want_dir asks for a directory
 * (returned O_RDONLY | O_DIRECTORY) instead of a regular file. */
int path_open_trusted(const char *path, bool want_dir, char *err, size_t errlen);

/* Opens, checks and parses the config; the one entry point for mains. */
int config_load(struct config *c, const char *path, const char *app,
		char *err, size_t errlen);

/*
 * True if a kernel release as uname(2) reports it ("6.5.0-21-amd64",
 * "6.18.44-fc-v769") is at least major.minor. A release that does not
 * start with MAJOR.MINOR is never new enough.
 */
bool kernel_release_at_least(const char *release, unsigned major, unsigned minor);

/* mode = bind needs MOVE_MOUNT_BENEATH, new in Linux 6.5: 0, or -EOPNOTSUPP
 * with a one-line reason in err when release (uname -r) is older. Nothing
 * to check in symlink mode. config_load calls it with the running kernel. */
int config_check_kernel(const struct config *c, const char *release, char *err, size_t errlen);

/* True for a URL [notify] accepts: http:// or https://, a host, printable,
 * no spaces, quotes or backslashes. */
bool config_notify_url_valid(const char *url);

/* The commands of one [hooks] list and their number; "" for an unknown kind. */
char *const *config_hooks(const struct config *c, enum hook_kind kind, size_t *ret_n);
const char *config_hook_name(enum hook_kind kind);

/* Resolves user, group and web_group to ids with getpwnam/getgrnam. */
int config_resolve_ids(struct config *c, char *err, size_t errlen);

/* Fills in what preset = laravel implies, where the config is silent:
 * shared storage and .env, the build steps, migrations, queue:restart. */
int config_apply_laravel(struct config *c);

/* Builds "/etc/cutover/APP.conf". */
int config_default_path(char *dst, size_t n, const char *app);

/* True if a relative path is safe to join under a directory: not empty, no
 * leading '/', no "." or ".." component, no empty component, printable. */
bool config_relpath_valid(const char *s);

/* May user (a login name) run cutover for this app? True when
 * allow_users is empty or names user. Callers decide who bypasses it. */
bool config_user_allowed(const struct config *cfg, const char *user);

/* mode = bind: the last component of live (one name directly inside
 * root, as config_load checked). */
const char *config_live_name(const struct config *cfg);

#endif
