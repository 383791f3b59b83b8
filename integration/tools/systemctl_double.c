/* SPDX-License-Identifier: MIT */
/*
 * systemctl_double: the `systemctl` of the reload = swap tests
 * (integration/lib/swap.sh). It understands nothing itself: it hands its
 * argument vector, environment and credentials to the test's systemd
 * double (integration/lib/systemd_double.py) over a unix socket, prints
 * what the double answers on stdout and stderr and exits with its code.
 *
 * An ELF binary rather than a script, because the helper executes
 * /usr/bin/systemctl through a close-on-exec descriptor (path_open_trusted,
 * then fexecve), and the kernel cannot run a script that way. The socket's
 * path is written into the copy of this binary a test makes (swap.sh
 * replaces the marker in double_socket below), so the copy needs neither
 * an argument nor an environment variable to find its double: the helper
 * gives it neither.
 *
 * Request: NUL-terminated strings: "systemctl", argc - 1 in decimal, the
 * arguments, then the environment. Answer: the exit code in decimal, NUL,
 * stdout text, NUL, stderr text.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

/* Patched by swap.sh: the marker and the zeros after it become the path
 * and zeros. Volatile, so the compiler cannot fold the marker's text into
 * the code that reads it. */
static volatile char double_socket[256] = "@@CUTOVER_SYSTEMD_DOUBLE_SOCKET@@";

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s) + 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 300 };
	char path[sizeof(double_socket)], num[32], *buf = NULL, *out, *err, *end;
	size_t len = 0, cap = 0;
	int fd, rc;

	for (size_t i = 0; i < sizeof(path); i++)
		path[i] = double_socket[i];
	path[sizeof(path) - 1] = '\0';
	/* Still the marker (no "/" first): a copy nobody wrote a path into. */
	if (path[0] != '/' || strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "systemctl (test double): no socket path written into this copy\n");
		return 1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "systemctl (test double): cannot connect to %s: %s\n", path, strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(num, sizeof(num), "%d", argc - 1);
	if (send_str(fd, "systemctl") < 0 || send_str(fd, num) < 0)
		goto io;
	for (int i = 1; i < argc; i++)
		if (send_str(fd, argv[i]) < 0)
			goto io;
	for (char **e = environ; *e; e++)
		if (send_str(fd, *e) < 0)
			goto io;
	if (shutdown(fd, SHUT_WR) < 0)
		goto io;
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				goto io;
			buf = nb;
			cap += 65536;
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto io;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	end = buf + len;
	out = memchr(buf, '\0', len);
	if (!out || out + 1 > end)
		goto bad;
	out++;
	err = memchr(out, '\0', (size_t)(end - out));
	if (!err)
		goto bad;
	err++;
	rc = atoi(buf);
	fputs(out, stdout);
	fputs(err, stderr);
	return rc;
bad:
	fprintf(stderr, "systemctl (test double): malformed answer from %s\n", path);
	return 1;
io:
	fprintf(stderr, "systemctl (test double): talking to %s: %s\n", path, strerror(errno));
	return 1;
}
