/* SPDX-License-Identifier: MIT */
/*
 * cutover-helper: the only process of a cutover run that keeps privileges.
 *
 * It is started by cutover (as root, before the front end drops its
 * privileges) as `cutover-helper VERB APP WHO [CONFIG]` with a
 * SOCK_SEQPACKET socket on fd 3. It loads the root-owned config itself,
 * pins the app's directories, and then answers fixed-size requests from the
 * front end (src/common/proto.h). Which requests are allowed depends on the verb
 * it was started for and on the phase of the run: an explicit state
 * machine, default deny. A request that is not allowed ends the run.
 *
 * It takes no path from the front end: every path is derived from the
 * config and a release id that the helper generated or validated, and is
 * resolved against pinned directory fds (helpers/fsops.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "bind.h"
#include "config.h"
#include "fcgi_request.h"
#include "cgroup.h"
#include "fpm.h"
#include "freeze.h"
#include "fsops.h"
#include "names.h"
#include "caps.h"
#include "privs.h"
#include "proto.h"
#include "release.h"
#include "sandbox.h"
#include "util.h"

#define SOCK_FD 3
#define DISK_CHECK_MS 20

struct helper {
	struct config cfg;
	enum proto_verb verb;
	const char *verb_name;
	char who[CONFIG_USER_MAX + 1];
	int sock;
	struct layout l;
	int lock_fd;
	bool absent;                   /* ROOT not set up yet: no deploy has run */
	enum proto_phase phase;
	uint32_t used_once[(OP_REQUEST_MAX + 31) / 32];   /* OPF_ONCE ops served */
	char id[RELEASE_ID_MAX + 1];   /* the release this run staged */
	int tree_fd;                   /* its staging directory */
	size_t next_step;
	struct release_info info;
	bool rolled_back;
	bool git_fetched;
	bool pretended, migrated, verified;
	size_t next_hook[2];           /* before_switch, after_switch */
	char published[RELEASE_ID_MAX + 1];   /* what this run made current */
	bool fpm_entered;              /* mode = bind: the last publish entered php-fpm's namespace */
	struct bind_actions repair;    /* mode = bind: what the last repair did */
};

static void reply_init(struct proto_msg *m, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_init(struct proto_msg *m, int status, const char *fmt, ...)
{
	va_list ap;

	proto_init(m, OP_REPLY);
	m->status = status;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m->text, sizeof(m->text), fmt, ap);
		va_end(ap);
		m->len = (uint32_t)strlen(m->text);
	}
}

static int send_msg(struct helper *h, struct proto_msg *m, int fd)
{
	if (m->op != OP_OUTPUT)
		m->len = (uint32_t)strnlen(m->text, sizeof(m->text) - 1);
	return proto_send(h->sock, m, fd);
}

static int bind_repair(struct helper *h, char *note, size_t notelen, char *err, size_t errlen);

/* ---- lock ---------------------------------------------------------- */

static void lock_holder(struct helper *h, int fd, char *buf, size_t n)
{
	ssize_t got = pread(fd, buf, n - 1, 0);

	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!buf[0])
		snprintf(buf, n, "another cutover run");
}

static struct flock whole_file(short type)
{
	return (struct flock){ .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
}

static int op_lock(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	uint64_t deadline = now_ns() + req->arg[0] * 1000000000ull;
	char holder[256], when[32], err[600];
	struct flock fl;
	time_t t;
	struct tm tm;
	int fd, r;

	if (req->arg[0] > 86400) {
		reply_init(rep, -EINVAL, "--wait must be at most 86400 seconds");
		return 0;
	}
	/* The first change of any run: only now is ROOT created or repaired. */
	layout_close(&h->l);
	r = layout_open(&h->l, &h->cfg, true, err, sizeof(err));
	if (r < 0) {
		reply_init(rep, r, "%s", err);
		return 0;
	}
	h->absent = false;
	fd = openat(h->l.meta_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* An open-file-description lock goes away with the last fd of its
	 * holder, so a crashed run can never leave the app locked; unlike
	 * flock, it can be tested without being taken (F_OFD_GETLK). */
	for (;;) {
		fl = whole_file(F_WRLCK);
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES) {
			close(fd);
			return -errno;
		}
		if (now_ns() >= deadline) {
			lock_holder(h, fd, holder, sizeof(holder));
			close(fd);
			reply_init(rep, -EBUSY, "%s is locked by %s", h->cfg.app, holder);
			return 0;
		}
		usleep(50 * 1000);
	}
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(holder, sizeof(holder), "pid %d (%s by %s, since %s)\n",
		 (int)getppid(), h->verb_name, h->who, when);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, holder, strlen(holder), 0) < 0) {
		close(fd);
		return -errno;
	}
	h->lock_fd = fd;
	if (h->cfg.mode == PUBLISH_BIND) {
		char note[640] = "";

		/* Every locked run starts from live as the record says: a
		 * crash of an earlier one is repaired before anything else. */
		r = bind_root_prepare(&h->l, &h->cfg, err, sizeof(err));
		if (r == 0)
			r = bind_probe(&h->l, &h->cfg, err, sizeof(err));
		if (r == 0 && strcmp(h->verb_name, "mount") != 0)
			r = bind_repair(h, note, sizeof(note), err, sizeof(err));
		if (r < 0) {
			reply_init(rep, r, "%s; run 'cutover mount %s' once the cause is fixed", err, h->cfg.app);
			return 0;
		}
		h->phase = PH_LOCKED;
		reply_init(rep, 0, "%s", note);
		return 0;
	}
	h->phase = PH_LOCKED;
	reply_init(rep, 0, NULL);
	return 0;
}

/* ---- staging ------------------------------------------------------- */

