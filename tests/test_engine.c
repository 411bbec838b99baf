/* SPDX-License-Identifier: MIT */
/*
 * The engine against real sockets. Outside a namespace only loopback ports
 * this test opened itself are probed; every scan of a port range runs in a
 * private network namespace (unshare(CLONE_NEWNET) in check's forked test
 * process, as root), where only the test's own listeners exist.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "addrset.h"
#include "check-main.h"
#include "engine.h"
#include "perm.h"
#include "ratelimit.h"
#include "util.h"

#define LO4 pw_addr_from_v4(0x7f000001)
#define LO6 ((pw_u128)1)

struct collect {
	struct pw_probe_result *r;
	size_t n, cap;
	struct pw_engine *e;
	size_t abort_after; /* abort from inside the callback */
	unsigned inflight_at_abort;
	int prev_state;     /* what prev_state() answers, or -ENOENT */
	int close_on_prev;  /* fd the prev_state() callback closes */
	bool abort_on_prev; /* prev_state() aborts the engine */
};

static void collect_cb(void *u, const struct pw_probe_result *r)
{
	struct collect *c = u;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		ck_assert_ptr_nonnull(c->r);
	}
	c->r[c->n++] = *r;
	if (c->abort_after && c->n == c->abort_after) {
		struct pw_engine_stats st;

		pw_engine_get_stats(c->e, &st);
		c->inflight_at_abort = st.inflight;
		pw_engine_abort(c->e);
	}
}

static int prev_cb(void *u, pw_u128 addr, uint16_t port)
{
	struct collect *c = u;

	if (c->close_on_prev >= 0) {
		/* the port goes away right after the first probe saw it */
		close(c->close_on_prev);
		c->close_on_prev = -1;
	}
	if (c->abort_on_prev)
		pw_engine_abort(c->e);
	return c->prev_state;
}

static const struct pw_scan_timing fast_timing = {
	.initial_timeout_usec = 300 * USEC_PER_MSEC,
	.min_timeout_usec = 50 * USEC_PER_MSEC,
	.max_timeout_usec = 500 * USEC_PER_MSEC,
	.retries = 1,
};

static struct pw_engine_params params(const struct pw_scan_space *space, struct collect *c)
{
	return (struct pw_engine_params){
		.space = space,
		.timing = fast_timing,
		.key = 12345,
		.on_result = collect_cb,
		.userdata = c,
	};
}

static int run(struct pw_engine_params *p, struct collect *c, struct pw_engine_stats *st)
{
	struct pw_engine *e;
	int r;

	ck_assert_int_eq(pw_engine_new(p, &e), 0);
	c->e = e;
	r = pw_engine_run_blocking(e);
	if (st)
		pw_engine_get_stats(e, st);
	pw_engine_free(e);
	c->e = NULL;
	return r;
}

/* The result for (addr, port); fails on a duplicate. */
static const struct pw_probe_result *find(const struct collect *c, pw_u128 addr, uint16_t port)
{
	const struct pw_probe_result *hit = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (c->r[i].addr == addr && c->r[i].port == port &&
		    !(c->r[i].flags & PW_RESULT_ACCEPTS_ALL)) {
			ck_assert_msg(!hit, "port %u reported twice", port);
			hit = &c->r[i];
		}
	}
	return hit;
}

static size_t count_state(const struct collect *c, enum pw_state st)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += c->r[i].state == st && !(c->r[i].flags & PW_RESULT_ACCEPTS_ALL);
	return n;
}

/* A socket on addr:port (0 = any free port); listening or merely bound. */
static int sock_on(int family, uint16_t port, bool listening, uint16_t *ret_port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	pw_u128 a;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	len = pw_addr_to_sockaddr(family == AF_INET ? LO4 : LO6, port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (listening && listen(fd, 4096) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	ck_assert_int_eq(pw_addr_from_sockaddr((struct sockaddr *)&ss, &a, ret_port), 0);
	return fd;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

/*
 * A private network namespace with only lo up, for this forked test
 * process. False (the test is skipped) when not root or when check does
 * not fork (CK_FORK=no would leave the whole runner in the namespace).
 */
static bool enter_netns(void)
{
	struct ifreq ifr = { 0 };
	const char *fork_env = getenv("CK_FORK");
	int fd;

	if (geteuid() != 0 || (fork_env && strcmp(fork_env, "no") == 0)) {
		fprintf(stderr,
			"skipped: needs root and forked check tests for a network namespace\n");
		return false;
	}
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
	return true;
}

static bool nft(const char *rules)
{
	FILE *f = popen("nft -f - 2>&1", "w");

	if (!f)
		return false;
	fputs(rules, f);
	return pclose(f) == 0;
}

/* SYNs to these ports vanish: the probes stay in flight until they time out. */
static bool drop_ports(unsigned lo, unsigned hi)
{
	char rules[256];

	snprintf(rules, sizeof(rules),
		 "table inet pwdrop {\n"
		 " chain out { type filter hook output priority 0;\n"
		 "  tcp dport %u-%u drop\n"
		 " }\n"
		 "}\n",
		 lo, hi);
	if (!nft(rules)) {
		fprintf(stderr, "skipped: nft not usable\n");
		return false;
	}
	return true;
}

static void space_init(struct pw_scan_space *s, pw_u128 addr, uint16_t lo, uint16_t hi)
{
	*s = (struct pw_scan_space){ PW_ISET_INIT, PW_ISET_INIT };
	ck_assert_int_eq(pw_iset_add(&s->addrs, addr, addr), 0);
	ck_assert_int_eq(pw_iset_add(&s->ports, lo, hi), 0);
}

static void space_done(struct pw_scan_space *s)
{
	pw_iset_done(&s->addrs);
	pw_iset_done(&s->ports);
}

/* ------------------------------------------------------------------ loopback, no namespace */

static void open_closed(int family, pw_u128 addr, unsigned threads)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { .prev_state = -ENOENT, .close_on_prev = -1 };
	struct pw_engine_params p = params(&s, &c);
	const struct pw_probe_result *r;
	uint16_t po, pc;
	int lfd = sock_on(family, 0, true, &po), cfd;

	if (lfd == -EAFNOSUPPORT || lfd == -EADDRNOTAVAIL) {
		fprintf(stderr, "skipped: no IPv6 loopback\n");
		return;
	}
	ck_assert_int_ge(lfd, 0);
	cfd = sock_on(family, 0, false, &pc); /* bound, not listening: RST */
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(pw_iset_add(&s.addrs, addr, addr), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, po, po), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, pc, pc), 0);
	p.threads = threads;
	ck_assert_int_eq(run(&p, &c, NULL), 0);

	ck_assert_uint_eq(c.n, 2);
	r = find(&c, addr, po);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->state, PW_STATE_OPEN);
	ck_assert_int_eq(r->observed, PW_STATE_OPEN);
	ck_assert_uint_ge(r->attempts, 1);
	r = find(&c, addr, pc);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->state, PW_STATE_CLOSED);
	close(lfd);
	close(cfd);
	space_done(&s);
	free(c.r);
}

START_TEST(open_closed_v4)
{
	open_closed(AF_INET, LO4, 1);
}
END_TEST

START_TEST(open_closed_v6)
{
	open_closed(AF_INET6, LO6, 1);
}
END_TEST

START_TEST(open_closed_threaded)
{
	open_closed(AF_INET, LO4, 2);
}
END_TEST

