/* SPDX-License-Identifier: MIT */
/*
 * pw-listen: open TCP listeners for tests and keep them up until SIGTERM.
 *
 *   pw-listen [-r READYFILE] ADDR:PORT... (IPv6 as [::1]:PORT)
 *
 * Every connection is accepted and closed at once, so a scanner sees an
 * open port and the backlog never fills. READYFILE is created once every
 * socket listens, so a test knows when to start probing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "endpoint.h"

#define MAX_LISTENERS 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_listener(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (pw_test_endpoint(spec, 0, &ss, &len) < 0) {
		fprintf(stderr, "pw-listen: bad endpoint \"%s\"\n", spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "pw-listen: %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_LISTENERS];
	const char *ready = NULL;
	int first = 1, n = 0;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		ready = argv[2];
		first = 3;
	}
	if (first >= argc || argc - first > MAX_LISTENERS) {
		fprintf(stderr, "usage: pw-listen [-r READYFILE] ADDR:PORT...\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (int i = first; i < argc; i++) {
		pfd[n].fd = open_listener(argv[i]);
		if (pfd[n].fd < 0)
			return 1;
		pfd[n++].events = POLLIN;
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f)
			return 1;
		fclose(f);
	}
	while (!stop) {
		if (poll(pfd, (nfds_t)n, 200) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			int c;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(c);
		}
	}
	return 0;
}
