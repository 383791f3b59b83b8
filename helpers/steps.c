/* SPDX-License-Identifier: MIT */
/*
 * Everything the helper runs in the build sandbox as the deploy user:
 * build steps, a git fetch, migrations and hooks.
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "fsops.h"
#include "git_ssh.h"
#include "privs.h"
#include "sandbox.h"
#include "step_wait.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

#define DISK_CHECK_MS 20

/* ---- build steps --------------------------------------------------- */

static int build_env(struct helper *h, const char *id, char **env, size_t n, char *store,
		     size_t storen, const char *const *extra)
{
	size_t k = 0, o = 0;
	const char *fixed[] = { "PATH=" SAFE_PATH, "HOME=/tmp", "LANG=C.UTF-8" };

	for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
		env[k++] = (char *)fixed[i];
	for (int i = 0; i < 2; i++) {
		int w = snprintf(store + o, storen - o, i == 0 ? "CUTOVER_APP=%s" : "CUTOVER_RELEASE=%s",
				 i == 0 ? h->cfg.app : id);
		if (w < 0 || (size_t)w >= storen - o)
			return -ENAMETOOLONG;
		env[k++] = store + o;
		o += (size_t)w + 1;
	}
	for (size_t i = 0; extra && extra[i] && k < n - 1; i++)
		env[k++] = (char *)extra[i];
	for (size_t i = 0; i < h->cfg.n_build_env && k < n - 1; i++)
		env[k++] = h->cfg.build_env[i];
	env[k] = NULL;
	return 0;
}

/*
 * mode = bind: the sandbox runs the release at live, the path its code
 * runs from in production, so that config:cache and the like bake live,
 * never releases/ID. A frozen release (migrations, hooks) is attached there
 * read-only; the shared entries are mounted on it once link-shared has made
 * their mount points.
 */
struct bind_spec {
	int frozen;                                   /* releases/ID, or -EBADF */
	struct sandbox_bind binds[2 * CONFIG_MAX_LIST];
	int fds[2 * CONFIG_MAX_LIST];
	size_t n;
};

static void bind_spec_close(struct bind_spec *b)
{
	closep(&b->frozen);
	while (b->n > 0)
		close(b->fds[--b->n]);
}

static int bind_spec_open(struct helper *h, const char *id, int tree_fd, struct bind_spec *b)
{
	if (tree_fd < 0) {
		b->frozen = fs_open_beneath(h->l.releases_fd, id, O_PATH | O_DIRECTORY, 0);
		if (b->frozen < 0)
			return b->frozen;
	} else if (h->phase < PH_LINKED)
		return 0;   /* a git fetch: no mount points yet */
	for (size_t k = 0; k < h->cfg.n_shared_dirs + h->cfg.n_shared_files; k++) {
		bool is_dir = k < h->cfg.n_shared_dirs;
		const char *rel = is_dir ? h->cfg.shared_dirs[k] : h->cfg.shared_files[k - h->cfg.n_shared_dirs];
		int fd = fs_open_beneath(h->l.shared_fd, rel, O_PATH | (is_dir ? O_DIRECTORY : 0), 0);

		if (fd < 0)
			return fd;
		b->fds[b->n] = fd;
		b->binds[b->n] = (struct sandbox_bind){ .fd = fd, .rel = rel, .is_dir = is_dir };
		b->n++;
	}
	return 0;
}

/* What a step runs in: where the release is mounted in the sandbox, the
 * directory it is mounted from, and (mode = bind) the shared entries. */
struct step_place {
	char mount_path[PATH_MAX];
	char shared_path[PATH_MAX];
	int mount_point;                 /* -EBADF when closed */
	struct bind_spec bs;
};

static void step_place_close(struct step_place *p)
{
	closep(&p->mount_point);
	bind_spec_close(&p->bs);
}

