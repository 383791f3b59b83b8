/* SPDX-License-Identifier: MIT */
/*
 * The helper's PHP-FPM requests: inspect (php-fpm -t), reload, and FastCGI
 * requests it builds itself and hands over as a write-shut socket.
 */
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "fcgi_request.h"
#include "fpm.h"
#include "names.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

/* ---- PHP-FPM ------------------------------------------------------- */

/* Sends the contents of a memfd to the front end as OUTPUT messages. */
int helper_forward_memfd(struct helper *h, int fd)
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
		if (helper_send(h, &out, -1) < 0)
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

int fpm_test_failed(struct helper *h, int memfd, const char *config, int r, struct proto_msg *rep)
{
	struct proto_msg line;

	/* -EIO: the pool is genuine but its configuration is broken
	 * (exit 1); the other errors mean we could not trust the pid
	 * file at all (exit 2). Two subjects, the master's config and
	 * php-fpm's own line: the line goes first, in an ENTRY. */
	proto_init(&line, OP_ENTRY);
	line.error = ERR_FPM_TEST;
	memfd_error_line(memfd, line.text, 300);
	if (helper_send(h, &line, -1) < 0)
		return -EPIPE;
	reply_fail(rep, -EIO, ERR_FPM_TEST, config);
	rep->arg[0] = r < 0 ? (uint64_t)-r : 0;
	return -EIO;
}

/* Opens and verifies the master, and tests its configuration; output of
 * the test goes to a memfd the caller may forward. */