static int op_stage_begin(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	const char *label = req->text[0] ? req->text : NULL;
	char log[RELEASE_ID_MAX + 8];
	time_t t = time(NULL);
	int r, fd;

	if (label && !label_valid(label)) {
		reply_init(rep, -EINVAL, "--label may only hold letters, digits, '.', '_' and '-' (at most 40, starting with a letter or digit)");
		return 0;
	}
	r = release_recover(&h->l, "");
	if (r < 0) {
		reply_init(rep, r, "cannot clean up leftovers of an earlier run: %s", strerror(-r));
		return 0;
	}
	/* The placeholder in releases/ reserves the id; mkdir is atomic. */
	for (unsigned attempt = 1;; attempt++) {
		struct release_info old;

		if (attempt > 1000)
			return -EEXIST;
		r = release_id_format(h->id, sizeof(h->id), t, attempt, label);
		if (r < 0) {
			reply_init(rep, r, "label is too long for a release id");
			return 0;
		}
		if (state_read(&h->l, h->id, &old) == 0)
			continue;
		if (mkdirat(h->l.releases_fd, h->id, 0) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	h->info = (struct release_info){ .state = RELEASE_BUILDING, .created_ns = wall_ns() };
	str_copy(h->info.id, sizeof(h->info.id), h->id);
	r = state_write(&h->l, &h->info);
	if (r < 0)
		return r;
	h->phase = PH_STAGING;
	h->tree_fd = fs_ensure_dir(h->l.staging_fd, h->id, 0755, h->cfg.uid, h->cfg.gid);
	if (h->tree_fd < 0)
		return h->tree_fd;
	snprintf(log, sizeof(log), "%s.log", h->id);
	fd = openat(h->l.logs_fd, log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	reply_init(rep, 0, NULL);
	str_copy(rep->id, sizeof(rep->id), h->id);
	return send_msg(h, rep, h->tree_fd) < 0 ? -EPIPE : 1;
}

/* Splits "a/b/c" into a parent fd (created as needed with the given
 * owner) and the last component. */
static int open_parent(int base_fd, const char *rel, uid_t uid, gid_t gid, mode_t mode,
		       char *last, size_t n)
{
	char parent[512];
	const char *slash = strrchr(rel, '/');

	if (!slash) {
		if (str_copy(last, n, rel) < 0)
			return -ENAMETOOLONG;
		return fcntl(base_fd, F_DUPFD_CLOEXEC, 3) < 0 ? -errno :
		       fcntl(base_fd, F_DUPFD_CLOEXEC, 3);
	}
	if ((size_t)(slash - rel) >= sizeof(parent) || str_copy(last, n, slash + 1) < 0)
		return -ENAMETOOLONG;
	memcpy(parent, rel, (size_t)(slash - rel));
	parent[slash - rel] = '\0';
	return fs_ensure_path(base_fd, parent, mode, uid, gid);
}

/*
 * Links one shared entry into the release: ROOT/shared/REL is created on
 * first use (seeded from the release's own copy when it has one), the
 * release's REL is removed, and REL becomes a symlink to the shared path.
 */
static int link_one(struct helper *h, const char *rel, bool is_dir, char *err, size_t errlen)
{
	_cleanup_close_ int sp = -EBADF, rp = -EBADF, probe = -EBADF;
	char last[256], target[PATH_MAX];
	struct stat st;
	int r;

	r = str_printf(target, sizeof(target), "%s/shared/%s", h->cfg.root, rel);
	if (r < 0)
		return r;
	sp = open_parent(h->l.shared_fd, rel, 0, h->cfg.web_gid, 0751, last, sizeof(last));
	if (sp < 0) {
		snprintf(err, errlen, "cannot create the parent of shared/%s: %s", rel, strerror(-sp));
		return sp;
	}
	rp = open_parent(h->tree_fd, rel, h->cfg.uid, h->cfg.gid, 0755, last, sizeof(last));
	if (rp < 0) {
		snprintf(err, errlen, "cannot create the parent of %s in the release: %s", rel, strerror(-rp));
		return rp;
	}
	if (fstatat(sp, last, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		struct stat rs;
		bool seed = fstatat(rp, last, &rs, AT_SYMLINK_NOFOLLOW) == 0 &&
			    (is_dir ? S_ISDIR(rs.st_mode) : S_ISREG(rs.st_mode));

		if (errno != ENOENT && !seed)
			return -errno;
		/* First use: adopt the release's copy as the initial content. */
		if (seed && renameat(rp, last, sp, last) < 0)
			return -errno;
		if (!seed && is_dir && mkdirat(sp, last, 0) < 0)
			return -errno;
		probe = is_dir ? openat(sp, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
			openat(sp, last, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0);
		if (probe < 0)
			return -errno;
		/* Writable by the deploy user and the web group, nobody else. */
		if (fchown(probe, h->cfg.uid, h->cfg.web_gid) < 0 ||
		    fchmod(probe, is_dir ? 02770 : 0640) < 0)
			return -errno;
	} else if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/shared/%s exists but is not a %s", h->cfg.root, rel,
			 is_dir ? "directory" : "regular file");
		return -EEXIST;
	}
	r = fs_remove_tree(rp, last);
	if (r < 0)
		return r;
	if (h->cfg.mode == PUBLISH_BIND) {
		/* An empty mount point: each publish (and the build sandbox)
		 * mounts shared/REL there. */
		_cleanup_close_ int fd = -EBADF;

		if (is_dir)
			return mkdirat(rp, last, 0755) < 0 ? -errno : 0;
		fd = openat(rp, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		return fd < 0 ? -errno : 0;
	}
	if (symlinkat(target, rp, last) < 0)
		return -errno;
	return 0;
}

/*
 * The log both the web server (often umask 022) and the deploy user
 * (migrations, queue:restart) append to. When artisan cannot write it,
 * it cannot report its own failure and exits 0, so a failed migration
 * would pass: every file in storage/logs is made group-writable for
 * web_group, and laravel.log is created that way when missing.
 */
static int laravel_logs(struct helper *h, int storage)
{
	_cleanup_close_ int logs = -EBADF, fd = -EBADF;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int dfd;

	logs = fs_open_beneath(storage, "logs", O_RDONLY | O_DIRECTORY, 0);
	if (logs < 0)
		return logs;
	fd = openat(logs, "laravel.log", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0660);
	if (fd >= 0) {
		struct stat st;
		/* Best effort, like the loop below: a log we cannot fix only
		 * weakens the exit-status check, which is verified anyway. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == h->cfg.uid &&
		    st.st_gid != h->cfg.web_gid && fchown(fd, h->cfg.uid, h->cfg.web_gid) < 0)
			errno = 0;
	}
	dfd = fcntl(logs, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int f = -EBADF;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		f = openat(logs, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (st.st_gid != h->cfg.web_gid && fchown(f, (uid_t)-1, h->cfg.web_gid) < 0)
			continue;
		if ((st.st_mode & 0060) != 0060)
			(void)fchmod(f, (st.st_mode & 0777 & ~0007) | 0060);
	}
	return 0;
}

/* Laravel writes below storage/ at run time, as the web server's user:
 * the framework's directories exist and belong to the deploy user and
 * web_group, setgid so new files keep the group. */
static int laravel_storage(struct helper *h, char *err, size_t errlen)
{
	static const char *const dirs[] = {
		"framework", "framework/cache", "framework/cache/data", "framework/sessions",
		"framework/views", "logs", "app", "app/public",
	};
	_cleanup_close_ int storage = -EBADF;

	storage = fs_open_beneath(h->l.shared_fd, "storage", O_RDONLY | O_DIRECTORY, 0);
	if (storage < 0) {
		snprintf(err, errlen, "cannot open shared/storage: %s", strerror(-storage));
		return storage;
	}
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		int fd = fs_ensure_path(storage, dirs[i], 02770, h->cfg.uid, h->cfg.web_gid);
		if (fd < 0) {
			snprintf(err, errlen, "cannot set up shared/storage/%s: %s", dirs[i], strerror(-fd));
			return fd;
		}
		close(fd);
	}
	return laravel_logs(h, storage);
}

static int op_link_shared(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char err[512] = "";
	int r = 0;

	for (size_t i = 0; r == 0 && i < h->cfg.n_shared_dirs; i++)
		r = link_one(h, h->cfg.shared_dirs[i], true, err, sizeof(err));
	if (r == 0 && h->cfg.laravel_storage)
		r = laravel_storage(h, err, sizeof(err));
	for (size_t i = 0; r == 0 && i < h->cfg.n_shared_files; i++)
		r = link_one(h, h->cfg.shared_files[i], false, err, sizeof(err));
	if (r < 0) {
		reply_init(rep, r, "linking shared paths failed: %s", err[0] ? err : strerror(-r));
		return 0;
	}
	h->phase = PH_LINKED;
	reply_init(rep, 0, NULL);
	return 0;
}

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

static const char *live_name(const struct helper *h)
{
	return strrchr(h->cfg.live, '/') + 1;
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

/*
 * Runs command (with $1.. from args) in the build sandbox on the release
 * being staged, streaming its output to the front end and the build log,
 * and replies with its exit code, or -ETIMEDOUT. -ECONNRESET if the front
 * end went away (the step is killed first).
 */
static int run_sandboxed(struct helper *h, const char *id, int tree_fd, bool shared_rw,
			 const char *title, const char *command,
			 char *const *args, const char *const *extra_env, struct proto_msg *rep)
{
	char *env[CONFIG_MAX_LIST + 16];
	char envstore[256], mount_path[PATH_MAX], log[RELEASE_ID_MAX + 8];
	_cleanup_(bind_spec_close) struct bind_spec bs = { .frozen = -EBADF };
	bool bind = h->cfg.mode == PUBLISH_BIND;
	_cleanup_close_ int mp = -EBADF, logfd = -EBADF, rd = -EBADF;
	int pipefd[2], status = 0, r;
	uint64_t deadline;
	struct sandbox_spec spec;
	struct build_cgroup cg = { 0 };
	struct proto_msg out;
	struct statfs sfs;
	unsigned long long avail0 = 0;
	enum { END_EXITED, END_TIMEOUT, END_PEER_GONE, END_DISK } end = END_EXITED;
	pid_t pid;

	r = build_env(h, id, env, ELEMENTSOF(env), envstore, sizeof(envstore), extra_env);
	if (r < 0)
		return r;
	char shared_path[PATH_MAX];

	if (bind)
		r = str_copy(mount_path, sizeof(mount_path), h->cfg.live);
	else
		r = str_printf(mount_path, sizeof(mount_path), "%s/releases/%s", h->cfg.root, id);
	if (r == 0)
		r = str_printf(shared_path, sizeof(shared_path), "%s/shared", h->cfg.root);
	if (r < 0)
		return r;
	if (bind) {
		/* The top of whatever is mounted at live: the same mount root
		 * is what the sandbox's copy of our namespace has there. */
		mp = openat(h->l.root_fd, live_name(h), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (mp < 0)
			return -errno;
		r = bind_spec_open(h, id, tree_fd, &bs);
		if (r < 0)
			return r;
	} else {
		mp = fs_open_beneath(h->l.releases_fd, id, O_PATH | O_DIRECTORY, 0);
		if (mp < 0)
			return mp;
	}
	snprintf(log, sizeof(log), "%s.log", id);
	logfd = openat(h->l.logs_fd, log, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (logfd >= 0) {
		(void)write_all(logfd, "== ", 3);
		(void)write_all(logfd, title, strlen(title));
		(void)write_all(logfd, "\n", 1);
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	rd = pipefd[0];
	spec = (struct sandbox_spec){
		.tree_fd = bind && tree_fd < 0 ? bs.frozen : tree_fd, .tree_readonly = bind && tree_fd < 0,
		.app_root = h->cfg.root, .mount_path = mount_path, .mount_point_fd = mp,
		.shared_fd = shared_rw && !bind ? h->l.shared_fd : -1, .shared_path = shared_path,
		.binds = bs.binds, .n_binds = bs.n, .binds_writable = shared_rw,
		/* A frozen release is readable by web_group only: migrations
		 * and hooks, which run in one, get that group to read it. */
		.extra_gid = tree_fd < 0 ? h->cfg.web_gid : 0,
		.uid = h->cfg.uid, .gid = h->cfg.gid, .env = env,
		.command = command, .args = args,
		.fsize_limit = h->cfg.max_size,
		.max_procs = h->cfg.max_procs, .max_memory = h->cfg.max_memory,
	};
	r = sandbox_start(&spec, pipefd[1], &pid, &cg);
	close(pipefd[1]);
	if (r < 0) {
		reply_init(rep, r, "cannot start the build sandbox: %s", strerror(-r));
		return 0;
	}
	deadline = now_ns() + (uint64_t)h->cfg.build_timeout * 1000000000ull;
	/* The disk budget: what the filesystem of the release lost since the
	 * step started (other writers count too, so it errs on the safe side). */
	if (fstatfs(h->l.releases_fd, &sfs) == 0)
		avail0 = (unsigned long long)sfs.f_bavail * (unsigned long long)sfs.f_bsize;
	for (;;) {
		struct pollfd p[2] = { { rd, POLLIN, 0 }, { h->sock, POLLIN, 0 } };
		uint64_t now = now_ns();
		int timeout = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);

		if (timeout > DISK_CHECK_MS)
			timeout = DISK_CHECK_MS;
		if (avail0 && fstatfs(h->l.releases_fd, &sfs) == 0) {
			unsigned long long avail = (unsigned long long)sfs.f_bavail * (unsigned long long)sfs.f_bsize;
			if (avail0 > avail && avail0 - avail > h->cfg.max_size) {
				end = END_DISK;
				break;
			}
		}
		r = poll(p, 2, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			if (now_ns() >= deadline) {
				end = END_TIMEOUT;
				break;
			}
			continue;
		}
		if (p[1].revents) {
			/* The front end never speaks during a step: this is its
			 * exit (EOF) or a protocol violation. Stop the step. */
			end = END_PEER_GONE;
			break;
		}
		if (p[0].revents) {
			ssize_t n;

			proto_init(&out, OP_OUTPUT);
			n = read(rd, out.text, sizeof(out.text) - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;   /* every writer is gone: the namespace is dead */
			out.len = (uint32_t)n;
			if (logfd >= 0)
				(void)write_all(logfd, out.text, (size_t)n);
			if (send_msg(h, &out, -1) < 0) {
				end = END_PEER_GONE;
				break;
			}
		}
	}
	if (end != END_EXITED)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cgroup_destroy(&cg);
	switch (end) {
	case END_PEER_GONE:
		return -ECONNRESET;
	case END_TIMEOUT:
		reply_init(rep, -ETIMEDOUT, "timed out after %u s (timeout = in [build])", h->cfg.build_timeout);
		return 0;
	case END_DISK:
		reply_init(rep, -EFBIG, "was stopped after writing more than max_size = %llu bytes to disk ([build] max_size)",
			   h->cfg.max_size);
		return 0;
	case END_EXITED:
		break;
	}
	reply_init(rep, 0, NULL);
	rep->arg[0] = WIFEXITED(status) ? (uint64_t)WEXITSTATUS(status) : 128;
	return 0;
}

static int op_run_step(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
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
 * A git+URL#REF source, fetched as the deploy user inside the build
 * sandbox: the release is only reachable by path there (.cutover/ is
 * root-only), and git needs a path. URL and REF are validated here again
 * and reach git as positional parameters, never as shell code.
 */
static int op_fetch_git(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	static const char script[] =
		"set -e\n"
		"git init -q\n"
		"git fetch -q --no-tags --depth 1 -- \"$1\" \"$2\"\n"
		"git -c advice.detachedHead=false checkout -q --detach FETCH_HEAD --\n"
		"rm -rf .git\n";
	static const char *const git_env[] = {
		"GIT_TERMINAL_PROMPT=0", "GIT_DIR=.git",
		/* ext:: and fd:: run commands */
		"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh", NULL,
	};
	/* Through sudo the caller may publish only what it can read itself:
	 * a local repository would be read with the deploy user's rights. */
	static const char *const git_env_remote[] = {
		"GIT_TERMINAL_PROMPT=0", "GIT_DIR=.git",
		"GIT_ALLOW_PROTOCOL=git:http:https:ssh", NULL,
	};
	bool via_sudo = strcmp(h->who, "root") != 0;
	char buf[PROTO_TEXT_SIZE], *hash;
	char *args[3];
	const char *problem;

	if (h->git_fetched)
		return -EPROTO;
	h->git_fetched = true;
	str_copy(buf, sizeof(buf), req->text);
	hash = strchr(buf, '#');
	if (!hash)
		return -EPROTO;
	*hash = '\0';
	problem = git_url_problem(buf);
	if (!problem)
		problem = git_ref_problem(hash + 1);
	if (!problem && via_sudo && (strncmp(buf, "file:", 5) == 0 || !strchr(buf, ':')))
		problem = "a local repository is refused through sudo: the deploy user, not you, would read it; "
			  "use an archive or a remote URL";
	if (problem) {
		reply_init(rep, -EINVAL, "git source: %s", problem);
		return 0;
	}
	args[0] = buf;
	args[1] = hash + 1;
	args[2] = NULL;
	return run_sandboxed(h, h->id, h->tree_fd, false, "git fetch", script, args,
			     via_sudo ? git_env_remote : git_env, rep);
}

/*
 * Database migrations, after the freeze and before the switch (new schema
 * first, then new code): the frozen release read-only at its path, shared/
 * writable (a SQLite database lives there), as the deploy user.
 * arg[0] 0 runs [migrate] pretend, 1 runs [migrate] run; each once, in
 * that order when both are configured.
 */
static int op_migrate(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	static const char *const titles[] = { "migrate (pretend)", "migrate", "migrate (verify)" };
	unsigned what = (unsigned)req->arg[0];
	const char *cmd;

	/* 0 pretend, 1 run, 2 pretend again after the run (to verify that
	 * nothing is left pending: a failing artisan can exit 0). */
	if (strcmp(h->verb_name, "deploy") != 0 || what > 2)
		return -EPROTO;
	cmd = what == 1 ? h->cfg.migrate.run : h->cfg.migrate.pretend;
	if (!cmd[0] || (what == 0 && (h->pretended || h->migrated)) || (what == 1 && h->migrated) ||
	    (what == 2 && (!h->migrated || h->verified)))
		return -EPROTO;
	if (what == 0)
		h->pretended = true;
	else if (what == 1)
		h->migrated = true;
	else
		h->verified = true;
	return run_sandboxed(h, h->id, -1, true, titles[what], cmd, NULL, NULL, rep);
}

/*
 * [hooks]: arg[0] 0 = before_switch (this deploy's frozen release, before
 * it is published), 1 = after_switch (the release now live); arg[1] the
 * hook's index, in order, each once.
 */
static int op_hook(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	bool after = req->arg[0] == 1;
	size_t n = after ? h->cfg.n_after_switch : h->cfg.n_before_switch;
	size_t *next = &h->next_hook[after ? 1 : 0];
	char title[64];

	if (req->arg[0] > 1 || req->arg[1] != *next || *next >= n)
		return -EPROTO;
	if (after ? h->phase != PH_SWITCHED : (h->phase != PH_FROZEN || strcmp(h->verb_name, "deploy") != 0))
		return -EPROTO;
	snprintf(title, sizeof(title), "%s hook %zu", after ? "after_switch" : "before_switch", *next + 1);
	(*next)++;
	return run_sandboxed(h, after ? h->published : h->id, -1, true, title,
			     after ? h->cfg.after_switch[*next - 1] : h->cfg.before_switch[*next - 1],
			     NULL, NULL, rep);
}

/* ---- freeze -------------------------------------------------------- */

static int op_freeze(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char tmp[RELEASE_ID_MAX + 16], man[RELEASE_ID_MAX + 16], err[600];
	_cleanup_close_ int mfd = -EBADF;
	struct freeze_stats st = { 0 };
	int r;

	if (h->next_step != h->cfg.n_build_run)
		return -EPROTO;
	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_check_mount_points(h->tree_fd, &h->cfg, err, sizeof(err));
		if (r < 0) {
			reply_init(rep, r, "%s", err);
			return 0;
		}
	}
	snprintf(tmp, sizeof(tmp), ".%s.sha256.tmp", h->id);
	snprintf(man, sizeof(man), "%s.sha256", h->id);
	(void)unlinkat(h->l.manifest_fd, tmp, 0);
	mfd = openat(h->l.manifest_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mfd < 0)
		return -errno;
	char shared_prefix[PATH_MAX];

	r = str_printf(shared_prefix, sizeof(shared_prefix), "%s/shared/", h->cfg.root);
	if (r < 0)
		return r;
	r = freeze_tree(h->tree_fd, h->cfg.web_gid, shared_prefix, mfd, &st, err, sizeof(err));
	if (r < 0) {
		(void)unlinkat(h->l.manifest_fd, tmp, 0);
		reply_init(rep, r, "%s", err);
		return 0;
	}
	if (st.bytes > h->cfg.max_size || st.files + st.dirs + st.symlinks > h->cfg.max_files) {
		(void)unlinkat(h->l.manifest_fd, tmp, 0);
		reply_init(rep, -EFBIG, "the built release holds %llu bytes in %llu entries, more than max_size/max_files in [build] allow",
			   st.bytes, st.files + st.dirs + st.symlinks);
		return 0;
	}
	if (fsync(mfd) < 0 || renameat(h->l.manifest_fd, tmp, h->l.manifest_fd, man) < 0)
		return -errno;
	/* The frozen tree replaces its empty placeholder in releases/ in one
	 * rename; only then is it recorded as frozen. A crash in between
	 * leaves state "building", which the next run cleans up. */
	if (renameat(h->l.staging_fd, h->id, h->l.releases_fd, h->id) < 0)
		return -errno;
	if (fsync(h->l.releases_fd) < 0)
		return -errno;
	h->info.state = RELEASE_FROZEN;
	h->info.bytes = st.bytes;
	h->info.files = st.files;
	r = state_write(&h->l, &h->info);
	if (r < 0)
		return r;
	h->phase = PH_FROZEN;
	reply_init(rep, 0, NULL);
	rep->arg[0] = st.bytes;
	rep->arg[1] = st.files;
	str_copy(rep->id, sizeof(rep->id), h->id);
	return 0;
}

static int abort_staging(struct helper *h, bool keep_failed)
{
	int r;

	/* A deploy may also abandon its release after the freeze, when the
	 * pre-switch check fails: it was never published. */
	if (h->phase == PH_FROZEN && strcmp(h->verb_name, "deploy") == 0) {
		h->phase = PH_DONE;
		return release_remove(&h->l, h->id);
	}
	if (h->phase != PH_STAGING && h->phase != PH_LINKED)
		return 0;
	h->phase = PH_DONE;
	if (keep_failed && renameat(h->l.staging_fd, h->id, h->l.failed_fd, h->id) == 0) {
		(void)unlinkat(h->l.releases_fd, h->id, AT_REMOVEDIR);
		h->info.state = RELEASE_FAILED;
		r = state_write(&h->l, &h->info);
		return r < 0 ? r : 1;
	}
	r = release_remove(&h->l, h->id);
	return r;
}

static int op_abort(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	int r = abort_staging(h, req->arg[0] == 1);

	if (r < 0)
		reply_init(rep, r, "cleaning up release %s failed: %s", h->id, strerror(-r));
	else
		reply_init(rep, 0, "%s", r == 1 ? "kept" : "removed");
	return 0;
}

/* ---- mode = bind ---------------------------------------------------- */

/* Makes PHP-FPM's mount namespace show id at live too, if [fpm] names a
 * running, genuine master. Not running (at boot) or not trusted: nothing
 * to do here; the reload, which must find it, says why. */
static int bind_sync_fpm(struct helper *h, const char *id, struct bind_actions *a, char *err, size_t errlen)
{
	struct fpm_master m = FPM_MASTER_INIT;
	char why[600];
	int r;

	if (!h->cfg.fpm.enabled || !h->cfg.fpm.pid_file[0])
		return 0;
	if (fpm_master_open(&h->cfg.fpm, &m, why, sizeof(why)) < 0)
		return 0;
	r = bind_fpm_sync(&h->l, &h->cfg, &m, id, a, err, errlen);
	fpm_master_close(&m);
	return r;
}

/* Converges live in our namespace to id, and checks the result. */
static int bind_here(struct helper *h, const char *id, struct bind_actions *a, char *err, size_t errlen)
{
	_cleanup_close_ int tree = -EBADF;
	struct live_stack s;
	char why[300];
	int r;

	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the mount table: %s", strerror(-r));
		return r;
	}
	if (bind_stack_check(&s, id, why, sizeof(why)) == 0)
		return 0;
	tree = bind_tree_make(&h->l, &h->cfg, id, err, errlen);
	if (tree < 0)
		return tree;
	r = bind_converge(&h->l, &h->cfg, &s, id, tree, a, err, errlen);
	if (r < 0)
		return r;
	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r == 0)
		r = bind_stack_check(&s, id, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "after mounting release %s at %s: %s", id, h->cfg.live, r == -EUCLEAN ? why : strerror(-r));
	return r;
}

/*
 * Brings live, here and in PHP-FPM's namespace, to the release recorded in
 * ROOT/current: after a crash between the steps of a publish (see
 * bind_publish), at boot (cutover mount), after someone unmounted it. Says
 * in note what it did. Nothing recorded, or the record unusable: live is
 * left as it is (a switch replaces both).
 */
static int bind_repair(struct helper *h, char *note, size_t notelen, char *err, size_t errlen)
{
	char cur[RELEASE_ID_MAX + 1] = "";
	struct bind_actions a = { 0 };
	struct release_info ri;
	int r;

	note[0] = '\0';
	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0 || !cur[0]) {
		snprintf(note, notelen, r < 0 ? "%s/current is not a symlink to releases/<id>; %s left as it is" :
			 "nothing deployed yet", h->cfg.root, h->cfg.live);
		return 0;
	}
	if (state_read(&h->l, cur, &ri) < 0 || ri.state != RELEASE_FROZEN) {
		snprintf(note, notelen, "the current release %s is not frozen; %s left as it is", cur, h->cfg.live);
		return 0;
	}
	r = bind_here(h, cur, &a, err, errlen);
	if (r == 0)
		r = bind_sync_fpm(h, cur, &a, err, errlen);
	if (r < 0)
		return r;
	h->repair = a;
	if (a.unstacked || a.attached || a.entered) {
		char what[160] = "";

		if (a.unstacked)
			snprintf(what, sizeof(what), "%u stacked mount%s removed", a.unstacked, a.unstacked == 1 ? "" : "s");
		if (a.attached)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%srelease mounted", what[0] ? ", " : "");
		if (a.entered)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), "%salso in php-fpm's mount namespace",
				 what[0] ? ", " : "");
		snprintf(note, notelen, "%s now serves %s (repaired: %s)", h->cfg.live, cur, what);
	} else
		snprintf(note, notelen, "%s serves %s", h->cfg.live, cur);
	return 0;
}

/*
 * mode = bind. The record first, then the mount: ROOT/current names the
 * new release (rename, fsync) before live shows it, and the repair at the
 * start of every locked run (and cutover mount) makes live follow the
 * record. A crash after the record leaves live on the old release, or on
 * both stacked (the new one beneath the old), and the next run finishes
 * the swap; at every point live shows the old tree or the new one. The
 * tree is made before the record, so that most failures change nothing.
 * Returns 1 when published; 0 or -errno with the error in rep.
 */
static int bind_publish(struct helper *h, const char *id, const char *cur, uint64_t *ret_visible_ns,
			uint64_t *ret_total_ns, char *partial, size_t partial_len, struct proto_msg *rep)
{
	_cleanup_close_ int tree = -EBADF;
	struct bind_actions a = { 0 };
	struct live_stack s;
	uint64_t t0 = now_ns(), vis, dur;
	char err[700], why[300];
	int r;

	tree = bind_tree_make(&h->l, &h->cfg, id, err, sizeof(err));
	if (tree < 0) {
		reply_init(rep, tree, "%s", err);
		return 0;
	}
	r = bind_stack_read(&h->l, &h->cfg, 0, &s);
	if (r < 0)
		return r;
	r = current_publish(&h->l, id, &vis, &dur);
	if (r < 0)
		return r;
	r = bind_converge(&h->l, &h->cfg, &s, id, tree, &a, err, sizeof(err));
	if (r < 0 && !a.attached) {
		/* Nothing became visible: the record goes back as it was. */
		if (cur[0])
			(void)current_publish(&h->l, cur, &vis, &dur);
		else
			(void)unlinkat(h->l.root_fd, "current", 0);
		reply_init(rep, r, "%s", err);
		return 0;
	}
	if (r == 0) {
		r = bind_stack_read(&h->l, &h->cfg, 0, &s);
		if (r == 0)
			r = bind_stack_check(&s, id, why, sizeof(why));
		if (r < 0)
			snprintf(err, sizeof(err), "after the swap, %s: %s", h->cfg.live, r == -EUCLEAN ? why : strerror(-r));
	}
	if (r == 0)
		r = bind_sync_fpm(h, id, &a, err, sizeof(err));
	h->fpm_entered = a.entered;
	*ret_visible_ns = a.visible_ns;
	*ret_total_ns = now_ns() - t0;
	if (r < 0)
		/* Recorded and at least partly live: not "unchanged". */
		snprintf(partial, partial_len, "release %s is recorded as current, but %s; run 'cutover mount %s' to finish",
			 id, err, h->cfg.app);
	return 1;
}

/* ---- switch, rollback, prune --------------------------------------- */

static int do_switch(struct helper *h, const char *verb, const char *id,
		     const char *source, uint64_t ms, struct proto_msg *rep)
{
	_cleanup_close_ int fd = -EBADF;
	char cur[RELEASE_ID_MAX + 1], partial[900] = "";
	struct release_info ri;
	uint64_t visible_ns = 0, durable_ns = 0;
	struct stat st;
	int r;

	if (!release_id_valid(id))
		return -EINVAL;
	r = state_read(&h->l, id, &ri);
	if (r < 0 || ri.state != RELEASE_FROZEN) {
		reply_init(rep, -ENOENT, "release %s is not a frozen release of %s; run 'cutover list %s' to see the releases",
			   id, h->cfg.app, h->cfg.app);
		return 0;
	}
	fd = fs_open_beneath(h->l.releases_fd, id, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0222)) {
		reply_init(rep, -EUCLEAN, "releases/%s is missing or no longer frozen (not root-owned read-only); refusing to publish it", id);
		return 0;
	}
	r = current_read(&h->l, cur, sizeof(cur));
	if (r == -EUCLEAN) {
		reply_init(rep, r, "%s/current is not a symlink to releases/<id>; refusing to replace it (move it away by hand)", h->cfg.root);
		return 0;
	}
	if (r < 0)
		return r;
	if (strcmp(cur, id) == 0) {
		reply_init(rep, -EALREADY, "release %s is already current", id);
		return 0;
	}
	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_publish(h, id, cur, &visible_ns, &durable_ns, partial, sizeof(partial), rep);
		if (r <= 0)
			return r;   /* nothing published; the error is in rep */
	} else {
		r = current_publish(&h->l, id, &visible_ns, &durable_ns);
		if (r < 0)
			return r;
	}
	h->phase = PH_SWITCHED;
	str_copy(h->published, sizeof(h->published), id);
	/* A new release is live: its after_switch hooks run from the start. */
	h->next_hook[1] = 0;
	r = history_append(&h->l, verb, cur, id, h->who, source, ms);
	if (partial[0])
		reply_init(rep, -EXDEV, "%s", partial);
	else
		reply_init(rep, 0, r < 0 ? "warning: history not recorded" : NULL);
	str_copy(rep->id, sizeof(rep->id), id);
	str_copy(rep->id2, sizeof(rep->id2), cur);
	rep->arg[1] = visible_ns;
	rep->arg[2] = durable_ns;
	rep->arg[3] = h->fpm_entered;
	return 0;
}

static int op_switch(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	if (strcmp(h->verb_name, "deploy") == 0 &&
	    (h->phase != PH_FROZEN || strcmp(req->id, h->id) != 0))
		return -EPROTO;
	return do_switch(h, strcmp(h->verb_name, "deploy") == 0 ? "deploy" : "switch",
			 req->id, req->text, req->arg[0], rep);
}

static int op_rollback(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1], prev[RELEASE_ID_MAX + 1];
	int r;

	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0 || !cur[0]) {
		reply_init(rep, r < 0 ? r : -ENOENT, "%s has no current release to roll back from", h->cfg.app);
		return 0;
	}
	/* Within a deploy, only the automatic rollback of the release this
	 * run published, to the one it replaced. */
	if (strcmp(h->verb_name, "deploy") == 0 &&
	    (req->id[0] || strcmp(cur, h->id) != 0 || h->rolled_back))
		return -EPROTO;
	h->rolled_back = true;
	if (req->id[0])
		return do_switch(h, "rollback", req->id, "rollback", 0, rep);
	r = previous_of(&h->l, cur, prev, sizeof(prev));
	if (r < 0)
		return r;
	if (!prev[0]) {
		reply_init(rep, -ENOENT, "release %s has no previous release to roll back to", cur);
		return 0;
	}
	return do_switch(h, "rollback", prev, "rollback", 0, rep);
}