START_TEST(rejects_bad_params)
{
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine *e = NULL;

	space_init(&s, LO4, 1, 1);
	p = params(&s, &c);
	p.on_result = NULL;
	ck_assert_int_eq(pw_engine_new(&p, &e), -EINVAL);
	p = params(&s, &c);
	p.shard_i = 3;
	p.shard_n = 3;
	ck_assert_int_eq(pw_engine_new(&p, &e), -EINVAL);
	p = params(&s, &c);
	p.timing.min_timeout_usec = 2 * p.timing.max_timeout_usec;
	ck_assert_int_eq(pw_engine_new(&p, &e), -EINVAL);
	p = params(&s, &c);
	p.shared_rate = &(struct pw_ratelimit){ 0 };
	p.threads = 2; /* a shared limiter is not for threads */
	ck_assert_int_eq(pw_engine_new(&p, &e), -EINVAL);
	pw_iset_done(&s.ports);
	p = params(&s, &c);
	ck_assert_int_eq(pw_engine_new(&p, &e), -EINVAL); /* no ports */
	ck_assert_ptr_null(e);
	space_done(&s);
}
END_TEST

/* 127.0.0.0/8 x all ports starts at once: memory is O(in flight). */
START_TEST(huge_space_starts_small)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { 0 };
	struct pw_engine_params p = params(&s, &c);
	struct pw_engine_stats st;
	struct pw_engine *e;

	ck_assert_int_eq(pw_iset_add(&s.addrs, pw_addr_from_v4(0x7f000000),
				     pw_addr_from_v4(0x7fffffff)),
			 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 1, 65535), 0);
	p.timing.concurrency = 64;
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	/* not processed: nothing is sent, only the bookkeeping is checked */
	pw_engine_get_stats(e, &st);
	ck_assert(st.total == (pw_u128)(1 << 24) * 65535);
	ck_assert(pw_engine_position(e) == 0);
	ck_assert_uint_eq(pw_engine_concurrency(e), 64);
	ck_assert_uint_eq(pw_engine_threads(e), 1);
	ck_assert_uint_ge(pw_engine_nofile_limit(e), 64);
	pw_engine_free(e);
	space_done(&s);
}
END_TEST

/* ------------------------------------------------------------------ in a namespace */

/* Listeners on the given ports of 127.0.0.1 (fds returned in fds). */
static void listen_many(const uint16_t *ports, size_t n, int *fds)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t got;

		fds[i] = sock_on(AF_INET, ports[i], true, &got);
		ck_assert_int_ge(fds[i], 0);
	}
}

/* Exactly the listed ports open, every other one closed. */
static void assert_exact(const struct collect *c, const struct pw_scan_space *s,
			 const uint16_t *open, size_t nopen)
{
	pw_u128 total = pw_iset_count(&s->addrs) * pw_iset_count(&s->ports);

	ck_assert_uint_eq(c->n, (size_t)total);
	ck_assert_uint_eq(count_state(c, PW_STATE_OPEN), nopen);
	for (size_t i = 0; i < nopen; i++) {
		const struct pw_probe_result *r = find(c, LO4, open[i]);

		ck_assert_msg(r && r->state == PW_STATE_OPEN, "port %u not open", open[i]);
	}
	ck_assert_uint_eq(count_state(c, PW_STATE_CLOSED), (size_t)total - nopen);
}

static void full_range(unsigned threads)
{
	static const uint16_t open[] = { 1, 22, 1000, 32768, 40000, 50001, 60999, 65535 };
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine_stats st;
	int fds[PW_ELEMENTSOF(open)];

	if (!enter_netns())
		return;
	listen_many(open, PW_ELEMENTSOF(open), fds);
	space_init(&s, LO4, 1, 65535);
	p = params(&s, &c);
	p.threads = threads;
	p.canaries = PW_ENGINE_DEFAULT_CANARIES;
	ck_assert_int_eq(run(&p, &c, &st), 0);
	assert_exact(&c, &s, open, PW_ELEMENTSOF(open));
	ck_assert(st.done == 65535);
	ck_assert_uint_eq(st.open, PW_ELEMENTSOF(open));
	ck_assert_uint_eq(st.accepts_all, 0);
	ck_assert_uint_eq(st.inflight, 0);
	space_done(&s);
	free(c.r);
}

START_TEST(full_range_single)
{
	full_range(1);
}
END_TEST

START_TEST(full_range_threads)
{
	full_range(2);
}
END_TEST

/*
 * The whole ephemeral range, twice: a connect to a port in it can be
 * given that very port as its source and connect to itself, or meet
 * another probe's socket. Neither may come out as open.
 */
START_TEST(ephemeral_range_no_phantoms)
{
	static const uint16_t open[] = { 40001, 55555 };
	unsigned lo = 32768, hi = 60999;
	FILE *f;
	int fds[2];
	uint64_t self = 0;

	if (!enter_netns())
		return;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%u %u", &lo, &hi), 2);
	fclose(f);
	ck_assert(lo <= 40001 && hi >= 55555);
	listen_many(open, 2, fds);
	for (int round = 0; round < 2; round++) {
		struct pw_scan_space s;
		struct collect c = { 0 };
		struct pw_engine_params p;
		struct pw_engine_stats st;

		space_init(&s, LO4, (uint16_t)lo, (uint16_t)hi);
		p = params(&s, &c);
		p.key = (uint64_t)round;
		ck_assert_int_eq(run(&p, &c, &st), 0);
		assert_exact(&c, &s, open, 2);
		self += st.self_connects;
		space_done(&s);
		free(c.r);
	}
	fprintf(stderr, "ephemeral range %u-%u: %llu self-connects caught\n", lo, hi,
		(unsigned long long)self);
}
END_TEST

/*
 * Few file descriptors, many probes wanted, and 20 of them staying in
 * flight (dropped SYNs): EMFILE comes, and must never become a state.
 */
START_TEST(emfile_no_false_states)
{
	static const uint16_t open[] = { 7, 80, 443, 1999 };
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine_stats st;
	struct rlimit rl;
	int fds[4];

	if (!enter_netns() || !drop_ports(1000, 1019))
		return;
	listen_many(open, 4, fds);
	/* room for the engine's epoll fd and a handful of sockets */
	rl.rlim_cur = rl.rlim_max = count_fds() + 6;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	space_init(&s, LO4, 1, 2000);
	p = params(&s, &c);
	p.timing.concurrency = 300;
	p.timing.initial_timeout_usec = 50 * USEC_PER_MSEC;
	p.timing.min_timeout_usec = 20 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, &st), 0);
	ck_assert_uint_eq(c.n, 2000);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(find(&c, LO4, open[i])->state, PW_STATE_OPEN);
	for (uint16_t port = 1000; port <= 1019; port++)
		ck_assert_int_eq(find(&c, LO4, port)->state, PW_STATE_FILTERED);
	ck_assert_uint_eq(st.open, 4);
	ck_assert_uint_eq(st.filtered, 20);
	ck_assert_uint_eq(st.closed, 2000 - 24);
	ck_assert_uint_eq(st.unreachable, 0);
	ck_assert_uint_gt(st.scanner_errors, 0);
	space_done(&s);
	free(c.r);
}
END_TEST

/* The position's promise: every index below it was delivered. */
static void assert_prefix_delivered(const struct collect *c, pw_u128 pos, uint64_t key,
				    unsigned nports)
{
	struct pw_perm perm;
	uint8_t *seen = calloc(nports + 1, 1);

	ck_assert_ptr_nonnull(seen);
	ck_assert_int_eq(pw_perm_init(&perm, nports, key), 0);
	for (size_t i = 0; i < c->n; i++)
		seen[c->r[i].port] = 1;
	for (pw_u128 i = 0; i < pos; i++)
		ck_assert_msg(seen[pw_perm_shuffle(&perm, i) + 1],
			      "index %u below the position not delivered", (unsigned)i);
	free(seen);
}

