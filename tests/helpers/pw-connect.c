/* SPDX-License-Identifier: MIT */
/*
 * pw-connect: one TCP connect() as a scanner sees it, with timing.
 *
 *   pw-connect [-t TIMEOUT_MS] [-c COUNT] ADDR:PORT   (IPv6 as [::1]:PORT)
 *
 * Prints one line per attempt: "STATE ERRNO ELAPSED_MS", for instance
 * "open - 0.21", "closed ECONNREFUSED 20.4", "filtered ETIMEDOUT 500.0",
 * "unreachable EHOSTUNREACH 0.3" or "error EADDRNOTAVAIL 0.1". Filtered
 * means no answer within TIMEOUT_MS (default 1000); the socket is then
 * closed, so the kernel sends no SYN retransmission (its first one is
 * due after 1 s). COUNT attempts run one after another. The harness uses
 * it to check that drop, reject, delay and loss rules do what they say.
 * Exit: 0 (whatever the states), 1 runtime error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "endpoint.h"
#include "util.h"

static const char *errno_name(int e)
{
	switch (e) {
	case 0:
		return "-";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case ECONNRESET:
		return "ECONNRESET";
	case EPROTO:
		return "EPROTO";
	case EMFILE:
		return "EMFILE";
	case ENOBUFS:
		return "ENOBUFS";
	}
	return "EOTHER";
}

/*
 * The same classification the scanner is expected to make. EACCES and
 * EPERM are what an ICMPv6 administratively-prohibited answer gives.
 */
static const char *classify(int e)
{
	switch (e) {
	case 0:
		return "open";
	case ECONNREFUSED:
		return "closed";
	case ETIMEDOUT:
		return "filtered";
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
	case EPERM:
		return "unreachable";
	}
	return "error";
}

/* One attempt; returns the errno that decided it (0 = connected). */
static int attempt(const struct sockaddr_storage *ss, socklen_t len, uint64_t timeout_usec)
{
	_cleanup_close_ int fd = -1;
	uint64_t deadline = pw_now_usec(CLOCK_MONOTONIC) + timeout_usec;
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int err = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC);
		struct timespec ts;
		int n;

		if (now >= deadline)
			return ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline - now) / USEC_PER_SEC);
		ts.tv_nsec = (long)((deadline - now) % USEC_PER_SEC) * 1000;
		n = ppoll(&pfd, 1, &ts, NULL);
		if (n < 0 && errno != EINTR)
			return errno;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return errno;
	return err;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t timeout_ms = 1000, count = 1;
	int opt;

	while ((opt = getopt(argc, argv, "t:c:")) != -1) {
		switch (opt) {
		case 't':
			if (pw_parse_u64(optarg, 1, 3600 * 1000, &timeout_ms) < 0)
				goto usage;
			break;
		case 'c':
			if (pw_parse_u64(optarg, 1, 1000000, &count) < 0)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || pw_test_endpoint(argv[optind], 1, &ss, &len) < 0)
		goto usage;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t start = pw_now_usec(CLOCK_MONOTONIC);
		int e = attempt(&ss, len, timeout_ms * USEC_PER_MSEC);
		uint64_t took = pw_now_usec(CLOCK_MONOTONIC) - start;

		printf("%s %s %llu.%02llu\n", classify(e), errno_name(e),
		       (unsigned long long)(took / 1000), (unsigned long long)(took % 1000 / 10));
		if (e == EMFILE || e == ENOBUFS)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: pw-connect [-t TIMEOUT_MS] [-c COUNT] ADDR:PORT\n");
	return 2;
}