/* mode = bind: is release id mounted in some process's mount table? */
static bool mounted_somewhere(char (*mounted)[RELEASE_ID_MAX + 1], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mounted[i], id) == 0)
			return true;
	return false;
}

static int op_prune(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ char (*mounted)[RELEASE_ID_MAX + 1] = NULL;
	size_t n_mounted = 0;
	_cleanup_free_ struct release_info *v = NULL;
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "";
	unsigned long long keep, freed = 0, removed = 0, frozen_seen = 0;
	size_t n = 0;
	int r;

	if (strcmp(h->verb_name, "deploy") == 0) {
		if (h->phase != PH_SWITCHED)
			return -EPROTO;
		keep = h->cfg.keep;
	} else {
		keep = req->arg[0];
		if (keep < 1 || keep > 1000) {
			reply_init(rep, -EINVAL, "--keep must be from 1 to 1000");
			return 0;
		}
	}
	r = release_recover(&h->l, "");
	if (r < 0)
		return r;
	r = current_read(&h->l, cur, sizeof(cur));
	if (r < 0) {
		reply_init(rep, r, "%s/current is not a symlink to releases/<id>; not pruning anything", h->cfg.root);
		return 0;
	}
	r = previous_of(&h->l, cur, prev, sizeof(prev));
	if (r < 0)
		return r;
	r = release_list(&h->l, &v, &n);
	if (r < 0)
		return r;
	/* A release some namespace still has mounted (php-fpm's, before it
	 * caught up; a process that entered one) is in use: kept. */
	if (h->cfg.mode == PUBLISH_BIND) {
		r = bind_mounted_releases(&h->l, &mounted, &n_mounted);
		if (r < 0) {
			reply_init(rep, r, "cannot tell which releases are mounted: %s; not pruning anything", strerror(-r));
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct proto_msg e;

		if (v[i].state == RELEASE_FROZEN && ++frozen_seen <= keep)
			continue;
		if (strcmp(v[i].id, cur) == 0 || strcmp(v[i].id, prev) == 0 ||
		    strcmp(v[i].id, h->id) == 0 || mounted_somewhere(mounted, n_mounted, v[i].id))
			continue;
		r = release_remove(&h->l, v[i].id);
		if (r < 0) {
			reply_init(rep, r, "removing release %s failed: %s", v[i].id, strerror(-r));
			return 0;
		}
		freed += v[i].bytes;
		removed++;
		proto_init(&e, OP_ENTRY);
		str_copy(e.id, sizeof(e.id), v[i].id);
		e.arg[0] = v[i].bytes;
		e.arg[3] = v[i].state;
		if (send_msg(h, &e, -1) < 0)
			return -EPIPE;
	}
	reply_init(rep, 0, NULL);
	rep->arg[0] = freed;
	rep->arg[1] = removed;
	return 0;
}

/* ---- PHP-FPM ------------------------------------------------------- */

/* Sends the contents of a memfd to the front end as OUTPUT messages. */
static int forward_memfd(struct helper *h, int fd)
{
	struct proto_msg out;
	off_t off = 0;
	ssize_t n;

	for (;;) {
		proto_init(&out, OP_OUTPUT);
		n = pread(fd, out.text, sizeof(out.text) - 1, off);
		if (n <= 0)
			return n < 0 ? -errno : 0;
		off += n;
		out.len = (uint32_t)n;
		if (send_msg(h, &out, -1) < 0)
			return -EPIPE;
	}
}

/* The first line of php-fpm's output that says ERROR (it names the file
 * and line), else the last line, for one-line messages. */
static void memfd_error_line(int fd, char *buf, size_t n)
{
	char tmp[8192], *line, *end;
	ssize_t got = pread(fd, tmp, sizeof(tmp) - 1, 0);

	tmp[got > 0 ? got : 0] = '\0';
	while (got > 0 && (tmp[got - 1] == '\n' || tmp[got - 1] == ' '))
		tmp[--got] = '\0';
	line = strstr(tmp, "ERROR: ");
	if (line) {
		line += 7;
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
	} else {
		line = strrchr(tmp, '\n');
		line = line ? line + 1 : tmp;
	}
	str_escape(buf, n, line, strlen(line));
}

/* Opens and verifies the master, and tests its configuration; output of
 * the test goes to a memfd the caller may forward. */
static int fpm_prepare(struct helper *h, struct fpm_master *m, int *ret_memfd, struct proto_msg *rep)
{
	char err[600];
	int memfd, r;

	if (!h->cfg.fpm.pid_file[0]) {
		reply_init(rep, -EINVAL, "[fpm] pid_file is not set in %s", h->cfg.path);
		return -EINVAL;
	}
	r = fpm_master_open(&h->cfg.fpm, m, err, sizeof(err));
	if (r < 0) {
		reply_init(rep, r, "%s", err);
		return r;
	}
	memfd = memfd_create("php-fpm-test", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	r = fpm_master_test(m, memfd, 20);
	*ret_memfd = memfd;
	if (r != 0) {
		char last[300];
		memfd_error_line(memfd, last, sizeof(last));
		/* -EIO: the pool is genuine but its configuration is broken
		 * (exit 1); the other errors mean we could not trust the pid
		 * file at all (exit 2). */
		reply_init(rep, -EIO, "php-fpm -t of %s failed (%s): %s", m->config,
			   r < 0 ? strerror(-r) : "configuration invalid", last);
		return -EIO;
	}
	return 0;
}

static int op_fpm_inspect(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF;
	int r;

	r = fpm_prepare(h, &m, &memfd, rep);
	if (memfd >= 0 && forward_memfd(h, memfd) < 0) {
		fpm_master_close(&m);
		return -EPIPE;
	}
	if (r == 0) {
		reply_init(rep, 0, "%s", m.config);
		rep->arg[0] = (uint64_t)m.pid;
	}
	fpm_master_close(&m);
	return 0;
}

static int op_fpm_reload(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF;
	struct fpm_reload_result res = { 0 };
	int r;

	if (h->phase != PH_SWITCHED || h->cfg.fpm.reload != FPM_RELOAD_GRACEFUL)
		return -EPROTO;
	/* Never signal a master whose configuration does not load: the
	 * re-exec would fail and take the whole pool down. */
	r = fpm_prepare(h, &m, &memfd, rep);
	if (r < 0) {
		fpm_master_close(&m);
		if (r == -EIO && rep->text[0])
			snprintf(rep->text + strlen(rep->text), sizeof(rep->text) - strlen(rep->text),
				 "; reload refused, the pool keeps serving");
		rep->len = (uint32_t)strlen(rep->text);
		return 0;
	}
	r = fpm_master_reload(&h->cfg.fpm, &m, req->arg[0] == 1, h->cfg.fpm.timeout, &res);
	fpm_master_close(&m);
	if (r == -ESRCH)
		reply_init(rep, r, "php-fpm did not come back after the reload signal: no master runs with %s (see its error log)",
			   m.config);
	else if (r < 0)
		reply_init(rep, r, "the php-fpm reload did not complete within %u s (%u old children, %s, %u new)",
			   h->cfg.fpm.timeout, res.old_children,
			   res.old_gone_ns ? "all gone" : "some still running", res.new_children);
	else
		reply_init(rep, 0, NULL);
	rep->arg[0] = res.old_gone_ns;
	rep->arg[1] = res.new_child_ns;
	rep->arg[2] = (uint64_t)res.old_children | ((uint64_t)res.new_children << 32);
	return 0;
}

/* Where the opcache reset script lives: next to this binary. It is never
 * under a docroot, and it must be root-owned like the helper itself. */
static int opcache_script(char *buf, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len <= 0)
		return -errno;
	self[len] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return str_printf(buf, n, "%s/opcache-reset.php", self);
}

static int op_fpm_request(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct fcgi_address addr;
	char docroot[PATH_MAX], uri[1024], script[PATH_MAX], err[300];
	const char *host = NULL;
	int r;

	if (!h->cfg.fpm.socket[0]) {
		reply_init(rep, -EINVAL, "[fpm] socket is not set in %s", h->cfg.path);
		return 0;
	}
	r = fcgi_address_parse(h->cfg.fpm.socket, &addr);
	if (r < 0) {
		reply_init(rep, r, "[fpm] socket = %s is not a usable address", h->cfg.fpm.socket);
		return 0;
	}
	switch (req->arg[0]) {
	case FPM_REQ_STATUS:
		if (!h->cfg.fpm.status_path[0]) {
			reply_init(rep, -EINVAL, "[fpm] status_path is not set");
			return 0;
		}
		r = str_printf(uri, sizeof(uri), "%s?full", h->cfg.fpm.status_path);
		if (r == 0)
			r = fcgi_cgi_params_new("/", uri, NULL, &p);
		break;
	case FPM_REQ_PRECHECK: {
		const char *path;

		if (!release_id_valid(req->id) || !h->cfg.health.url[0])
			return -EPROTO;
		/* Only this run's own frozen release, before it is published;
		 * never in mode = bind, where it has no path of its own. */
		if (strcmp(h->verb_name, "deploy") != 0 || h->phase != PH_FROZEN ||
		    strcmp(req->id, h->id) != 0 || h->cfg.mode == PUBLISH_BIND)
			return -EPROTO;
		r = str_printf(docroot, sizeof(docroot), "%s/releases/%s/%s", h->cfg.root, req->id, h->cfg.docroot);
		if (r < 0)
			return r;
		path = strstr(h->cfg.health.url, "://");
		path = path ? strchr(path + 3, '/') : NULL;
		if (!path)
			path = "/";
		if (str_copy(uri, sizeof(uri), path) < 0)
			return -ENAMETOOLONG;
		host = h->cfg.health.host[0] ? h->cfg.health.host : NULL;
		/* Every request goes to the front controller, as nginx's
		 * try_files would send it; REQUEST_URI and QUERY_STRING carry
		 * the health URL's path and query for the app's router. */
		r = fcgi_cgi_params_new(docroot, "/index.php", host, &p);
		if (r == 0) {
			char *q = strchr(uri, '?');
			for (size_t i = 0; i < p->n_params; i++) {
				if (strcmp(p->params[i].name, "REQUEST_URI") == 0)
					p->params[i].value = uri;
				else if (strcmp(p->params[i].name, "QUERY_STRING") == 0)
					p->params[i].value = q ? q + 1 : "";
			}
		}
		break;
	}
	case FPM_REQ_OPCACHE_RESET:
		r = opcache_script(script, sizeof(script));
		if (r == 0) {
			char *slash = strrchr(script, '/');
			*slash = '\0';
			r = str_printf(uri, sizeof(uri), "/%s", slash + 1);
			if (r == 0)
				r = fcgi_cgi_params_new(script, uri, NULL, &p);
		}
		break;
	case FPM_REQ_PROBE:
		r = fcgi_cgi_params_new("/nonexistent-cutover-probe", "/probe.php", NULL, &p);
		break;
	default:
		return -EPROTO;
	}
	if (r < 0) {
		reply_init(rep, r, "cannot build the FastCGI request: %s", strerror(-r));
		return 0;
	}
	fd = fcgi_address_connect(&addr, h->cfg.fpm.timeout * 1000);
	if (fd < 0) {
		reply_init(rep, fd, "cannot connect to php-fpm at %s: %s", h->cfg.fpm.socket, strerror(-fd));
		return 0;
	}
	/* The front end only reads the answer: the request is ours, and the
	 * write side is shut before the socket leaves this process, so the
	 * deploy user can never make the pool run a script of its choosing. */
	r = fcgi_send_request(fd, p->params, p->n_params, NULL, 0, h->cfg.fpm.timeout * 1000);
	if (r == 0 && shutdown(fd, SHUT_WR) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, sizeof(err), "%s", strerror(-r));
		reply_init(rep, r, "sending the FastCGI request to %s failed: %s", h->cfg.fpm.socket, err);
		return 0;
	}
	reply_init(rep, 0, NULL);
	return send_msg(h, rep, fd) < 0 ? -EPIPE : 1;
}