static void abort_midway(unsigned threads)
{
	struct pw_scan_space s;
	struct collect c = { .abort_after = 5000 };
	struct pw_engine_params p;
	struct pw_engine *e;
	unsigned before;
	pw_u128 pos;
	int r;

	/* a third of the ports never answer: sockets are open at the abort */
	if (!enter_netns() || !drop_ports(20000, 40000))
		return;
	space_init(&s, LO4, 1, 65535);
	p = params(&s, &c);
	p.threads = threads;
	before = count_fds();
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	c.e = e;
	r = pw_engine_run_blocking(e);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(c.n, 5000);
	if (threads <= 1)
		ck_assert_uint_gt(c.inflight_at_abort, 0); /* sockets were open */
	/* no socket left: only the engine's epoll fds (and eventfds) remain */
	ck_assert_uint_le(count_fds(), before + (threads > 1 ? 2 + 2 * threads : 1));
	ck_assert_int_eq(pw_engine_process(e, pw_now_usec(CLOCK_MONOTONIC)), 0);
	pos = pw_engine_position(e);
	ck_assert(pos <= 5000);
	assert_prefix_delivered(&c, pos, p.key, 65535);
	pw_engine_free(e);
	ck_assert_uint_eq(count_fds(), before);
	space_done(&s);
	free(c.r);
}

START_TEST(abort_leaks_nothing)
{
	abort_midway(1);
}
END_TEST

START_TEST(abort_leaks_nothing_threaded)
{
	abort_midway(2);
}
END_TEST

/* Stop halfway, resume at the position: together every port exactly once or more, none missing. */
START_TEST(resume_from_position)
{
	static const uint16_t open[] = { 5, 3000, 9999 };
	struct pw_scan_space s;
	struct collect a = { .abort_after = 4000 }, b = { 0 };
	struct pw_engine_params p;
	struct pw_engine *e;
	uint8_t *seen;
	int fds[3];
	pw_u128 pos;

	if (!enter_netns())
		return;
	listen_many(open, 3, fds);
	space_init(&s, LO4, 1, 10000);
	p = params(&s, &a);
	p.timing.concurrency = 64; /* so that the order is almost kept */
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	a.e = e;
	ck_assert_int_eq(pw_engine_run_blocking(e), 0);
	pos = pw_engine_position(e);
	pw_engine_free(e);
	ck_assert_msg(pos > 0 && pos <= 4000, "position %llu", (unsigned long long)pos);
	assert_prefix_delivered(&a, pos, p.key, 10000);

	p = params(&s, &b);
	p.start_index = pos;
	ck_assert_int_eq(run(&p, &b, NULL), 0);
	ck_assert(b.n == 10000 - pos);
	seen = calloc(10001, 1);
	for (size_t i = 0; i < a.n; i++)
		seen[a.r[i].port] = 1;
	for (size_t i = 0; i < b.n; i++)
		seen[b.r[i].port] = 1;
	for (unsigned port = 1; port <= 10000; port++)
		ck_assert_msg(seen[port], "port %u never reported", port);
	for (size_t i = 0; i < 3; i++) {
		bool found = false;

		for (size_t k = 0; k < a.n; k++)
			found |= a.r[k].port == open[i] && a.r[k].state == PW_STATE_OPEN;
		for (size_t k = 0; k < b.n; k++)
			found |= b.r[k].port == open[i] && b.r[k].state == PW_STATE_OPEN;
		ck_assert(found);
	}
	free(seen);
	space_done(&s);
	free(a.r);
	free(b.r);
}
END_TEST

/* Shards 1..3 of 3 partition the space: no overlap, nothing missing. */
START_TEST(shards_partition)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	uint8_t seen[4][301] = { { 0 } };

	if (!enter_netns())
		return;
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4 + 2), 0); /* 127.0.0.1-3 */
	ck_assert_int_eq(pw_iset_add(&s.ports, 1, 100), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct collect c = { 0 };
		struct pw_engine_params p = params(&s, &c);

		p.shard_i = i;
		p.shard_n = 3;
		ck_assert_int_eq(run(&p, &c, NULL), 0);
		ck_assert_uint_eq(c.n, 100);
		for (size_t k = 0; k < c.n; k++) {
			unsigned a = (unsigned)(c.r[k].addr - LO4);

			ck_assert_uint_lt(a, 3);
			ck_assert(!seen[a][c.r[k].port]);
			seen[a][c.r[k].port] = 1;
		}
		free(c.r);
	}
	for (unsigned a = 0; a < 3; a++)
		for (unsigned port = 1; port <= 100; port++)
			ck_assert(seen[a][port]);
	space_done(&s);
}
END_TEST

/* Dropped SYNs: filtered after all retries; rejected: unreachable. */
START_TEST(filtered_and_unreachable)
{
	static const uint16_t open[] = { 80 };
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	int fds[1];

	if (!enter_netns())
		return;
	if (!nft("table inet pwtest {\n"
		 " chain out { type filter hook output priority 0;\n"
		 "  tcp dport 100-109 drop\n"
		 "  tcp dport 200-204 reject with icmpx host-unreachable\n"
		 " }\n"
		 "}\n")) {
		fprintf(stderr, "skipped: nft not usable\n");
		return;
	}
	listen_many(open, 1, fds);
	space_init(&s, LO4, 80, 80);
	ck_assert_int_eq(pw_iset_add(&s.ports, 100, 109), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 200, 204), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 300, 304), 0);
	p = params(&s, &c);
	p.timing.initial_timeout_usec = 100 * USEC_PER_MSEC;
	p.timing.retries = 2;
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	ck_assert_uint_eq(c.n, 21);
	ck_assert_int_eq(find(&c, LO4, 80)->state, PW_STATE_OPEN);
	for (uint16_t port = 100; port <= 109; port++) {
		const struct pw_probe_result *r = find(&c, LO4, port);

		ck_assert_int_eq(r->state, PW_STATE_FILTERED);
		ck_assert_uint_eq(r->attempts, 3);
	}
	for (uint16_t port = 200; port <= 204; port++)
		ck_assert_int_eq(find(&c, LO4, port)->state, PW_STATE_UNREACHABLE);
	for (uint16_t port = 300; port <= 304; port++)
		ck_assert_int_eq(find(&c, LO4, port)->state, PW_STATE_CLOSED);
	space_done(&s);
	free(c.r);
}
END_TEST

/*
 * Ports the store has never seen (issue 12.1): a timeout is probed again
 * before it counts, so an open port whose first two SYNs were lost (an nft
 * quota drops exactly those) is open, not "filtered", in a baseline; a
 * port that stays silent is filtered, confirmed. Answers count at once.
 */
START_TEST(first_sighting_timeout_confirmed)
{
	static const uint16_t open[] = { 80 };
	struct collect c = { .prev_state = -ENOENT, .close_on_prev = -1 };
	struct pw_scan_space s;
	struct pw_engine_params p;
	const struct pw_probe_result *r;
	int fds[1];

	if (!enter_netns())
		return;
	/* a SYN here is 60 bytes: the quota spans two, never a third */
	if (!nft("table inet pwtest {\n"
		 " chain out { type filter hook output priority 0;\n"
		 "  tcp dport 80 tcp flags syn quota until 150 bytes drop\n"
		 "  tcp dport 100 drop\n"
		 " }\n"
		 "}\n")) {
		fprintf(stderr, "skipped: nft not usable\n");
		return;
	}
	listen_many(open, 1, fds);
	space_init(&s, LO4, 80, 80);
	ck_assert_int_eq(pw_iset_add(&s.ports, 100, 100), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 300, 300), 0);
	p = params(&s, &c);
	p.prev_state = prev_cb;
	p.timing.initial_timeout_usec = 100 * USEC_PER_MSEC;
	p.timing.max_timeout_usec = 100 * USEC_PER_MSEC;
	p.timing.retries = 1;
	p.timing.confirm_count = 1;
	p.timing.confirm_spacing_usec = 10 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	ck_assert_uint_eq(c.n, 3);
	r = find(&c, LO4, 80);
	ck_assert_int_eq(r->state, PW_STATE_OPEN);
	ck_assert_uint_eq(r->flags, 0);
	ck_assert_uint_eq(r->attempts, 3); /* two lost, the re-probe answered */
	r = find(&c, LO4, 100);
	ck_assert_int_eq(r->state, PW_STATE_FILTERED);
	ck_assert_uint_eq(r->flags, PW_RESULT_CONFIRMED);
	ck_assert_uint_eq(r->attempts, 4);
	r = find(&c, LO4, 300);
	ck_assert_int_eq(r->state, PW_STATE_CLOSED); /* an answer: no re-probe */
	ck_assert_uint_eq(r->attempts, 1);
	space_done(&s);
	free(c.r);
}
END_TEST