static int fpm_prepare(struct helper *h, struct fpm_master *m, int *ret_memfd, struct proto_msg *rep)
{
	char err[600];
	int memfd, r;

	if (!h->cfg.fpm.pid_file[0]) {
		reply_fail(rep, -EINVAL, ERR_FPM_PID_FILE, NULL);
		return -EINVAL;
	}
	r = fpm_master_open(&h->cfg.fpm, m, err, sizeof(err));
	if (r < 0) {
		reply_fail(rep, r, ERR_FPM_MASTER, err);
		return r;
	}
	memfd = memfd_create("php-fpm-test", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	r = fpm_master_test(m, memfd, 20);
	*ret_memfd = memfd;
	return r != 0 ? fpm_test_failed(h, memfd, m->config, r, rep) : 0;
}

int op_fpm_inspect(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_(fpm_master_close) struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF;
	int r;

	proto_init(rep, OP_NONE);
	r = fpm_prepare(h, &m, &memfd, rep);
	if (memfd >= 0 && helper_forward_memfd(h, memfd) < 0)
		return -EPIPE;
	if (r < 0 && rep->op != OP_REPLY)
		return r;   /* no reply yet: the dispatcher words it */
	if (r == 0) {
		reply_init(rep, 0, "%s", m.config);
		rep->arg[0] = (uint64_t)m.pid;
	}
	return 0;
}

int op_fpm_reload(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_(fpm_master_close) struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF;
	struct fpm_reload_result res = { 0 };
	int r;

	if (h->cfg.fpm.reload != FPM_RELOAD_GRACEFUL)
		return -EPROTO;
	/* Never signal a master whose configuration does not load: the
	 * re-exec would fail and take the whole pool down. */
	proto_init(rep, OP_NONE);
	r = fpm_prepare(h, &m, &memfd, rep);
	if (r < 0 && rep->op != OP_REPLY)
		return r;   /* no reply yet: the dispatcher words it */
	if (r < 0) {
		if (rep->error == ERR_FPM_TEST)
			rep->arg[1] = 1;   /* the front end says: reload refused */
		else if (r == -EIO && rep->text[0])
			snprintf(rep->text + strlen(rep->text), sizeof(rep->text) - strlen(rep->text),
				 "; reload refused, the pool keeps serving");
		rep->len = (uint32_t)strlen(rep->text);
		return 0;
	}
	r = fpm_master_reload(&h->cfg.fpm, &m, req->arg[0] == 1, h->cfg.fpm.timeout, &res);
	if (r == -ESRCH)
		reply_fail(rep, r, ERR_FPM_GONE, m.config);
	else if (r < 0)
		reply_fail(rep, r, ERR_FPM_RELOAD, NULL);   /* the numbers are in arg[] */
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
	char dir[PATH_MAX];
	int r = self_exe_dir(dir, sizeof(dir));

	return r < 0 ? r : str_printf(buf, n, "%s/opcache-reset.php", dir);
}

/* The status page of the pool, ?full. */
static int fpm_params_status(struct helper *h, char *uri, size_t urilen, struct fcgi_cgi_params **ret)
{
	int r = str_printf(uri, urilen, "%s?full", h->cfg.fpm.status_path);

	return r < 0 ? r : fcgi_cgi_params_new("/", uri, NULL, ret);
}

/* The path and query of [health] url ("/" for none). */
static int health_url_path(const struct helper *h, char *uri, size_t urilen)
{
	const char *path = strstr(h->cfg.health.url, "://");

	path = path ? strchr(path + 3, '/') : NULL;
	return str_copy(uri, urilen, path ? path : "/") < 0 ? -ENAMETOOLONG : 0;
}

/* [health] url's path, run by this deploy's frozen release before it is
 * published: its docroot and the URI. -EPROTO for any other release or
 * moment. */
static int fpm_precheck_target(struct helper *h, const struct proto_msg *req, char *docroot, size_t dlen,
			       char *uri, size_t urilen)
{
	int r;

	if (!release_id_valid(req->id) || !h->cfg.health.url[0])
		return -EPROTO;
	/* Only this run's own frozen release, before it is published;
	 * never in mode = bind, where it has no path of its own. Only a
	 * deploy reaches PH_FROZEN among the verbs the row permits. */
	if (h->phase != PH_FROZEN || strcmp(req->id, h->id) != 0 || h->cfg.mode == PUBLISH_BIND)
		return -EPROTO;
	r = str_printf(docroot, dlen, "%s/releases/%s/%s", h->cfg.root, req->id, h->cfg.docroot);
	if (r < 0)
		return r;
	return health_url_path(h, uri, urilen);
}

static int fpm_params_precheck(struct helper *h, const char *docroot, char *uri, struct fcgi_cgi_params **ret)
{
	const char *host = h->cfg.health.host[0] ? h->cfg.health.host : NULL;
	char *q;
	int r;

	/* Every request goes to the front controller, as nginx's try_files
	 * would send it; REQUEST_URI and QUERY_STRING carry the health URL's
	 * path and query for the app's router. */
	r = fcgi_cgi_params_new(docroot, "/index.php", host, ret);
	if (r < 0)
		return r;
	q = strchr(uri, '?');
	for (size_t i = 0; i < (*ret)->n_params; i++) {
		if (strcmp((*ret)->params[i].name, "REQUEST_URI") == 0)
			(*ret)->params[i].value = uri;
		else if (strcmp((*ret)->params[i].name, "QUERY_STRING") == 0)
			(*ret)->params[i].value = q ? q + 1 : "";
	}
	return 0;
}

/* opcache_reset() in the pool, by the script next to this binary. */
static int fpm_params_opcache(char *script, size_t slen, char *uri, size_t urilen, struct fcgi_cgi_params **ret)
{
	char *slash;
	int r = opcache_script(script, slen);

	if (r < 0)
		return r;
	slash = strrchr(script, '/');
	*slash = '\0';
	r = str_printf(uri, urilen, "/%s", slash + 1);
	return r < 0 ? r : fcgi_cgi_params_new(script, uri, NULL, ret);
}

/* Connects to the pool and sends the request, write side shut. The socket,
 * or -errno with the reply in rep. */
static int fpm_send(struct helper *h, const struct fcgi_address *addr, const struct fcgi_cgi_params *p,
		    struct proto_msg *rep)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = fcgi_address_connect(addr, h->cfg.fpm.timeout * 1000);
	if (fd < 0) {
		reply_fail(rep, fd, ERR_FCGI_CONNECT, NULL);
		return fd;
	}
	/* The front end only reads the answer: the request is ours, and the
	 * write side is shut before the socket leaves this process, so the
	 * deploy user can never make the pool run a script of its choosing. */
	r = fcgi_send_request(fd, p->params, p->n_params, NULL, 0, h->cfg.fpm.timeout * 1000);
	if (r == 0 && shutdown(fd, SHUT_WR) < 0)
		r = -errno;
	if (r < 0) {
		reply_fail(rep, r, ERR_FCGI_SEND, NULL);
		return r;
	}
	return TAKE_FD(fd);
}