static int step_place_open(struct helper *h, const char *id, int tree_fd, struct step_place *p)
{
	bool bind = h->cfg.mode == PUBLISH_BIND;
	int r;

	if (bind)
		r = str_copy(p->mount_path, sizeof(p->mount_path), h->cfg.live);
	else
		r = str_printf(p->mount_path, sizeof(p->mount_path), "%s/releases/%s", h->cfg.root, id);
	if (r == 0)
		r = str_printf(p->shared_path, sizeof(p->shared_path), "%s/shared", h->cfg.root);
	if (r < 0)
		return r;
	if (!bind) {
		p->mount_point = fs_open_beneath(h->l.releases_fd, id, O_PATH | O_DIRECTORY, 0);
		return p->mount_point < 0 ? p->mount_point : 0;
	}
	/* The top of whatever is mounted at live: the same mount root is
	 * what the sandbox's copy of our namespace has there. */
	p->mount_point = openat(h->l.root_fd, config_live_name(&h->cfg),
				O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p->mount_point < 0)
		return -errno;
	return bind_spec_open(h, id, tree_fd, &p->bs);
}

/* The step's log, releases' logs/ID.log, with a title line; -EBADF when
 * there is none (the step runs anyway). */
static int step_log_open(struct helper *h, const char *id, const char *title)
{
	char log[RELEASE_ID_MAX + 8];
	int fd;

	/* A rebuild of an existing id writes nothing of that release: its
	 * log stays the one of the build that made it. */
	if (h->rebuild && strcmp(id, h->id) == 0)
		return -EBADF;
	snprintf(log, sizeof(log), "%s.log", id);
	fd = openat(h->l.logs_fd, log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -EBADF;
	(void)write_all(fd, "== ", 3);
	(void)write_all(fd, title, strlen(title));
	(void)write_all(fd, "\n", 1);
	return fd;
}

/* Each chunk of a step's output to the front end (the build log has it
 * already): -EAGAIN while the socket is non-blocking and full. */
static int step_output_send(void *ctx, const char *buf, size_t n)
{
	struct helper *h = ctx;
	struct proto_msg out;

	proto_init(&out, OP_OUTPUT);
	memcpy(out.text, buf, n);
	out.len = (uint32_t)n;
	return helper_send(h, &out, -1);
}

/* Watches the sandbox (pid 1 = pid) until all of it is gone, or it has to
 * be stopped: the deadline, the disk budget and the front end's socket
 * hold for as long as pid 1 lives, not merely while the output pipe is
 * open, and whether or not the front end reads (helpers/step_wait.c).
 * Pid 1 is killed unless it exited; only then is the output still pending
 * sent, blocking: nothing of the step runs any more. */
static enum step_end step_watch_pid(struct helper *h, int rd, pid_t pid, int logfd)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	_cleanup_free_ struct step_watch *w = calloc(1, sizeof(*w));
	enum step_end end;

	if (pidfd < 0 || !w)
		return STEP_END_ERROR;
	/* Field by field: the struct holds a 64 KiB ring (calloc zeroed it). */
	w->out_fd = rd;
	w->sock = h->sock;
	w->pidfd = pidfd;
	w->space_fd = h->l.releases_fd;
	w->log_fd = logfd;
	w->deadline_ns = now_ns() + (uint64_t)h->cfg.build_timeout * 1000000000ull;
	w->max_bytes = h->cfg.max_size;
	w->check_ms = DISK_CHECK_MS;
	w->send_output = step_output_send;
	w->ctx = h;
	end = step_watch_run(w);
	if (end != STEP_END_EXITED)
		kill(pid, SIGKILL);
	if (end != STEP_END_PEER_GONE && end != STEP_END_ERROR && step_watch_flush(w) < 0)
		end = STEP_END_PEER_GONE;
	return end;
}