/*
 * 127.0.0.9 accepts on every port (nft redirects it all to one listener):
 * one "accepts everything" result instead of 2000 open ports, while the
 * real listener on 127.0.0.1 is reported as usual.
 */
START_TEST(wildcard_guard)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine_stats st;
	char rules[512];
	uint16_t lport;
	int lfd;
	size_t wild = 0;

	if (!enter_netns())
		return;
	lfd = sock_on(AF_INET, 0, true, &lport);
	ck_assert_int_ge(lfd, 0);
	snprintf(rules, sizeof(rules),
		 "table ip pwtest {\n"
		 " chain out { type nat hook output priority -100;\n"
		 "  ip daddr 127.0.0.9 tcp dport 1-65535 redirect to :%u\n"
		 " }\n"
		 "}\n",
		 lport);
	if (!nft(rules)) {
		fprintf(stderr, "skipped: nft nat not usable\n");
		return;
	}
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4), 0);
	ck_assert_int_eq(pw_iset_add(&s.addrs, pw_addr_from_v4(0x7f000009),
				     pw_addr_from_v4(0x7f000009)),
			 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 1, 2000), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, lport, lport), 0);
	p = params(&s, &c);
	p.canaries = 3;
	p.accept_share_pct = 90;
	ck_assert_int_eq(run(&p, &c, &st), 0);
	for (size_t i = 0; i < c.n; i++) {
		if (c.r[i].flags & PW_RESULT_ACCEPTS_ALL) {
			ck_assert(c.r[i].addr == pw_addr_from_v4(0x7f000009));
			ck_assert_uint_eq(c.r[i].port, 0);
			wild++;
		} else if (c.r[i].addr == pw_addr_from_v4(0x7f000009)) {
			ck_assert_msg(c.r[i].state != PW_STATE_OPEN,
				      "open port %u on the wildcard address (flags %u)",
				      c.r[i].port, c.r[i].flags);
		}
	}
	ck_assert_uint_eq(wild, 1);
	ck_assert_uint_eq(st.suppressed, 2001);
	/* 127.0.0.1: exactly its one listener */
	ck_assert_int_eq(find(&c, LO4, lport)->state, PW_STATE_OPEN);
	ck_assert_uint_eq(count_state(&c, PW_STATE_OPEN), 1);
	close(lfd);
	space_done(&s);
	free(c.r);
}
END_TEST

/*
 * An address that starts accepting every port in the middle of a run (issue
 * 12.3): a thread adds an nft rule redirecting every port of 127.0.0.1 but
 * the listener's to it once `on_after` results are in, and for a blip
 * removes it again `blip_usec` later; it also drains the listener's accept
 * queue. The store's baseline (prev_state) has the listeners open and
 * every other port closed. Before the guard held news until a canary round
 * after it, the address was judged clean at its first open port and every
 * later port was reported open: ~1200 of them.
 */
struct wild_run {
	struct collect c;
	pthread_t thread;
	atomic_size_t results;
	atomic_bool stop;
	int lfd;
	uint16_t lport;
	const uint16_t *open;
	size_t nopen;
	size_t on_after;
	uint64_t blip_usec; /* 0: stays on */
	bool on_failed;
};

static bool wild_redirect(const char *daddr, uint16_t lport, bool on)
{
	char rules[512];

	if (!on)
		return nft("delete table ip pwwild\n");
	snprintf(rules, sizeof(rules),
		 "table ip pwwild {\n"
		 " chain out { type nat hook output priority -100;\n"
		 "  ip daddr %s tcp dport != %u redirect to :%u\n"
		 " }\n"
		 "}\n",
		 daddr, lport, lport);
	return nft(rules);
}