/* Sends the request and hands the socket to the front end with the reply. */
static int fpm_send_reply(struct helper *h, const struct fcgi_address *addr, const struct fcgi_cgi_params *p,
			  struct proto_msg *rep)
{
	_cleanup_close_ int fd = fpm_send(h, addr, p, rep);

	if (fd < 0)
		return 0;
	reply_init(rep, 0, NULL);
	return helper_send(h, rep, fd) < 0 ? -EPIPE : HANDLER_SENT;
}

/*
 * reload = swap: SLOT_PRECHECK ([health] url's path) and SLOT_WARM
 * ([fpm] warm_urls[arg[1]]), both to the front controller of the release
 * the slot this run started or found runs, over that slot's socket. The
 * URLs come from the config only.
 */
static int fpm_slot_request(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	struct fcgi_address addr = { .kind = FCGI_ADDRESS_UNIX };
	char id[RELEASE_ID_MAX + 1], docroot[PATH_MAX], uri[1024];
	int r;

	if (!swap_enabled(h) || (req->id[0] && !release_id_valid(req->id)))
		return -EPROTO;
	if (req->arg[0] == FPM_REQ_SLOT_PRECHECK && !h->cfg.health.url[0])
		return -EPROTO;
	if (req->arg[0] == FPM_REQ_SLOT_WARM && req->arg[1] >= h->cfg.fpm.n_warm_urls)
		return -EPROTO;
	r = swap_request_target(h, addr.path, sizeof(addr.path), id, sizeof(id));
	if (r < 0) {
		reply_fail(rep, r, ERR_FPM_SLOT, "no slot started by this run is running");
		return 0;
	}
	if (req->id[0] && strcmp(req->id, id) != 0)
		return -EPROTO;
	if (req->arg[0] == FPM_REQ_SLOT_WARM)
		r = str_copy(uri, sizeof(uri), h->cfg.fpm.warm_urls[req->arg[1]]);
	else
		r = health_url_path(h, uri, sizeof(uri));
	if (r < 0 ||
	    str_printf(docroot, sizeof(docroot), "%s/releases/%s/%s", h->cfg.root, id, h->cfg.docroot) < 0 ||
	    (r = fpm_params_precheck(h, docroot, uri, &p)) < 0) {
		reply_fail(rep, r < 0 ? r : -ENAMETOOLONG, ERR_FCGI_BUILD, NULL);
		return 0;
	}
	return fpm_send_reply(h, &addr, p, rep);
}

int op_fpm_request(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	_cleanup_free_ struct fcgi_cgi_params *p = NULL;
	struct fcgi_address addr;
	char docroot[PATH_MAX], uri[1024], script[PATH_MAX];
	int r;

	if (req->arg[0] == FPM_REQ_SLOT_PRECHECK || req->arg[0] == FPM_REQ_SLOT_WARM)
		return fpm_slot_request(h, req, rep);
	if (!h->cfg.fpm.socket[0]) {
		reply_fail(rep, -EINVAL, ERR_FPM_SOCKET, NULL);
		return 0;
	}
	r = fcgi_address_parse(h->cfg.fpm.socket, &addr);
	if (r < 0) {
		reply_fail(rep, r, ERR_FPM_ADDRESS, NULL);
		return 0;
	}
	switch (req->arg[0]) {
	case FPM_REQ_STATUS:
		if (!h->cfg.fpm.status_path[0]) {
			reply_fail(rep, -EINVAL, ERR_FPM_STATUS_PATH, NULL);
			return 0;
		}
		r = fpm_params_status(h, uri, sizeof(uri), &p);
		break;
	case FPM_REQ_PRECHECK:
		r = fpm_precheck_target(h, req, docroot, sizeof(docroot), uri, sizeof(uri));
		if (r < 0)
			return r;
		r = fpm_params_precheck(h, docroot, uri, &p);
		break;
	case FPM_REQ_OPCACHE_RESET:
		r = fpm_params_opcache(script, sizeof(script), uri, sizeof(uri), &p);
		break;
	case FPM_REQ_PROBE:
		r = fcgi_cgi_params_new("/nonexistent-cutover-probe", "/probe.php", NULL, &p);
		break;
	default:
		return -EPROTO;
	}
	if (r < 0) {
		reply_fail(rep, r, ERR_FCGI_BUILD, NULL);
		return 0;
	}
	return fpm_send_reply(h, &addr, p, rep);
}
