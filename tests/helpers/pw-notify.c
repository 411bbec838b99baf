/* SPDX-License-Identifier: MIT */
/*
 * pw-notify: stand in for systemd's notification socket in tests.
 *
 *   pw-notify SOCKET_PATH TIMEOUT_SECONDS
 *
 * Binds an AF_UNIX datagram socket at SOCKET_PATH (point NOTIFY_SOCKET at
 * it) and prints every sd_notify() message it receives, one line per
 * assignment, flushed at once, until SIGTERM or the timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Prints one queued message; false when there was none. */
static bool print_one(int fd, int flags)
{
	char buf[8192];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, flags);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	fputs(buf, stdout);
	if (buf[n - 1] != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	time_t deadline;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: pw-notify SOCKET_PATH TIMEOUT_SECONDS\n");
		return 2;
	}
	deadline = time(NULL) + atoi(argv[2]);
	signal(SIGTERM, on_signal);
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "pw-notify: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (!stop && time(NULL) < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 200) > 0)
			print_one(fd, 0);
	}
	/* A daemon that has just exited may have left its last messages
	 * (STOPPING=1) queued: the test stops us after it and then reads
	 * the log, so print everything still queued before going. */
	while (print_one(fd, MSG_DONTWAIT))
		;
	unlink(argv[1]);
	return 0;
}