static void *wild_thread(void *arg)
{
	struct wild_run *w = arg;
	uint64_t on_at = 0;
	bool on = w->on_after == 0, off = false;

	while (!atomic_load(&w->stop)) {
		struct pollfd pfd = { .fd = w->lfd, .events = POLLIN };
		int fd;

		(void)poll(&pfd, 1, 1);
		while ((fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
		if (!on && atomic_load(&w->results) >= w->on_after) {
			w->on_failed = !wild_redirect("127.0.0.1", w->lport, true);
			on = true;
			on_at = pw_now_usec(CLOCK_MONOTONIC);
		} else if (on && !off && w->blip_usec &&
			   pw_now_usec(CLOCK_MONOTONIC) - on_at >= w->blip_usec) {
			(void)wild_redirect(NULL, 0, false);
			off = true;
		}
	}
	return NULL;
}

static void wild_cb(void *u, const struct pw_probe_result *r)
{
	struct wild_run *w = u;

	collect_cb(&w->c, r);
	atomic_fetch_add(&w->results, 1);
}

static int wild_prev(void *u, pw_u128 addr, uint16_t port)
{
	const struct wild_run *w = u;

	for (size_t i = 0; i < w->nopen; i++)
		if (w->open[i] == port)
			return PW_STATE_OPEN;
	return port == w->lport ? PW_STATE_OPEN : PW_STATE_CLOSED;
}

static bool wild_start(struct wild_run *w)
{
	w->lfd = sock_on(AF_INET, 0, true, &w->lport);
	ck_assert_int_ge(w->lfd, 0);
	ck_assert_int_eq(fcntl(w->lfd, F_SETFL, O_NONBLOCK), 0);
	if (!wild_redirect("127.0.0.1", w->lport, true)) {
		fprintf(stderr, "skipped: nft nat not usable\n");
		return false;
	}
	(void)wild_redirect(NULL, 0, false);
	atomic_init(&w->results, 0);
	atomic_init(&w->stop, false);
	ck_assert_int_eq(pthread_create(&w->thread, NULL, wild_thread, w), 0);
	return true;
}

static void wild_stop(struct wild_run *w)
{
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	close(w->lfd);
	ck_assert(!w->on_failed);
}

/* Counts of a run's results: accepts-all reports, open ports that are
 * news (the baseline had them closed), withdrawals. */
static void wild_count(const struct wild_run *w, size_t *ret_wild, size_t *ret_news,
		       size_t *ret_retracted)
{
	*ret_wild = *ret_news = *ret_retracted = 0;
	for (size_t i = 0; i < w->c.n; i++) {
		const struct pw_probe_result *r = &w->c.r[i];

		if (r->flags & PW_RESULT_ACCEPTS_ALL)
			(*ret_wild)++;
		else if (r->flags & PW_RESULT_RETRACTED)
			(*ret_retracted)++;
		else if (r->state == PW_STATE_OPEN &&
			 wild_prev((void *)w, r->addr, r->port) != PW_STATE_OPEN)
			(*ret_news)++;
	}
}

static void wild_mid_run(unsigned threads, uint64_t blip_usec, bool confirm, size_t *ret_wild,
			 size_t *ret_news, size_t *ret_retracted)
{
	static const uint16_t open[] = {
		21,  22,   25,   80,   110,  143,  443,  465,  587,  993,
		995, 1080, 1194, 1433, 1521, 1723, 1883, 1900, 1935, 1985
	};
	struct wild_run w = {
		.open = open, .nopen = PW_ELEMENTSOF(open), .on_after = 800, .blip_usec = blip_usec
	};
	struct pw_scan_space s;
	struct pw_engine_params p;
	struct pw_engine *e;
	int fds[PW_ELEMENTSOF(open)];

	*ret_wild = SIZE_MAX;
	if (!enter_netns() || !wild_start(&w))
		return;
	listen_many(open, PW_ELEMENTSOF(open), fds);
	space_init(&s, LO4, 1, 2000);
	p = params(&s, &w.c);
	p.on_result = wild_cb;
	p.prev_state = wild_prev;
	p.userdata = &w;
	p.threads = threads;
	p.canaries = 3;
	p.accept_share_pct = 90;
	p.timing.rate = 2000; /* a run of about a second */
	/* without confirmation (or a store) every open is news, held */
	p.timing.confirm_count = confirm;
	p.timing.confirm_spacing_usec = 50 * USEC_PER_MSEC;
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	w.c.e = e;
	ck_assert_int_eq(pw_engine_run_blocking(e), 0);
	pw_engine_free(e);
	wild_stop(&w);
	wild_count(&w, ret_wild, ret_news, ret_retracted);
	for (size_t i = 0; i < PW_ELEMENTSOF(open); i++)
		close(fds[i]);
	space_done(&s);
	free(w.c.r);
}

START_TEST(wildcard_mid_run)
{
	size_t wild, news, retracted;

	wild_mid_run(1 + (unsigned)_i, 0, true, &wild, &news, &retracted);
	if (wild == SIZE_MAX)
		return;
	ck_assert_uint_eq(wild, 1);
	ck_assert_uint_eq(news, 0);
	ck_assert_uint_eq(retracted, 0);
}
END_TEST

/*
 * 5 ms of accepting everything: no port reported open, at most one report;
 * with confirmation (_i = 1) its re-probes see the blip gone, without
 * (_i = 0) the canary rounds after each port must.
 */
START_TEST(wildcard_blip)
{
	size_t wild, news, retracted;

	wild_mid_run(1, 5 * USEC_PER_MSEC, _i == 1, &wild, &news, &retracted);
	if (wild == SIZE_MAX)
		return;
	ck_assert_uint_le(wild, 1);
	ck_assert_uint_eq(news, retracted);
	ck_assert_uint_eq(news, 0);
}
END_TEST

/*
 * The rare withdrawal: 127.0.0.1's high ports really are open (nft sends
 * them to a listener), its low ones closed, and port 100 opens. Canary
 * rounds then say neither yes nor no; after its re-probes port 100 is
 * reported. When the address then accepts everything, that report is
 * withdrawn (PW_RESULT_RETRACTED, back to the store's "closed") along with
 * the one accepts-all report.
 */
struct retract_run {
	struct collect c;
	uint16_t lport;
	bool switched;
};

static void retract_cb(void *u, const struct pw_probe_result *r)
{
	struct retract_run *w = u;

	collect_cb(&w->c, r);
	if (!w->switched && r->port == 100 && r->state == PW_STATE_OPEN &&
	    !(r->flags & PW_RESULT_RETRACTED)) {
		w->switched = true;
		ck_assert(wild_redirect("127.0.0.1", w->lport, true));
	}
}

static int closed_prev(void *u, pw_u128 addr, uint16_t port)
{
	return PW_STATE_CLOSED;
}

START_TEST(wildcard_withdraws_what_it_let_through)
{
	static const uint16_t open[] = { 100 };
	struct retract_run w = { 0 };
	struct pw_scan_space s;
	struct pw_engine_params p;
	char rules[256];
	size_t wild = 0, retracted = 0, opens = 0;
	int fds[1], lfd;

	if (!enter_netns())
		return;
	lfd = sock_on(AF_INET, 40000, true, &w.lport);
	ck_assert_int_ge(lfd, 0);
	snprintf(rules, sizeof(rules),
		 "table ip pwhigh {\n"
		 " chain out { type nat hook output priority -100;\n"
		 "  ip daddr 127.0.0.1 tcp dport 49152-65535 redirect to :%u\n"
		 " }\n"
		 "}\n",
		 w.lport);
	if (!nft(rules)) {
		fprintf(stderr, "skipped: nft nat not usable\n");
		return;
	}
	listen_many(open, 1, fds);
	space_init(&s, LO4, 1, 2000);
	p = params(&s, &w.c);
	p.on_result = retract_cb;
	p.prev_state = closed_prev;
	p.userdata = &w;
	p.canaries = 3;
	p.accept_share_pct = 90;
	p.timing.rate = 2000;
	p.timing.confirm_count = 1;
	p.timing.confirm_spacing_usec = 20 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &w.c, NULL), 0);
	ck_assert(w.switched);
	for (size_t i = 0; i < w.c.n; i++) {
		const struct pw_probe_result *r = &w.c.r[i];

		if (r->flags & PW_RESULT_ACCEPTS_ALL) {
			wild++;
		} else if (r->flags & PW_RESULT_RETRACTED) {
			ck_assert_uint_eq(r->port, 100);
			ck_assert_int_eq(r->state, PW_STATE_CLOSED);
			ck_assert_int_eq(r->observed, PW_STATE_OPEN);
			retracted++;
		} else {
			opens += r->state == PW_STATE_OPEN;
		}
	}
	ck_assert_uint_eq(wild, 1);
	ck_assert_uint_eq(retracted, 1);
	ck_assert_uint_eq(opens, 1); /* port 100, before it was withdrawn */
	close(fds[0]);
	close(lfd);
	space_done(&s);
	free(w.c.r);
}
END_TEST

/*
 * Issue 14.15: 2048 addresses that all accept everything, one thread, a
 * host table of 1024 entries: each address is reported once, although its
 * entry is evicted and made again between its ports. (It was reported
 * again each time: the single-thread engine had no memory of its verdicts.)
 */
START_TEST(wildcard_once_per_address)
{
	struct wild_run w = { .on_after = 0 };
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct pw_addrset seen = PW_ADDRSET_INIT;
	struct pw_engine_params p;
	struct pw_engine_stats st;
	struct pw_engine *e;
	char rules[512];

	if (!enter_netns() || !wild_start(&w))
		return;
	snprintf(rules, sizeof(rules),
		 "table ip pwmany {\n"
		 " chain out { type nat hook output priority -100;\n"
		 "  ip daddr 127.1.0.0/21 meta l4proto tcp redirect to :%u\n"
		 " }\n"
		 "}\n",
		 w.lport);
	ck_assert(nft(rules));
	ck_assert_int_eq(pw_iset_add(&s.addrs, pw_addr_from_v4(0x7f010000),
				     pw_addr_from_v4(0x7f0107ff)),
			 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, 1, 3), 0);
	p = params(&s, &w.c);
	p.on_result = wild_cb;
	p.userdata = &w;
	p.threads = 1;
	p.canaries = 3;
	p.timing.concurrency = 64; /* 99 slots: a host table of 1024 entries */
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	w.c.e = e;
	ck_assert_int_eq(pw_engine_run_blocking(e), 0);
	pw_engine_get_stats(e, &st);
	pw_engine_free(e);
	wild_stop(&w);
	for (size_t i = 0; i < w.c.n; i++) {
		ck_assert_msg(w.c.r[i].flags & PW_RESULT_ACCEPTS_ALL,
			      "port %u reported (state %d flags %u addr %x)", w.c.r[i].port,
			      w.c.r[i].state, w.c.r[i].flags, (unsigned)w.c.r[i].addr);
		ck_assert_int_eq(pw_addrset_add(&seen, w.c.r[i].addr), 1);
	}
	ck_assert_uint_eq(w.c.n, 2048);
	ck_assert_uint_eq(st.accepts_all, 2048);
	ck_assert_uint_eq(st.suppressed, 3 * 2048);
	pw_addrset_done(&seen);
	space_done(&s);
	free(w.c.r);
}
END_TEST

