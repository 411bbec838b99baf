/* SPDX-License-Identifier: MIT */
/*
 * pw-nfq-delay: add latency and loss to the packets of one NFQUEUE.
 *
 *   pw-nfq-delay [-q QUEUE] [-d DELAY_MS] [-l LOSS_PERCENT] [-s SEED]
 *                [-r READYFILE] [-S STATSFILE]
 *
 * This kernel has no tc netem, so latency and loss tests queue packets to
 * userspace with an nftables/iptables rule (which packets is the rule's
 * business: the harness queues only outgoing SYNs, because holding the
 * kernel's own RSTs on lo makes it drop them) and this program answers.
 * A packet is dropped (NF_DROP) with probability LOSS_PERCENT, decided at
 * once from a PRNG seeded with SEED so a run can be repeated; every other
 * packet is accepted DELAY_MS after it arrived. The delay is the same for
 * every packet, so release times grow with arrival order and a FIFO of
 * (release time, packet id) is all the scheduling needed: nothing waits on
 * anything but the clock, and a held packet never blocks a new one.
 *
 * READYFILE is created once the queue is bound. On SIGTERM/SIGINT the
 * held packets are released, and on exit (and on SIGUSR1) the counters are
 * written to STATSFILE as "name value" lines. Exit: 0 ok, 1 runtime error
 * (for instance the queue cannot be bound), 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include "util.h"

/* Deep enough for a scanner with thousands of SYNs in flight. */
#define QUEUE_MAXLEN 65536
#define RCVBUF_BYTES (16 * 1024 * 1024)

struct held {
	uint64_t due_usec;
	uint32_t id;
};

struct delayer {
	struct nfq_q_handle *qh;
	uint64_t delay_usec;
	uint32_t loss_ppm;
	uint64_t rng;
	/* FIFO ring of held packets */
	struct held *ring;
	size_t cap, head, len;
	/* counters */
	uint64_t seen, dropped, delayed, overruns, verdict_errors;
	uint64_t max_late_usec; /* worst release after the due time */
};

static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

/* splitmix64: tiny, good enough for coin flips, same sequence per seed. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int ring_push(struct delayer *d, uint64_t due, uint32_t id)
{
	if (d->len == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 1024;
		struct held *n = malloc(ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < d->len; i++)
			n[i] = d->ring[(d->head + i) % d->cap];
		free(d->ring);
		d->ring = n;
		d->cap = ncap;
		d->head = 0;
	}
	d->ring[(d->head + d->len) % d->cap] = (struct held){ due, id };
	d->len++;
	return 0;
}

static void verdict(struct delayer *d, uint32_t id, uint32_t v)
{
	if (nfq_set_verdict(d->qh, id, v, 0, NULL) < 0)
		d->verdict_errors++;
}

/* Release every held packet due at NOW (all of them if NOW is max). */
static void release_due(struct delayer *d, uint64_t now)
{
	while (d->len > 0 && d->ring[d->head].due_usec <= now) {
		uint64_t late = now - d->ring[d->head].due_usec;

		if (now != UINT64_MAX && late > d->max_late_usec)
			d->max_late_usec = late;
		verdict(d, d->ring[d->head].id, NF_ACCEPT);
		d->head = (d->head + 1) % d->cap;
		d->len--;
	}
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *userdata)
{
	struct delayer *d = userdata;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;

	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	d->seen++;
	if (d->loss_ppm > 0 && next_random(&d->rng) % 1000000 < d->loss_ppm) {
		d->dropped++;
		verdict(d, id, NF_DROP);
		return 0;
	}
	if (d->delay_usec == 0 ||
	    ring_push(d, pw_now_usec(CLOCK_MONOTONIC) + d->delay_usec, id) < 0) {
		/* out of memory: let it through rather than invent a loss */
		verdict(d, id, NF_ACCEPT);
		return 0;
	}
	d->delayed++;
	return 0;
}

static void write_stats(const struct delayer *d, const char *path)
{
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "pw-nfq-delay: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f,
		"seen %llu\ndropped %llu\ndelayed %llu\nheld %zu\noverruns %llu\n"
		"verdict_errors %llu\nmax_late_usec %llu\n",
		(unsigned long long)d->seen, (unsigned long long)d->dropped,
		(unsigned long long)d->delayed, d->len, (unsigned long long)d->overruns,
		(unsigned long long)d->verdict_errors, (unsigned long long)d->max_late_usec);
	fclose(f);
}