/* ---- read-only ----------------------------------------------------- */

static int op_list(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ struct release_info *v = NULL;
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "";
	size_t n = 0;
	int r;

	if (h->absent) {
		proto_init(rep, OP_END);
		return 0;
	}
	(void)current_read(&h->l, cur, sizeof(cur));
	(void)previous_of(&h->l, cur, prev, sizeof(prev));
	r = release_list(&h->l, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct proto_msg e;

		proto_init(&e, OP_ENTRY);
		str_copy(e.id, sizeof(e.id), v[i].id);
		e.arg[0] = v[i].created_ns;
		e.arg[1] = v[i].bytes;
		e.arg[2] = v[i].files;
		e.arg[3] = v[i].state |
			   (strcmp(v[i].id, cur) == 0 ? RELEASE_FLAG_CURRENT : 0) |
			   (strcmp(v[i].id, prev) == 0 ? RELEASE_FLAG_PREVIOUS : 0);
		if (send_msg(h, &e, -1) < 0)
			return -EPIPE;
	}
	proto_init(rep, OP_END);
	return 0;
}

static int op_status(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1] = "", prev[RELEASE_ID_MAX + 1] = "";
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (h->absent) {
		reply_init(rep, 0, NULL);
		rep->arg[0] = h->cfg.mode;
		rep->arg[1] = 1;   /* not set up yet */
		return 0;
	}
	if (h->cfg.mode == PUBLISH_BIND) {
		struct live_stack s;
		struct proto_msg e;

		proto_init(&e, OP_ENTRY);
		if (bind_stack_read(&h->l, &h->cfg, 0, &s) == 0) {
			const struct live_mount *top = s.n ? &s.m[s.n - 1] : NULL;

			e.arg[0] = s.n;
			e.arg[1] = s.root_shared;
			if (top) {
				str_copy(e.id, sizeof(e.id), top->release);
				snprintf(e.text, sizeof(e.text), "%s\t%s", top->options, top->root);
			}
		}
		if (send_msg(h, &e, -1) < 0)
			return -EPIPE;
	}
	r = current_read(&h->l, cur, sizeof(cur));
	reply_init(rep, 0, NULL);
	if (r == -EUCLEAN)
		rep->status = -EUCLEAN;
	(void)previous_of(&h->l, cur, prev, sizeof(prev));
	str_copy(rep->id, sizeof(rep->id), cur);
	str_copy(rep->id2, sizeof(rep->id2), prev);
	rep->arg[0] = h->cfg.mode;
	fd = openat(h->l.meta_fd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		struct flock fl = whole_file(F_WRLCK);

		if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			lock_holder(h, fd, rep->text, sizeof(rep->text));
	}
	return 0;
}