/* A saved estimate is where timeouts start; answers then pull it down. */
START_TEST(rtt_estimate)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { .prev_state = -ENOENT, .close_on_prev = -1 };
	struct pw_engine_params p = params(&s, &c);
	struct pw_engine *e;
	uint32_t srtt = 0, rttvar = 0;
	uint16_t po, pc;
	int lfd = sock_on(AF_INET, 0, true, &po), cfd = sock_on(AF_INET, 0, false, &pc);

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, po, po), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, pc, pc), 0);

	/* nothing saved, nothing measured yet */
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	ck_assert(!pw_engine_rtt(e, &srtt, &rttvar));
	pw_engine_free(e);

	p.saved_srtt_usec = 80000;
	p.saved_rttvar_usec = 1000;
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	ck_assert(pw_engine_rtt(e, &srtt, &rttvar));
	ck_assert_uint_eq(srtt, 80000);
	ck_assert_uint_eq(rttvar, 1000);
	ck_assert_int_eq(pw_engine_run_blocking(e), 0);
	ck_assert(pw_engine_rtt(e, &srtt, &rttvar));
	/* two loopback answers (microseconds) moved it down by about 1/8 each */
	ck_assert_uint_lt(srtt, 80000 * 7 / 8 + 1000);
	ck_assert_uint_gt(srtt, 0);
	pw_engine_free(e);
	ck_assert_uint_eq(c.n, 2);
	close(lfd);
	close(cfd);
	space_done(&s);
	free(c.r);
}
END_TEST

/* The store says closed, the port is open and stays so: confirmed change. */
START_TEST(confirm_change)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { .prev_state = PW_STATE_CLOSED, .close_on_prev = -1 };
	struct pw_engine_params p = params(&s, &c);
	const struct pw_probe_result *r;
	uint16_t port;
	int lfd = sock_on(AF_INET, 0, true, &port);

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, port, port), 0);
	p.prev_state = prev_cb;
	p.timing.confirm_count = 2;
	p.timing.confirm_spacing_usec = 10 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	ck_assert_uint_eq(c.n, 1);
	r = &c.r[0];
	ck_assert_int_eq(r->state, PW_STATE_OPEN);
	ck_assert_uint_eq(r->flags, PW_RESULT_CONFIRMED);
	/* one probe and two re-probes, plus one look more if the port is in
	 * the ephemeral range (see ephemeral_range_no_phantoms) */
	ck_assert_uint_ge(r->attempts, 3);
	ck_assert_uint_le(r->attempts, 4);
	close(lfd);
	space_done(&s);
	free(c.r);
}
END_TEST

/* engine.h allows an abort from the owner's thread, prev_state included:
 * the confirmation it then arms must not outlive the slots (it did, and
 * pw_engine_free wrote into them after freeing: ASan). */
START_TEST(abort_from_prev_state)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { .prev_state = PW_STATE_CLOSED,
			     .close_on_prev = -1,
			     .abort_on_prev = true };
	struct pw_engine_params p = params(&s, &c);
	uint16_t port;
	int lfd = sock_on(AF_INET, 0, true, &port);

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, port, port), 0);
	p.prev_state = prev_cb;
	p.threads = 1;
	p.timing.confirm_count = 2;
	p.timing.confirm_spacing_usec = 10 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	/* aborted before the change was confirmed: nothing is reported */
	ck_assert_uint_eq(c.n, 0);
	close(lfd);
	space_done(&s);
	free(c.r);
}
END_TEST

/* The port was open once and closes before the re-probe: a flap, not a change. */
START_TEST(unconfirmed_flap)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { .prev_state = PW_STATE_CLOSED };
	struct pw_engine_params p = params(&s, &c);
	const struct pw_probe_result *r;
	uint16_t port;
	int lfd = sock_on(AF_INET, 0, true, &port);

	ck_assert_int_ge(lfd, 0);
	c.close_on_prev = lfd;
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, port, port), 0);
	p.prev_state = prev_cb;
	p.timing.confirm_count = 2;
	p.timing.confirm_spacing_usec = 10 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	ck_assert_uint_eq(c.n, 1);
	r = &c.r[0];
	ck_assert_int_eq(r->state, PW_STATE_CLOSED); /* the old state stands */
	ck_assert_int_eq(r->observed, PW_STATE_OPEN);
	ck_assert_uint_eq(r->flags, PW_RESULT_UNCONFIRMED);
	space_done(&s);
	free(c.r);
}
END_TEST

/*
 * A rate of 200/s over 60 probes takes about 0.3 s, not less: the job's own
 * rate (_i = 0) or a limiter shared with other engines (_i = 1), which is
 * then below a job rate of 1000/s.
 */
/*
 * The event loop stalls (a database flush, a slow lookup) while answers
 * wait in the kernel, more of them than one epoll batch: every one must be
 * read before any timer fires, or answered probes turn "filtered". The
 * answers are held back by dropping the first SYNs; the kernel resends
 * them after its 1 s initial RTO, they connect at once, and the engine
 * looks only at 1.5 s, past the 1.2 s probe timeout.
 */
START_TEST(stall_does_not_fake_timeouts)
{
	struct pw_scan_space s = { PW_ISET_INIT, PW_ISET_INIT };
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine_stats st;
	struct pw_engine *e;
	uint64_t wrong = 0;
	int lfd;
	uint16_t port;

	if (!enter_netns())
		return;
	lfd = sock_on(AF_INET, 0, true, &port);
	ck_assert_int_ge(lfd, 0);
	if (!drop_ports(port, port))
		return;
	/* 500 addresses of 127/8 (more than one epoll batch, fewer than the SYN backlog), one port: a wildcard-free listener on
	 * 127.0.0.1 answers only there, so listen on every address */
	close(lfd);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
		int one = 1;

		lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(lfd, 0);
		(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		ck_assert_int_eq(listen(lfd, 4096), 0);
	}
	ck_assert_int_eq(pw_iset_add(&s.addrs, LO4, LO4 + 499), 0);
	ck_assert_int_eq(pw_iset_add(&s.ports, port, port), 0);
	p = params(&s, &c);
	p.timing.initial_timeout_usec = 1200 * USEC_PER_MSEC;
	p.timing.min_timeout_usec = 1200 * USEC_PER_MSEC;
	p.timing.max_timeout_usec = 1200 * USEC_PER_MSEC;
	p.timing.retries = 0;
	p.timing.concurrency = 4000;
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	c.e = e;
	for (int i = 0; i < 200; i++) {
		ck_assert_int_gt(pw_engine_process(e, pw_now_usec(CLOCK_MONOTONIC)), 0);
		pw_engine_get_stats(e, &st);
		if (st.inflight >= 500)
			break;
	}
	ck_assert_uint_eq(st.inflight, 500);
	ck_assert(nft("delete table inet pwdrop\n"));
	usleep(1500 * 1000);
	ck_assert_int_eq(pw_engine_run_blocking(e), 0);
	pw_engine_free(e);
	c.e = NULL;
	ck_assert_uint_eq(c.n, 500);
	for (size_t i = 0; i < c.n; i++)
		wrong += c.r[i].state != PW_STATE_OPEN;
	ck_assert_uint_eq(wrong, 0);
	close(lfd);
	space_done(&s);
	free(c.r);
}
END_TEST