/* The reply to a step that ended as end, with wait status status. */
static int step_reply(struct helper *h, enum step_end end, int status, struct proto_msg *rep)
{
	switch (end) {
	case STEP_END_PEER_GONE:
	case STEP_END_ERROR:
		return -ECONNRESET;
	case STEP_END_TIMEOUT:
		reply_fail(rep, -ETIMEDOUT, ERR_STEP_TIMEOUT, NULL);
		return 0;
	case STEP_END_DISK:
		reply_fail(rep, -EFBIG, ERR_STEP_DISK, NULL);
		return 0;
	case STEP_END_DISK_FULL:
		reply_fail(rep, -ENOSPC, ERR_STEP_DISK_FULL, NULL);
		return 0;
	case STEP_END_EXITED:
		break;
	}
	reply_init(rep, 0, NULL);
	rep->arg[0] = WIFEXITED(status) ? (uint64_t)WEXITSTATUS(status) : 128;
	return 0;
}

/*
 * Runs command (with $1.. from args) in the build sandbox on the release
 * being staged, streaming its output to the front end and the build log,
 * and replies with its exit code, or -ETIMEDOUT. -ECONNRESET if the front
 * end went away (the step is killed first).
 */
/* run_sandboxed, with pass_fd (>= 0) open in the step on fd 3, and for a
 * cached git fetch (cache not NULL) the cache side feeding the step. */
static int run_sandboxed_fd(struct helper *h, const char *id, int tree_fd, bool shared_rw,
			    const char *title, const char *command, char *const *args,
			    const char *const *extra_env, int pass_fd, const struct sandbox_cache *cache,
			    struct proto_msg *rep)
{
	char *env[CONFIG_MAX_LIST + 16];
	char envstore[256];
	_cleanup_(step_place_close) struct step_place place = { .mount_point = -EBADF, .bs.frozen = -EBADF };
	_cleanup_close_ int logfd = -EBADF, rd = -EBADF;
	bool bind = h->cfg.mode == PUBLISH_BIND;
	struct build_cgroup cg = { 0 };
	struct sandbox_spec spec;
	int pipefd[2], status = 0, r;
	enum step_end end;
	pid_t pid, w;

	r = build_env(h, id, env, ELEMENTSOF(env), envstore, sizeof(envstore), extra_env);
	if (r == 0)
		r = step_place_open(h, id, tree_fd, &place);
	if (r < 0)
		return r;
	logfd = step_log_open(h, id, title);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	rd = pipefd[0];
	spec = (struct sandbox_spec){
		.tree_fd = bind && tree_fd < 0 ? place.bs.frozen : tree_fd, .tree_readonly = bind && tree_fd < 0,
		.app_root = h->cfg.root, .mount_path = place.mount_path, .mount_point_fd = place.mount_point,
		.shared_fd = shared_rw && !bind ? h->l.shared_fd : -1, .shared_path = place.shared_path,
		.binds = place.bs.binds, .n_binds = place.bs.n, .binds_writable = shared_rw,
		/* A frozen release is readable by web_group only: migrations
		 * and hooks, which run in one, get that group to read it. */
		.extra_gid = tree_fd < 0 ? h->cfg.web_gid : 0,
		.uid = h->cfg.uid, .gid = h->cfg.gid, .env = env,
		.command = command, .args = args,
		.fsize_limit = h->cfg.max_size,
		.max_procs = h->cfg.max_procs, .max_memory = h->cfg.max_memory,
		.pass_fd_set = pass_fd >= 0, .pass_fd = pass_fd,
		.cache = cache,
	};
	r = sandbox_start(&spec, pipefd[1], &pid, &cg);
	close(pipefd[1]);
	if (r < 0) {
		reply_fail(rep, r, ERR_SANDBOX, NULL);
		return 0;
	}
	end = step_watch_pid(h, rd, pid, logfd);
	if (end != STEP_END_EXITED)
		kill(pid, SIGKILL);
	/* The status must be the step's own: a failed wait is a failure,
	 * never a 0 that reads as success. */
	status = W_EXITCODE(128, 0);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0)
		status = W_EXITCODE(128, 0);
	cgroup_destroy(&cg);
	return step_reply(h, end, status, rep);
}

int run_sandboxed(struct helper *h, const char *id, int tree_fd, bool shared_rw,
		  const char *title, const char *command,
		  char *const *args, const char *const *extra_env, struct proto_msg *rep)
{
	return run_sandboxed_fd(h, id, tree_fd, shared_rw, title, command, args, extra_env, -EBADF, NULL, rep);
}

