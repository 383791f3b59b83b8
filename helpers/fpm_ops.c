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

int op_fpm_inspect(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
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

int op_fpm_reload(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	struct fpm_master m = FPM_MASTER_INIT;
	_cleanup_close_ int memfd = -EBADF;
	struct fpm_reload_result res = { 0 };
	int r;

	if (h->cfg.fpm.reload != FPM_RELOAD_GRACEFUL)
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
	char dir[PATH_MAX];
	int r = self_exe_dir(dir, sizeof(dir));

	return r < 0 ? r : str_printf(buf, n, "%s/opcache-reset.php", dir);
}

int op_fpm_request(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
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
		 * never in mode = bind, where it has no path of its own. Only
		 * a deploy reaches PH_FROZEN among the verbs the row permits. */
		if (h->phase != PH_FROZEN || strcmp(req->id, h->id) != 0 ||
		    h->cfg.mode == PUBLISH_BIND)
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
	return helper_send(h, rep, fd) < 0 ? -EPIPE : HANDLER_SENT;
}