START_TEST(rate_is_kept)
{
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_ratelimit shared;
	uint64_t t0, dt;

	if (!enter_netns())
		return;
	space_init(&s, LO4, 1000, 1059);
	p = params(&s, &c);
	if (_i == 0) {
		p.timing.rate = 200;
	} else {
		pw_ratelimit_init(&shared, 200, 0);
		p.timing.rate = 1000;
		p.shared_rate = &shared;
	}
	t0 = pw_now_usec(CLOCK_MONOTONIC);
	ck_assert_int_eq(run(&p, &c, NULL), 0);
	dt = pw_now_usec(CLOCK_MONOTONIC) - t0;
	ck_assert_uint_eq(c.n, 60);
	/* 60 tokens at 200/s with a burst of 2: at least 290 ms */
	ck_assert_uint_ge(dt, 280 * USEC_PER_MSEC);
	ck_assert_uint_le(dt, 1500 * USEC_PER_MSEC);
	space_done(&s);
	free(c.r);
}
END_TEST

/* With a per-address cap of 2, never more than 2 sockets at once. */
START_TEST(host_cap_is_kept)
{
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine *e;
	unsigned peak = 0;
	int r;

	if (!enter_netns())
		return;
	if (!nft("table inet pwtest {\n"
		 " chain out { type filter hook output priority 0;\n"
		 "  tcp dport 1-20 drop\n"
		 " }\n"
		 "}\n")) {
		fprintf(stderr, "skipped: nft not usable\n");
		return;
	}
	space_init(&s, LO4, 1, 20);
	p = params(&s, &c);
	p.timing.host_concurrency = 2;
	p.timing.retries = 0;
	p.timing.initial_timeout_usec = 20 * USEC_PER_MSEC;
	p.timing.min_timeout_usec = 20 * USEC_PER_MSEC;
	ck_assert_int_eq(pw_engine_new(&p, &e), 0);
	c.e = e;
	do {
		struct pw_engine_stats st;

		r = pw_engine_process(e, pw_now_usec(CLOCK_MONOTONIC));
		pw_engine_get_stats(e, &st);
		if (st.inflight > peak)
			peak = st.inflight;
		usleep(2000);
	} while (r > 0);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(peak, 2);
	ck_assert_uint_eq(c.n, 20);
	ck_assert_uint_eq(count_state(&c, PW_STATE_FILTERED), 20);
	pw_engine_free(e);
	space_done(&s);
	free(c.r);
}
END_TEST

/* ------------------------------------------------------------------ loss adaptation */

/* The adaptation's arithmetic (engine-loss.c), worked out by hand. */
START_TEST(loss_attempts_table)
{
	static const struct {
		uint64_t lost, answered;
		unsigned retries, max_retries, want;
	} t[] = {
		{ 0, 1000, 1, 10, 2 },     /* nothing lost: the configured retries */
		{ 1, 1000, 1, 10, 2 },     /* one late answer is no loss */
		{ 0, 0, 2, 10, 3 },        /* nothing answered: silence, not loss */
		{ 190, 1000, 1, 10, 9 },   /* ~19% per attempt (10% each way): q <= 0.182 */
		{ 190, 1000, 1, 5, 6 },    /* within the cap */
		{ 190, 1000, 1, 1, 2 },    /* max_retries = retries: no adaptation */
		{ 190, 1000, 1, 0, 2 },    /* ... below, too */
		{ 190, 1000, 12, 10, 13 }, /* never fewer than configured */
		{ 59, 1000, 2, 10, 6 },    /* ~6% (3% each way) */
		{ 2, 10000, 2, 10, 3 },    /* rare loss: what was configured is enough */
		{ 2, 10000, 1, 10, 2 },    { 2, 1, 1, 10, 11 }, /* two of three lost: the cap */
		{ 560, 1000, 2, 10, 11 },                       /* ~36% (20% each way): the cap */
	};

	for (size_t i = 0; i < PW_ELEMENTSOF(t); i++)
		ck_assert_msg(pw_engine_loss_attempts(t[i].lost, t[i].answered, t[i].retries,
						      t[i].max_retries) == t[i].want,
			      "row %zu: %u attempts, want %u", i,
			      pw_engine_loss_attempts(t[i].lost, t[i].answered, t[i].retries,
						      t[i].max_retries),
			      t[i].want);
	/* silence in a row is conclusive once q^n < 1e-6 */
	ck_assert(pw_engine_loss_conclusive(0, 0, 1));
	ck_assert(pw_engine_loss_conclusive(1, 1000, 1));
	ck_assert(!pw_engine_loss_conclusive(190, 1000, 8));
	ck_assert(pw_engine_loss_conclusive(190, 1000, 9));
	ck_assert(!pw_engine_loss_conclusive(560, 1000, 11));
	ck_assert(pw_engine_loss_conclusive(560, 1000, 22));
	ck_assert(!pw_engine_loss_conclusive(2, 1, 33));
	ck_assert(!pw_engine_loss_conclusive(2, 10000, 1));
	ck_assert(pw_engine_loss_conclusive(2, 10000, 2));
}
END_TEST

START_TEST(loss_pct)
{
	struct pw_engine_stats st = { .lost = 19, .answered = 81 };
	double pct = -1;

	ck_assert(pw_engine_loss_pct(&st, &pct));
	ck_assert(pct > 18.99 && pct < 19.01);
	st = (struct pw_engine_stats){ .lost = 0, .answered = 0 };
	ck_assert(!pw_engine_loss_pct(&st, &pct));
}
END_TEST

/*
 * nft rules that drop the first n SYNs to each port of lo-hi (one dynamic
 * set per SYN dropped), and every SYN to drop_lo-drop_hi (0: none).
 */
static bool lossy_ports(const unsigned (*first)[3], size_t n_first, unsigned drop_lo,
			unsigned drop_hi)
{
	char rules[4096];
	size_t u = 0;
	unsigned sets = 0;

	for (size_t i = 0; i < n_first; i++)
		sets = first[i][2] > sets ? first[i][2] : sets;
	u += (size_t)snprintf(rules + u, sizeof(rules) - u, "table inet pwloss {\n");
	for (unsigned k = 1; k <= sets; k++)
		u += (size_t)snprintf(rules + u, sizeof(rules) - u,
				      " set s%u { type inet_service; flags dynamic; }\n", k);
	u += (size_t)snprintf(rules + u, sizeof(rules) - u,
			      " chain out { type filter hook output priority 0;\n");
	for (size_t i = 0; i < n_first; i++)
		for (unsigned k = 1; k <= first[i][2]; k++)
			u += (size_t)snprintf(
				rules + u, sizeof(rules) - u,
				"  tcp flags syn tcp dport %u-%u tcp dport != @s%u add @s%u { tcp dport } drop\n",
				first[i][0], first[i][1], k, k);
	if (drop_lo)
		u += (size_t)snprintf(rules + u, sizeof(rules) - u, "  tcp dport %u-%u drop\n",
				      drop_lo, drop_hi);
	snprintf(rules + u, sizeof(rules) - u, " }\n}\n");
	if (!nft(rules)) {
		fprintf(stderr, "skipped: nft dynamic sets not usable\n");
		return false;
	}
	return true;
}

/*
 * Without a store (portwatch scan): 1-100 lose their first SYN and answer
 * the retry, which measures the loss; 101-120 lose three, more than the
 * configured retry, and are closed all the same because the address is
 * lossy; 131-135 never answer: more rounds, then filtered. With
 * max_retries = retries (no adaptation), 101-120 come out filtered: what
 * the engine reported before it adapted.
 */