int op_run_step(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char title[64];

	if (req->arg[0] != h->next_step || h->next_step >= h->cfg.n_build_run)
		return -EPROTO;
	snprintf(title, sizeof(title), "step %zu", h->next_step + 1);
	h->next_step++;
	return run_sandboxed(h, h->id, h->tree_fd, false, title, h->cfg.build_run[h->next_step - 1],
			     NULL, NULL, rep);
}

/*
 * A git+URL#REF source goes through the app's repository cache,
 * ROOT/.cutover/git/repo.git, so that a deploy fetches only what changed.
 * The cache is written only by a process that is not the deploy user
 * ([build] git_user, a user of its own, in the build sandbox with
 * everything read-only but the cache: helpers/sandbox.c), which pipes a `git archive`
 * of the commit to the deploy user's `tar -x` in the staging tree. The
 * deploy user never holds a path or an fd into the cache, and a git
 * process it could reach through /proc has another uid.
 *
 * What git would take from the cache besides objects and refs is
 * rewritten or removed before every fetch (config, hooks, info/, alternates,
 * commit-graph, multi-pack-index, replace refs, loose objects: ours are all
 * in packs), and `-c` overrides whatever could still come from a config.
 * Received objects are packed (transfer.unpackLimit=1): index-pack hashes
 * each one and refuses one whose name is already taken by other content, and
 * fsckObjects checks them. When a fetch into the existing cache fails, the
 * cache is discarded and the fetch repeated once into a fresh one.
 */
static const char git_cache_script[] =
	"set -eu\n"
	"umask 077\n"
	"export HOME=\"$PWD\" GIT_CONFIG_GLOBAL=\"$PWD/gitconfig\" GIT_DIR=\"$PWD/repo.git\"\n"
	/* The key's memfd, if any, is on fd 3 of this shell (git_user's);
	 * ssh opens it through /proc/$CUTOVER_SSH_KEY_PID/fd/3, and it is
	 * closed as soon as the fetch is done. */
	"export CUTOVER_SSH_KEY_PID=$$\n"
	"g() {\n"
	"\tgit -c core.hooksPath=/dev/null -c core.fsmonitor=false \\\n"
	"\t    -c core.attributesFile=/dev/null -c core.commitGraph=false -c core.multiPackIndex=false \\\n"
	"\t    -c fetch.writeCommitGraph=false -c transfer.unpackLimit=1 -c fetch.unpackLimit=1 \\\n"
	"\t    -c fetch.fsckObjects=true -c gc.auto=0 -c maintenance.auto=false -c core.sshCommand=ssh \"$@\"\n"
	"}\n"
	/* Two processes (rm, mkdir): each one costs a deploy time. gitconfig
	 * (GIT_CONFIG_GLOBAL, which unlike -c reaches the upload-pack of a
	 * local URL): git refuses a local repository another user owns; root
	 * invoking cutover directly chose it (a local URL is refused through
	 * sudo). */
	"scrub() {\n"
	/* && throughout: set -e does not hold under `if !` */
	"\t{ [ -d repo.git ] || g init -q --bare --template= repo.git; } &&\n"
	"\trm -rf gitconfig repo.git/hooks repo.git/info repo.git/logs repo.git/config \\\n"
	"\t\trepo.git/config.worktree repo.git/commondir repo.git/gitdir repo.git/worktrees \\\n"
	"\t\trepo.git/FETCH_HEAD repo.git/refs/replace repo.git/objects/info repo.git/objects/?? \\\n"
	"\t\trepo.git/objects/pack/multi-pack-index* repo.git/objects/pack/tmp_* &&\n"
	"\tmkdir repo.git/info repo.git/objects/info &&\n"
	"\tprintf '[core]\\n\\trepositoryformatversion = 0\\n\\tbare = true\\n' >repo.git/config &&\n"
	"\tprintf '* -export-ignore -export-subst\\n' >repo.git/info/attributes &&\n"
	"\tprintf '[safe]\\n\\tdirectory = *\\n' >gitconfig\n"
	"}\n"
	/* The fetch writes refs/cutover/last itself (the next fetch's
	 * "have"); the commit is checked below. */
	"fetch() { scrub && g fetch -q --no-tags --depth 1 -- \"$1\" \"+$2:refs/cutover/last\"; }\n"
	"if [ -d repo.git ]; then\n"
	"\tif ! (fetch \"$1\" \"$2\"); then\n"
	"\t\techo 'cutover: the repository cache was discarded; fetching into a new one' >&2\n"
	"\t\trm -rf repo.git\n"
	"\t\tfetch \"$1\" \"$2\"\n"
	"\tfi\n"
	"else\n"
	"\tfetch \"$1\" \"$2\"\n"
	"fi\n"
	"exec 3<&-\n"
	"c=$(g rev-parse --verify -q 'refs/cutover/last^{commit}')\n"
	/* A cache that cannot be read (a damaged pack) must not fail every
	 * deploy after this one: it goes. */
	"st=0\n"
	"g archive --format=tar \"$c\" || st=$?\n"
	/* 0, or the reader went away (SIGPIPE): the cache is fine */
	"case $st in 0|141) exit $st;; esac\n"
	"echo 'cutover: the repository cache could not be read and was discarded' >&2\n"
	"rm -rf repo.git\n"
	"exit 1\n";