static int op_history(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_close_ int fd = -EBADF;

	if (!h->absent)
		fd = openat(h->l.meta_fd, "history.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	reply_init(rep, 0, NULL);
	return send_msg(h, rep, fd) < 0 ? -EPIPE : 1;
}

static int op_check(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char cur[RELEASE_ID_MAX + 1];
	struct proto_msg e;
	int r, problems = 0;

	r = h->absent ? 0 : current_read(&h->l, cur, sizeof(cur));
	if (r < 0) {
		proto_init(&e, OP_ENTRY);
		snprintf(e.text, sizeof(e.text), "%s/current is not a symlink to releases/<id>; switch will refuse to replace it", h->cfg.root);
		problems++;
		if (send_msg(h, &e, -1) < 0)
			return -EPIPE;
	}
	if (h->cfg.mode == PUBLISH_BIND && !h->absent && r == 0 && cur[0]) {
		struct live_stack s;
		char why[300];

		proto_init(&e, OP_ENTRY);
		if (bind_probe(&h->l, &h->cfg, why, sizeof(why)) < 0)
			snprintf(e.text, sizeof(e.text), "%s", why);
		else if (bind_stack_read(&h->l, &h->cfg, 0, &s) < 0)
			snprintf(e.text, sizeof(e.text), "cannot read the mount table");
		else if (bind_stack_check(&s, cur, why, sizeof(why)) < 0)
			snprintf(e.text, sizeof(e.text), "%s does not serve the current release %s: %s; run 'cutover mount %s'",
				 h->cfg.live, cur, why, h->cfg.app);
		else if (!s.root_shared)
			snprintf(e.text, sizeof(e.text), "%s is not a shared mount of its own: a switch would not reach php-fpm "
				 "in another mount namespace; run 'cutover mount %s'", h->cfg.root, h->cfg.app);
		if (e.text[0]) {
			problems++;
			if (send_msg(h, &e, -1) < 0)
				return -EPIPE;
		}
	}
	if (access("/bin/sh", X_OK) < 0) {
		proto_init(&e, OP_ENTRY);
		snprintf(e.text, sizeof(e.text), "/bin/sh is missing: build steps cannot run");
		problems++;
		if (send_msg(h, &e, -1) < 0)
			return -EPIPE;
	}
	reply_init(rep, problems ? -EINVAL : 0, NULL);
	return 0;
}

/* cutover mount: live as the record says (at boot, before php-fpm
 * starts; after a crash). The lock already made ROOT a shared mount. */
static int op_mount(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	char note[640], err[700], cur[RELEASE_ID_MAX + 1] = "";
	int r;

	if (h->cfg.mode != PUBLISH_BIND)
		return -EPROTO;
	h->phase = PH_DONE;
	r = bind_repair(h, note, sizeof(note), err, sizeof(err));
	if (r < 0) {
		reply_init(rep, r, "%s", err);
		return 0;
	}
	reply_init(rep, 0, "%s", note);
	if (current_read(&h->l, cur, sizeof(cur)) == 0)
		str_copy(rep->id, sizeof(rep->id), cur);
	rep->arg[0] = h->repair.unstacked;
	rep->arg[1] = h->repair.attached;
	rep->arg[2] = h->repair.entered;
	return 0;
}

/* ---- dispatch ------------------------------------------------------ */

typedef int (*handler_fn)(struct helper *, const struct proto_msg *, struct proto_msg *);

/* The dispatch rows, one per request of PROTO_REQUESTS (src/common/proto.h):
 * default deny. */
static const struct op_row {
	handler_fn fn;
	unsigned flags;
	uint16_t phases[PV_MAX];   /* per verb: a bit per enum proto_phase */
} ops[OP_REQUEST_MAX] = {
#define PROTO_X(u, name, handler, flags_, ...) \
	[OP_##u] = { .fn = handler, .flags = flags_, .phases = { __VA_ARGS__ } },
	PROTO_REQUESTS(PROTO_X)
#undef PROTO_X
};

/* Is req.op allowed now? Marks a once-only op as used. */
static bool op_permitted(struct helper *h, unsigned op)
{
	uint32_t bit;

	if (op == OP_NONE || op >= OP_REQUEST_MAX || !ops[op].fn)
		return false;
	if (!(ops[op].phases[h->verb] & (1u << h->phase)))
		return false;
	if (ops[op].flags & OPF_ONCE) {
		bit = 1u << (op % 32);
		if (h->used_once[op / 32] & bit)
			return false;
		h->used_once[op / 32] |= bit;
	}
	return true;
}

static int serve(struct helper *h)
{
	for (;;) {
		struct proto_msg req, rep;
		int r;

		r = proto_recv(h->sock, &req, NULL);
		if (r == -ECONNRESET)
			return 0;
		if (r < 0)
			return r;
		if (!op_permitted(h, req.op)) {
			reply_init(&rep, -EPERM, "helper: request '%s' is not allowed for '%s' at this point",
				   proto_op_name(req.op), h->verb_name);
			(void)send_msg(h, &rep, -1);
			return -EPERM;
		}
		r = ops[req.op].fn(h, &req, &rep);
		if (r == -EPROTO) {
			reply_init(&rep, -EPERM, "helper: request '%s' out of order", proto_op_name(req.op));
			(void)send_msg(h, &rep, -1);
			return -EPERM;
		}
		if (r == -ECONNRESET || r == -EPIPE)
			return 0;
		if (r < 0)
			reply_init(&rep, r, "%s failed: %s", proto_op_name(req.op), strerror(-r));
		if (r != 1 && send_msg(h, &rep, -1) < 0)
			return 0;
	}
}

/* The capabilities the helper's work needs; everything else is dropped
 * from every set, including the bounding set (docs/SECURITY.md). */
static const int helper_caps[] = {
	CAP_CHOWN,           /* freeze: chown to root:web_group; shared dirs */
	CAP_DAC_OVERRIDE,    /* remove frozen (0550) trees; write deploy-owned dirs */
	CAP_DAC_READ_SEARCH, /* walk deploy-owned trees whatever their modes */
	CAP_FOWNER,          /* chmod and strip ACLs of files we do not own yet */
	CAP_SETUID,          /* build steps: become the deploy user */
	CAP_SETGID,
	CAP_SETPCAP,         /* build steps: drop the bounding set */
	CAP_SYS_ADMIN,       /* mount and pid namespaces, open_tree, move_mount, umount2 */
	CAP_KILL,            /* kill a timed-out build step */
	CAP_FSETID,          /* setgid bit on shared directories */
};

/* Permitted but not effective; raised only around one read. */
static const int helper_dormant_caps[] = {
	CAP_SYS_PTRACE,      /* /proc/PID/exe and /proc/PID/root of the php-fpm master;
	                        setns through its pidfd (mode = bind) */
	CAP_SYS_CHROOT,      /* setns into its mount namespace (mode = bind), in a child */
};

int main(int argc, char **argv)
{
	static const int keep[] = { SOCK_FD };
	struct helper h = { .sock = SOCK_FD, .lock_fd = -EBADF, .tree_fd = -EBADF };
	struct proto_msg hello;
	char err[600] = "", cfgpath[PATH_MAX];
	int type = 0, r;
	socklen_t tl = sizeof(type);

	if (getuid() != 0 || geteuid() != 0 || argc < 4 || argc > 5 ||
	    getsockopt(SOCK_FD, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr, "cutover-helper: internal program of cutover; run 'cutover --help'\n");
		return 2;
	}
	if (privs_sanitize_process(keep, ELEMENTSOF(keep)) < 0 || privs_reset_environment() < 0)
		return 2;
	/* Nothing the helper executes (php-fpm -tt, build steps) may inherit
	 * its socket to the front end. */
	if (fcntl(SOCK_FD, F_SETFD, FD_CLOEXEC) < 0)
		return 2;
	h.verb = proto_verb_from_name(argv[1]);
	h.verb_name = proto_verb_name(h.verb);
	if (h.verb == PV_NONE || !app_name_valid(argv[2]) || str_copy(h.who, sizeof(h.who), argv[3]) < 0)
		return 2;
	if (argc == 5)
		r = str_copy(cfgpath, sizeof(cfgpath), argv[4]);
	else
		r = config_default_path(cfgpath, sizeof(cfgpath), argv[2]);
	if (r < 0)
		return 2;

	r = config_load(&h.cfg, cfgpath, argv[2], err, sizeof(err));
	if (r == 0 && h.cfg.n_allow_users > 0 && strcmp(h.who, "root") != 0) {
		/* Checked by the launcher too; the helper decides for itself. */
		bool allowed = false;
		for (size_t i = 0; i < h.cfg.n_allow_users; i++)
			allowed |= strcmp(h.cfg.allow_users[i], h.who) == 0;
		if (!allowed) {
			snprintf(err, sizeof(err), "user %s may not run cutover for %s (allow_users in %.300s)",
				 h.who, h.cfg.app, cfgpath);
			r = -EPERM;
		}
	}
	if (r == 0) {
		r = layout_open(&h.l, &h.cfg, false, err, sizeof(err));
		if (r == -ENOENT) {
			/* Nothing deployed yet: read-only verbs say so, and the
			 * first lock creates the layout. */
			h.absent = true;
			err[0] = '\0';
			r = 0;
		}
	}
	if (r == 0) {
		r = privs_limit_caps_dormant(helper_caps, ELEMENTSOF(helper_caps),
					     helper_dormant_caps, ELEMENTSOF(helper_dormant_caps));
		if (r < 0)
			snprintf(err, sizeof(err), "helper: cannot limit capabilities: %s", strerror(-r));
		else if ((r = caps_seccomp_helper()) < 0)
			snprintf(err, sizeof(err), "helper: cannot install its seccomp filter: %s", strerror(-r));
	}
	reply_init(&hello, r, "%s", err);
	if (send_msg(&h, &hello, -1) < 0 || r < 0)
		return 2;

	r = serve(&h);
	/* Whatever ended the conversation, a half-built release goes. */
	(void)abort_staging(&h, false);
	layout_close(&h.l);
	config_free(&h.cfg);
	return r < 0 ? 1 : 0;
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