START_TEST(loss_raises_retries)
{
	static const unsigned first[][3] = { { 1, 100, 1 }, { 101, 120, 3 } };
	struct pw_scan_space s;
	struct pw_engine_params p;
	struct pw_engine_stats st;

	if (!enter_netns() || !lossy_ports(first, 2, 131, 135))
		return;
	for (int adapt = 0; adapt <= 1; adapt++) {
		struct collect c = { 0 };

		space_init(&s, LO4, 1, 135);
		p = params(&s, &c);
		p.timing.retries = 1;
		p.timing.max_retries = adapt ? 4 : 1;
		ck_assert_int_eq(run(&p, &c, &st), 0);
		ck_assert_uint_eq(c.n, 135);
		ck_assert_uint_eq(count_state(&c, PW_STATE_CLOSED), adapt ? 130 : 110);
		ck_assert_uint_eq(count_state(&c, PW_STATE_FILTERED), adapt ? 5 : 25);
		ck_assert_uint_eq(st.lossy_hosts, adapt);
		if (adapt) {
			for (uint16_t port = 101; port <= 120; port++)
				ck_assert_uint_eq(find(&c, LO4, port)->attempts, 4);
			/* 5 attempts a round, and two more rounds: q stays above 0.5 */
			for (uint16_t port = 131; port <= 135; port++) {
				ck_assert_uint_eq(find(&c, LO4, port)->attempts, 15);
				ck_assert_uint_eq(find(&c, LO4, port)->flags, PW_RESULT_CONFIRMED);
			}
			ck_assert_uint_eq(st.lost, 100 + 20 * 3);
			ck_assert_uint_eq(st.answered, 130);
			ck_assert_uint_eq(st.loss_attempts, 20 * 2 + 5 * (3 + 5 + 5));
		}
		/* the next round's sets start empty */
		ck_assert(nft("flush set inet pwloss s1\nflush set inet pwloss s2\n"
			      "flush set inet pwloss s3\n"));
		space_done(&s);
		free(c.r);
	}
}
END_TEST

/*
 * An address that drops everything has no loss, only silence: no extra
 * attempt, nothing lossy, whatever max_retries allows.
 */
START_TEST(silence_is_not_loss)
{
	struct pw_scan_space s;
	struct collect c = { 0 };
	struct pw_engine_params p;
	struct pw_engine_stats st;

	if (!enter_netns() || !drop_ports(100, 109))
		return;
	space_init(&s, LO4, 100, 109);
	ck_assert_int_eq(pw_iset_add(&s.ports, 300, 304), 0);
	p = params(&s, &c);
	p.timing.retries = 2;
	p.timing.max_retries = 10;
	ck_assert_int_eq(run(&p, &c, &st), 0);
	for (uint16_t port = 100; port <= 109; port++) {
		ck_assert_int_eq(find(&c, LO4, port)->state, PW_STATE_FILTERED);
		ck_assert_uint_eq(find(&c, LO4, port)->attempts, 3);
	}
	ck_assert_uint_eq(count_state(&c, PW_STATE_CLOSED), 5);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.lossy_hosts, 0);
	ck_assert_uint_eq(st.loss_attempts, 0);
	space_done(&s);
	free(c.r);
}
END_TEST

/*
 * The store says closed. 101-120 lose four SYNs, more than a round may
 * take (max_retries 2), and answer the re-probe: on an address that loses
 * packets that silence was loss, so the port is closed as stored, not a
 * flap (before: PW_RESULT_UNCONFIRMED, observed filtered, a flap event).
 * 131-135 never answer: after all rounds their silence is still not
 * conclusive on an address this lossy, so the stored state stands.
 */
START_TEST(loss_keeps_stored_state)
{
	static const unsigned first[][3] = { { 1, 100, 1 }, { 101, 120, 4 } };
	struct collect c = { .prev_state = PW_STATE_CLOSED, .close_on_prev = -1 };
	struct pw_scan_space s;
	struct pw_engine_params p;
	struct pw_engine_stats st;

	if (!enter_netns() || !lossy_ports(first, 2, 131, 135))
		return;
	space_init(&s, LO4, 1, 135);
	p = params(&s, &c);
	p.prev_state = prev_cb;
	p.timing.retries = 1;
	p.timing.max_retries = 2;
	p.timing.confirm_count = 1;
	p.timing.confirm_spacing_usec = 10 * USEC_PER_MSEC;
	ck_assert_int_eq(run(&p, &c, &st), 0);
	ck_assert_uint_eq(c.n, 135);
	for (uint16_t port = 1; port <= 130; port++) {
		const struct pw_probe_result *r = find(&c, LO4, port);

		ck_assert_int_eq(r->state, PW_STATE_CLOSED);
		ck_assert_int_eq(r->observed, PW_STATE_CLOSED);
		ck_assert_msg(r->flags == 0, "port %u: flags %u", port, r->flags);
	}
	for (uint16_t port = 101; port <= 120; port++)
		ck_assert_uint_eq(find(&c, LO4, port)->attempts, 5);
	for (uint16_t port = 131; port <= 135; port++) {
		const struct pw_probe_result *r = find(&c, LO4, port);

		ck_assert_int_eq(r->state, PW_STATE_CLOSED);
		ck_assert_int_eq(r->observed, PW_STATE_FILTERED);
		ck_assert_uint_eq(r->flags, PW_RESULT_UNCONFIRMED);
		ck_assert_uint_eq(r->attempts, 3 * 4); /* the round, its confirmation, two more */
	}
	ck_assert_uint_eq(st.unconfirmed, 5);
	space_done(&s);
	free(c.r);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("loopback");
	TCase *ns = tcase_create("netns");

	tcase_add_test(tc, open_closed_v4);
	tcase_add_test(tc, open_closed_v6);
	tcase_add_test(tc, open_closed_threaded);
	tcase_add_test(tc, rejects_bad_params);
	tcase_add_test(tc, huge_space_starts_small);
	tcase_add_test(tc, rtt_estimate);
	tcase_add_test(tc, confirm_change);
	tcase_add_test(tc, abort_from_prev_state);
	tcase_add_test(tc, first_sighting_timeout_confirmed);
	tcase_add_test(tc, unconfirmed_flap);
	tcase_add_test(tc, loss_attempts_table);
	tcase_add_test(tc, loss_pct);
	suite_add_tcase(s, tc);

	tcase_set_timeout(ns, 60);
	tcase_add_test(ns, full_range_single);
	tcase_add_test(ns, full_range_threads);
	tcase_add_test(ns, ephemeral_range_no_phantoms);
	tcase_add_test(ns, emfile_no_false_states);
	tcase_add_test(ns, abort_leaks_nothing);
	tcase_add_test(ns, abort_leaks_nothing_threaded);
	tcase_add_test(ns, resume_from_position);
	tcase_add_test(ns, shards_partition);
	tcase_add_test(ns, filtered_and_unreachable);
	tcase_add_test(ns, wildcard_guard);
	tcase_add_loop_test(ns, wildcard_mid_run, 0, 2);
	tcase_add_loop_test(ns, wildcard_blip, 0, 2);
	tcase_add_test(ns, wildcard_once_per_address);
	tcase_add_test(ns, wildcard_withdraws_what_it_let_through);
	tcase_add_test(ns, stall_does_not_fake_timeouts);
	tcase_add_loop_test(ns, rate_is_kept, 0, 2);
	tcase_add_test(ns, host_cap_is_kept);
	tcase_add_test(ns, loss_raises_retries);
	tcase_add_test(ns, silence_is_not_loss);
	tcase_add_test(ns, loss_keeps_stored_state);
	suite_add_tcase(s, ns);
	return s;
}

PW_CHECK_MAIN(engine_suite)