/* URL and REF of a git+ source, re-validated; NULL or why not. */
static const char *git_source_problem(const char *url, const char *ref, bool via_sudo)
{
	const char *problem = git_url_problem(url);

	if (!problem)
		problem = git_ref_problem(ref);
	if (!problem && via_sudo && (strncmp(url, "file:", 5) == 0 || !strchr(url, ':')))
		problem = "a local repository is refused through sudo: the deploy user, not you, would read it; "
			  "use an archive or a remote URL";
	return problem;
}

/* Without [build] git_user: the whole tree, shallow, every time, fetched
 * as the deploy user into a repository thrown away right after. */
static int fetch_git_uncached(struct helper *h, char *const *args, const char *ssh_cmd, int key_fd,
			      bool via_sudo, struct proto_msg *rep)
{
	static const char script[] =
		"set -e\n"
		/* The key's memfd, if any, is on fd 3 of this shell; ssh
		 * opens it through /proc/$CUTOVER_SSH_KEY_PID/fd/3, and it is
		 * closed as soon as the fetch is done. */
		"export CUTOVER_SSH_KEY_PID=$$\n"
		"git init -q 3<&-\n"
		"git fetch -q --no-tags --depth 1 -- \"$1\" \"$2\"\n"
		"exec 3<&-\n"
		"git -c advice.detachedHead=false checkout -q --detach FETCH_HEAD --\n"
		"rm -rf .git\n";
	const char *env[] = {
		"GIT_TERMINAL_PROMPT=0", "GIT_DIR=.git",
		/* ext:: and fd:: run commands */
		via_sudo ? "GIT_ALLOW_PROTOCOL=git:http:https:ssh" : "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
		ssh_cmd, NULL,
	};

	return run_sandboxed_fd(h, h->id, h->tree_fd, false, "git fetch", script, args, env, key_fd, NULL, rep);
}

/*
 * URL and REF are validated here again and reach git as positional
 * parameters, never as shell code.
 */