static void usage(void)
{
	fprintf(stderr, "usage: pw-nfq-delay [-q QUEUE] [-d DELAY_MS] [-l LOSS_PERCENT] [-s SEED]\n"
			"                    [-r READYFILE] [-S STATSFILE]\n");
}

static int parse_opt(const char *name, const char *arg, uint64_t max, uint64_t *ret)
{
	if (pw_parse_u64(arg, 0, max, ret) < 0) {
		fprintf(stderr, "pw-nfq-delay: %s: \"%s\" is not a number in 0..%llu\n", name, arg,
			(unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* Read everything the kernel has queued for us without blocking. */
static int drain(struct delayer *d, struct nfq_handle *h, int fd, char *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

		if (n >= 0) {
			nfq_handle_packet(h, buf, (int)n);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* the kernel dropped packets it could not hand us */
			d->overruns++;
			continue;
		}
		return -errno;
	}
}

int main(int argc, char **argv)
{
	static char buf[65536] __attribute__((aligned));
	struct delayer d = { 0 };
	const char *ready = NULL, *stats = NULL;
	uint64_t queue = 0, delay_ms = 0, loss = 0, seed = 1;
	struct nfq_handle *h;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	int opt, fd, r = 0;

	while ((opt = getopt(argc, argv, "q:d:l:s:r:S:h")) != -1) {
		switch (opt) {
		case 'q':
			if (parse_opt("queue", optarg, 65535, &queue) < 0)
				return 2;
			break;
		case 'd':
			if (parse_opt("delay", optarg, 3600 * 1000, &delay_ms) < 0)
				return 2;
			break;
		case 'l':
			if (parse_opt("loss", optarg, 100, &loss) < 0)
				return 2;
			break;
		case 's':
			if (parse_opt("seed", optarg, UINT64_MAX, &seed) < 0)
				return 2;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'S':
			stats = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	d.delay_usec = delay_ms * USEC_PER_MSEC;
	d.loss_ppm = (uint32_t)loss * 10000;
	d.rng = seed;

	/* Signals are only let in while waiting, so a stop is never missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	h = nfq_open();
	if (!h) {
		fprintf(stderr, "pw-nfq-delay: nfq_open: %s\n", strerror(errno));
		return 1;
	}
	d.qh = nfq_create_queue(h, (uint16_t)queue, on_packet, &d);
	if (!d.qh) {
		fprintf(stderr,
			"pw-nfq-delay: cannot bind queue %llu: %s "
			"(nfnetlink_queue missing, or the queue is taken?)\n",
			(unsigned long long)queue, strerror(errno));
		nfq_close(h);
		return 1;
	}
	/* Metadata is enough to give a verdict; no need to copy payloads. */
	if (nfq_set_mode(d.qh, NFQNL_COPY_META, 0) < 0 ||
	    nfq_set_queue_maxlen(d.qh, QUEUE_MAXLEN) < 0) {
		fprintf(stderr, "pw-nfq-delay: configuring queue %llu: %s\n",
			(unsigned long long)queue, strerror(errno));
		r = 1;
		goto out;
	}
	nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF_BYTES);
	fd = nfq_fd(h);
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (rfd < 0) {
			fprintf(stderr, "pw-nfq-delay: %s: %s\n", ready, strerror(errno));
			r = 1;
			goto out;
		}
		close(rfd);
	}

	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;

		if (d.len > 0) {
			uint64_t now = pw_now_usec(CLOCK_MONOTONIC);
			uint64_t due = d.ring[d.head].due_usec;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / USEC_PER_SEC);
			ts.tv_nsec = (long)(wait % USEC_PER_SEC) * 1000;
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, &waitmask) < 0 && errno != EINTR) {
			fprintf(stderr, "pw-nfq-delay: poll: %s\n", strerror(errno));
			r = 1;
			break;
		}
		if (pfd.revents & POLLIN) {
			int e = drain(&d, h, fd, buf, sizeof(buf));

			if (e < 0) {
				fprintf(stderr, "pw-nfq-delay: recv: %s\n", strerror(-e));
				r = 1;
				break;
			}
		}
		release_due(&d, pw_now_usec(CLOCK_MONOTONIC));
		if (dump) {
			dump = 0;
			write_stats(&d, stats);
		}
	}
	release_due(&d, UINT64_MAX);
	write_stats(&d, stats);
out:
	nfq_destroy_queue(d.qh);
	nfq_close(h);
	free(d.ring);
	return r;
}
