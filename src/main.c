/* SPDX-License-Identifier: MIT */
/*
 * cutover: the launcher and front end.
 *
 * Started as root (directly, or by a CI user through sudo), this process
 * does only what needs root before anything else: cleans its fds and
 * environment, reads the root-owned config of the app named on the command
 * line, starts the privileged helper (helpers/) on a socketpair and the
 * source reader with the invoking user's credentials, and then drops for
 * good to the app's deploy user: no capabilities in any set, NoNewPrivs,
 * not dumpable, a seccomp filter. Everything else happens after that, in
 * src/frontend.c.
 */
#include <ctype.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "artifact.h"
#include "cli.h"
#include "config.h"
#include "frontend.h"
#include "output.h"
#include "privs.h"
#include "util.h"

#ifndef CUTOVER_VERSION
#define CUTOVER_VERSION "0.1.0"
#endif
#ifndef CUTOVER_LIBEXECDIR
#define CUTOVER_LIBEXECDIR "/usr/local/libexec/cutover"
#endif

/* Who asked for this run. Taken from sudo's variables before the
 * environment is cleared; sudo sets them itself, whatever the caller's
 * environment held. */
struct invoker {
	bool via_sudo;
	uid_t uid;
	gid_t gid;
	char name[CONFIG_USER_MAX + 1];
};

static int invoker_read(struct invoker *inv)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID"), *n = getenv("SUDO_USER");
	unsigned long long v;

	memset(inv, 0, sizeof(*inv));
	str_copy(inv->name, sizeof(inv->name), "root");
	if (!u)
		return 0;
	if (!g || !n || parse_uint(u, 0, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	inv->uid = (uid_t)v;
	if (parse_uint(g, 0, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	inv->gid = (gid_t)v;
	if (str_copy(inv->name, sizeof(inv->name), n) < 0)
		return -EINVAL;
	for (const char *p = inv->name; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._-", *p)))
			return -EINVAL;
	/* root using sudo is root. */
	inv->via_sudo = inv->uid != 0;
	if (!inv->via_sudo)
		str_copy(inv->name, sizeof(inv->name), "root");
	return 0;
}

/* The helper sits next to us in a build tree, in LIBEXECDIR when
 * installed. Either way it must be root-owned and not writable by others,
 * all the way up. */
static int helper_open(char *err, size_t errlen)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/cutover-helper", self);
			if (access(path, F_OK) == 0)
				return path_open_trusted(path, false, err, errlen);
		}
	}
	return path_open_trusted(CUTOVER_LIBEXECDIR "/cutover-helper", false, err, errlen);
}

static int helper_spawn(const struct cli *cli, const struct invoker *inv, pid_t *ret_pid,
			char *err, size_t errlen)
{
	_cleanup_close_ int exe = -EBADF;
	int sv[2];
	pid_t pid;

	exe = helper_open(err, errlen);
	if (exe < 0)
		return exe;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		char *argv[] = { "cutover-helper", (char *)cli->verb_name, (char *)cli->app,
				 (char *)inv->name, (char *)cli->config, NULL };
		extern char **environ;

		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				_exit(127);
		} else if (dup2(sv[1], 3) < 0)
			_exit(127);
		fexecve(exe, argv, environ);
		_exit(127);
	}
	close(sv[1]);
	*ret_pid = pid;
	return sv[0];
}

/* Forks the source reader with the invoking user's credentials. */
static int reader_spawn(const struct invoker *inv, int cwd_fd, int helper_sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static const int read_any[] = { CAP_DAC_READ_SEARCH };
		gid_t groups[64];
		int ng = (int)ELEMENTSOF(groups), r;

		close(sv[0]);
		/* The helper must see EOF when the front end goes away; the
		 * reader must not keep its socket open. */
		close(helper_sock);
		if (inv->via_sudo) {
			if (getgrouplist(inv->name, inv->gid, groups, &ng) < 0)
				ng = 1, groups[0] = inv->gid;
			r = privs_drop_to(inv->uid, inv->gid, groups, (size_t)ng);
		} else {
			/* root itself asked: read what root can read, nothing
			 * more (no other capability). */
			r = privs_limit_caps(read_any, ELEMENTSOF(read_any));
		}
		if (r == 0)
			r = privs_seccomp_unprivileged(false);
		if (r < 0)
			_exit(126);
		_exit(reader_serve(sv[1], cwd_fd) < 0 ? 1 : 0);
	}
	close(sv[1]);
	return sv[0];
}