int op_fetch_git(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	/* The deploy user's side: a fresh tree of its own in the staging
	 * directory, from a byte stream (mtimes now, as a checkout has them). */
	static const char untar[] = "exec tar -x -m -f -\n";
	bool via_sudo = strcmp(h->who, "root") != 0;
	char buf[PROTO_TEXT_SIZE], *hash, ssh_cmd[1024], err[512] = "";
	/* ext:: and fd:: run commands. Through sudo the caller may publish
	 * only what it can read itself: no local repository. */
	const char *env[] = {
		"PATH=" SAFE_PATH, "LANG=C.UTF-8", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_NO_REPLACE_OBJECTS=1",
		via_sudo ? "GIT_ALLOW_PROTOCOL=git:http:https:ssh" : "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
		NULL, NULL,
	};
	_cleanup_close_ int cache_fd = -EBADF, key_fd = -EBADF;
	struct sandbox_cache cache;
	bool cached = h->cfg.git_user[0] != '\0';
	const char *problem;
	char *args[3];
	int r;

	str_copy(buf, sizeof(buf), req->text);
	hash = strchr(buf, '#');
	if (!hash)
		return -EPROTO;
	*hash = '\0';
	problem = git_source_problem(buf, hash + 1, via_sudo);
	if (problem) {
		reply_fail(rep, -EINVAL, ERR_GIT_SOURCE, problem);
		return 0;
	}
	/* Never the deploy user's ssh keys and configuration through sudo
	 * (helpers/git_ssh.c). */
	r = git_ssh_command(&h->cfg, via_sudo, cached ? h->cfg.git_uid : h->cfg.uid, ssh_cmd, sizeof(ssh_cmd),
			    &key_fd, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_GIT_SOURCE, err);
		return 0;
	}
	if (r > 0)
		env[ELEMENTSOF(env) - 2] = ssh_cmd;
	args[0] = buf;
	args[1] = hash + 1;
	args[2] = NULL;
	if (!cached)
		return fetch_git_uncached(h, args, r > 0 ? ssh_cmd : NULL, key_fd, via_sudo, rep);
	/* Its owner is forced: a cache left by another git_user is taken
	 * over at the top and, failing below, discarded by the script. */
	cache_fd = fs_ensure_dir(h->l.meta_fd, "git", 0700, h->cfg.git_uid, 0);
	if (cache_fd < 0)
		return cache_fd;
	cache = (struct sandbox_cache){
		.fd = cache_fd, .path = "/tmp/.cutover-git", .uid = h->cfg.git_uid,
		.command = git_cache_script, .env = (char *const *)env, .key_fd = key_fd,
	};
	return run_sandboxed_fd(h, h->id, h->tree_fd, false, "git fetch", untar, args, NULL, -EBADF, &cache, rep);
}

/*
 * Database migrations, after the freeze and before the switch (new schema
 * first, then new code): the frozen release read-only at its path, shared/
 * writable (a SQLite database lives there), as the deploy user.
 * arg[0] 0 runs [migrate] pretend, 1 runs [migrate] run; each once, in
 * that order when both are configured.
 */
int op_migrate(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	static const char *const titles[] = { "migrate (pretend)", "migrate", "migrate (verify)" };
	unsigned what = (unsigned)req->arg[0];
	const char *cmd;

	/* 0 pretend, 1 run, 2 pretend again after the run (to verify that
	 * nothing is left pending: a failing artisan can exit 0). */
	if (what > 2)
		return -EPROTO;
	cmd = what == 1 ? h->cfg.migrate.run : h->cfg.migrate.pretend;
	/* In order, each once: pretend only first, the run once, the
	 * verification only right after the run. */
	if (!cmd[0] || (what == 0 && h->migrate_stage != MIGRATE_NONE) ||
	    (what == 1 && h->migrate_stage > MIGRATE_PRETENDED) ||
	    (what == 2 && h->migrate_stage != MIGRATE_RAN))
		return -EPROTO;
	h->migrate_stage = what == 0 ? MIGRATE_PRETENDED : what == 1 ? MIGRATE_RAN : MIGRATE_VERIFIED;
	return run_sandboxed(h, h->id, -1, true, titles[what], cmd, NULL, NULL, rep);
}

/* Has this run rolled back (cutover rollback, or a deploy's automatic one)? */
static bool hook_rolled_back(const struct helper *h)
{
	return h->phase == PH_SWITCHED && (h->used_once[OP_ROLLBACK / 32] & (1u << (OP_ROLLBACK % 32)));
}

/* May a deploy run on_failure now: once its release was given up (done),
 * refused by the switch (frozen) or found unhealthy (switched)? Never
 * while it is being built. */
static bool hook_after_failure(const struct helper *h)
{
	return h->verb == PV_DEPLOY && h->failed &&
	       (h->phase == PH_DONE || h->phase == PH_FROZEN || h->phase == PH_SWITCHED);
}

/*
 * Which release a hook of kind runs in, or "" when kind may not run now:
 * before_switch in this deploy's frozen release; after_switch in the
 * release just published; after_rollback in the one rolled back to, only
 * after a rollback; on_failure (hook_after_failure) in whatever is live,
 * since the failed release may not exist. -errno when
 * what is live cannot be read.
 */
static int hook_release(struct helper *h, enum hook_kind kind, char *ret, size_t n)
{
	ret[0] = '\0';
	switch (kind) {
	case HOOK_BEFORE_SWITCH:
		return h->phase == PH_FROZEN ? str_copy(ret, n, h->id) : 0;
	case HOOK_AFTER_SWITCH:
		return h->phase == PH_SWITCHED ? str_copy(ret, n, h->published) : 0;
	case HOOK_AFTER_ROLLBACK:
		return hook_rolled_back(h) ? str_copy(ret, n, h->published) : 0;
	case HOOK_ON_FAILURE:
		return hook_after_failure(h) ? current_read(&h->l, ret, n) : 0;
	default:
		return 0;
	}
}

/*
 * [hooks]: arg[0] an enum hook_kind, arg[1] the hook's index, in order,
 * each once (after_switch again after each switch). on_failure gets the
 * failed release and text, the front end's reason, in its environment
 * (made printable: it is only ever data to the hook).
 */
int op_hook(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	enum hook_kind kind = req->arg[0] < HOOK_KIND_MAX ? (enum hook_kind)req->arg[0] : HOOK_KIND_MAX;
	char where[RELEASE_ID_MAX + 1], title[64], reason[600], failed[RELEASE_ID_MAX + 32];
	char kind_env[48], rb_env[40];
	const char *env[5] = { kind_env, NULL };
	char *const *cmds;
	size_t n, k = 1;
	int r;

	if (kind == HOOK_KIND_MAX)
		return -EPROTO;
	cmds = config_hooks(&h->cfg, kind, &n);
	if (req->arg[1] != h->next_hook[kind] || h->next_hook[kind] >= n)
		return -EPROTO;
	r = hook_release(h, kind, where, sizeof(where));
	if (r < 0)
		return r;
	if (!where[0] && kind == HOOK_ON_FAILURE && hook_after_failure(h)) {
		reply_fail(rep, -ENOENT, ERR_NO_CURRENT, NULL);   /* nothing live to run it in */
		return 0;
	}
	if (!where[0])
		return -EPROTO;
	snprintf(kind_env, sizeof(kind_env), "CUTOVER_HOOK=%s", config_hook_name(kind));
	if (kind == HOOK_ON_FAILURE) {
		snprintf(reason, sizeof(reason), "CUTOVER_REASON=%.*s", (int)strnlen(req->text, 500), req->text);
		/* Printable ASCII: C1 controls (0x80-0x9f, or UTF-8 0xc2 0x9b)
		 * would act on a terminal the hook writes the reason to. */
		for (char *p = reason; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = ' ';
		snprintf(failed, sizeof(failed), "CUTOVER_FAILED_RELEASE=%s", h->id);
		env[k++] = reason;
		env[k++] = failed;
	}
	if (kind == HOOK_AFTER_ROLLBACK) {
		snprintf(rb_env, sizeof(rb_env), "CUTOVER_ROLLBACK=%s", h->verb == PV_DEPLOY ? "automatic" : "manual");
		env[k++] = rb_env;
	}
	env[k] = NULL;
	snprintf(title, sizeof(title), "%s hook %zu", config_hook_name(kind), h->next_hook[kind] + 1);
	h->next_hook[kind]++;
	return run_sandboxed(h, where, -1, true, title, cmds[h->next_hook[kind] - 1], NULL, env, rep);
}