static bool user_allowed(const struct config *cfg, const struct invoker *inv)
{
	if (!inv->via_sudo || cfg->n_allow_users == 0)
		return true;
	for (size_t i = 0; i < cfg->n_allow_users; i++)
		if (strcmp(cfg->allow_users[i], inv->name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct frontend fe = { .sock = -1, .helper_pid = -1, .reader_sock = -1 };
	struct config cfg;
	struct invoker inv;
	struct cli pick;
	char err[1024] = "", cfgpath[PATH_MAX];
	int cwd_fd, keep[1], r;

	/* Before anything else: the caller controls our fds, environment,
	 * cwd, umask and limits. Keep only a handle on the cwd, for a
	 * relative --from, and sudo's word on who the caller is. */
	cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd_fd < 0)
		cwd_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	keep[0] = cwd_fd;
	r = invoker_read(&inv);
	if (privs_sanitize_process(keep, 1) < 0 || privs_reset_environment() < 0) {
		out_error("cannot set up a clean process state");
		return EXIT_FAILED;
	}
	if (r < 0) {
		out_error("SUDO_UID, SUDO_GID or SUDO_USER is malformed; run cutover through sudo or as root");
		return EXIT_USAGE;
	}

	r = cli_pick(argc, argv, &pick, err, sizeof(err));
	if (r < 0) {
		out_error("%s", err);
		return EXIT_USAGE;
	}
	if (pick.help) {
		fputs(cli_usage, stdout);
		return EXIT_OK;
	}
	if (pick.version) {
		printf("cutover %s\n", CUTOVER_VERSION);
		return EXIT_OK;
	}
	if (getuid() != 0 || geteuid() != 0) {
		out_error("must be run as root, directly or through sudo (see helpers/sudoers.example)");
		return EXIT_USAGE;
	}
	if (pick.config && inv.via_sudo) {
		out_error("-c is accepted only when root runs cutover directly, not through sudo");
		return EXIT_USAGE;
	}
	if (pick.config)
		r = str_copy(cfgpath, sizeof(cfgpath), pick.config);
	else
		r = config_default_path(cfgpath, sizeof(cfgpath), pick.app);
	if (r < 0) {
		out_error("config path is too long");
		return EXIT_USAGE;
	}
	r = config_load(&cfg, cfgpath, pick.app, err, sizeof(err));
	if (r < 0) {
		out_error("%s", err);
		return EXIT_USAGE;
	}
	if (!user_allowed(&cfg, &inv)) {
		out_error("user %s may not run cutover for %s (allow_users in %s)", inv.name, cfg.app, cfgpath);
		return EXIT_USAGE;
	}
	if (pick.config)
		str_copy(cfgpath, sizeof(cfgpath), pick.config);

	fe.sock = helper_spawn(&pick, &inv, &fe.helper_pid, err, sizeof(err));
	if (fe.sock < 0) {
		out_error("cannot start the privileged helper: %s", err[0] ? err : strerror(-fe.sock));
		return EXIT_FAILED;
	}
	if (pick.verb == VERB_DEPLOY || pick.verb == VERB_STAGE) {
		fe.reader_sock = reader_spawn(&inv, cwd_fd, fe.sock);
		if (fe.reader_sock < 0) {
			out_error("cannot start the source reader: %s", strerror(-fe.reader_sock));
			frontend_finish(&fe);
			return EXIT_FAILED;
		}
	}
	close(cwd_fd);

	/* From here on: the deploy user, nothing else. */
	r = privs_drop_to(cfg.uid, cfg.gid, NULL, 0);
	if (r < 0) {
		out_error("cannot drop privileges to %s: %s", cfg.user, strerror(-r));
		frontend_finish(&fe);
		return EXIT_FAILED;
	}
	fe.cfg = &cfg;
	frontend_install_signals(&fe);

	r = cli_parse(argc, argv, &fe.cli, err, sizeof(err));
	if (r < 0) {
		out_error("%s", err);
		frontend_finish(&fe);
		return EXIT_USAGE;
	}
	{
		enum source_kind kind = 0;
		char e2[256];
		bool git = fe.cli.from && source_detect(fe.cli.from, &kind, e2, sizeof(e2)) == 0 &&
			   kind == SOURCE_GIT;
		/* Only a git source needs exec (of /usr/bin/git). */
		r = privs_seccomp_unprivileged(git);
		if (r < 0) {
			out_error("cannot install the seccomp filter: %s", strerror(-r));
			frontend_finish(&fe);
			return EXIT_FAILED;
		}
	}
	r = frontend_run(&fe);
	if (fe.reader_sock >= 0)
		close(fe.reader_sock);
	frontend_finish(&fe);
	config_free(&cfg);
	return r;
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the world with ptrace, which this process forbids
 * itself (not dumpable, seccomp, no CAP_SYS_PTRACE): leak checking of the
 * mains is left to the unit tests, which run without those restrictions. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif
