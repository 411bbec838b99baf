/* SPDX-License-Identifier: MIT */
/*
 * The engine as its callers see it: construction picks the cap and the
 * number of threads, then the owner either drives its one core directly
 * or collects what the workers hand over. How the parts fit together is
 * in engine-internal.h.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "engine-internal.h"

#define AUTO_CAP_MAX 16384U

static int raise_nofile(uint64_t *ret)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	*ret = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
	return 0;
}

static unsigned auto_cap(uint64_t nofile)
{
	/* leave room for the caller's own files: the store, logs, sd-event */
	uint64_t reserve = nofile / 16 < 64 ? 64 : nofile / 16;

	if (nofile <= reserve + 8)
		return 8;
	return nofile - reserve > AUTO_CAP_MAX ? AUTO_CAP_MAX : (unsigned)(nofile - reserve);
}

static int check_params(const struct pw_engine_params *p)
{
	const struct pw_scan_timing *t = &p->timing;

	if (!p->on_result || !p->space)
		return -EINVAL;
	if (p->shard_n && p->shard_i >= p->shard_n)
		return -EINVAL;
	if (t->min_timeout_usec > t->max_timeout_usec || t->max_timeout_usec == 0)
		return -EINVAL;
	if (pw_iset_count(&p->space->addrs) == 0 || pw_iset_count(&p->space->ports) == 0)
		return -EINVAL;
	/* ports are 1..65535 */
	if (p->space->ports.ranges[0].lo < 1 ||
	    p->space->ports.ranges[p->space->ports.n - 1].hi > 65535)
		return -EINVAL;
	if (t->retries > PW_SCAN_MAX_RETRIES || t->max_retries > PW_SCAN_MAX_RETRIES ||
	    t->confirm_count > 255)
		return -EINVAL;
	if (p->shared_rate && p->threads > 1)
		return -EINVAL; /* the limiter is not thread-safe */
	return 0;
}

static struct pw_engine *alloc_engine(const struct pw_engine_params *p)
{
	struct pw_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->p = *p;
	e->p.space = NULL;
	e->epfd = -1;
	e->evfd = -1;
	atomic_init(&e->stop, false);
	pthread_mutex_init(&e->lock, NULL);
	e->canaries = p->canaries > 8 ? 8 : p->canaries;
	e->share = p->accept_share_pct ? p->accept_share_pct : PW_ENGINE_DEFAULT_ACCEPT_SHARE;
	if (e->share > 100)
		e->share = 100;
	pw_addrset_init(&e->wild, PW_ENGINE_MAX_WILDCARDS);
	return e;
}

static int copy_space(struct pw_engine *e, const struct pw_scan_space *space, uint64_t key)
{
	pw_u128 naddrs;
	int r;

	r = pw_iset_copy(&e->space.addrs, &space->addrs);
	if (r >= 0)
		r = pw_iset_copy(&e->space.ports, &space->ports);
	if (r < 0)
		return r;
	naddrs = pw_iset_count(&e->space.addrs);
	e->nports = pw_iset_count(&e->space.ports);
	if (naddrs > PW_PERM_MAX_RANGE / e->nports)
		return -ERANGE;
	e->total = naddrs * e->nports;
	return pw_perm_init(&e->perm, e->total, key);
}

/* A worker without a probe, a slot or one probe per second to send is no use. */
static unsigned pick_threads(const struct pw_engine_params *p, unsigned cap, pw_u128 total)
{
	unsigned threads = p->threads ? p->threads : 1;
	uint64_t rate = p->timing.rate;

	if (rate && threads > rate)
		threads = (unsigned)rate;
	if (threads > cap)
		threads = cap;
	if ((pw_u128)threads > total)
		threads = (unsigned)total;
	return threads < 1 ? 1 : threads;
}

static int start_single(struct pw_engine *e, unsigned host_cap, uint64_t rate)
{
	int r;

	e->single = calloc(1, sizeof(*e->single));
	if (!e->single)
		return -ENOMEM;
	r = engine_core_init(e->single, e, 0, e->cap, host_cap, rate, false);
	if (r < 0)
		return r;
	e->epfd = e->single->epfd;
	return 0;
}

static void free_enginep(struct pw_engine **e)
{
	pw_engine_free(*e);
}

int pw_engine_new(const struct pw_engine_params *p, struct pw_engine **ret)
{
	_cleanup_(free_enginep) struct pw_engine *e = NULL;
	int r;

	r = check_params(p);
	if (r < 0)
		return r;
	e = alloc_engine(p);
	if (!e)
		return -ENOMEM;
	r = copy_space(e, p->space, p->key);
	if (r < 0)
		return r;
	r = raise_nofile(&e->nofile);
	if (r < 0)
		return r;
	e->cap = p->timing.concurrency ? p->timing.concurrency : auto_cap(e->nofile);
	e->threads = pick_threads(p, e->cap, e->total);
	if (e->threads == 1)
		r = start_single(e, p->timing.host_concurrency, p->timing.rate);
	else
		r = engine_workers_start(e, p->timing.host_concurrency, p->timing.rate);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(e);
	return 0;
}

struct pw_engine *pw_engine_free(struct pw_engine *e)
{
	if (!e)
		return NULL;
	engine_workers_stop(e);
	if (e->workers) {
		for (unsigned i = 0; i < e->threads; i++)
			engine_core_done(&e->workers[i].core);
		free(e->workers);
		if (e->epfd >= 0)
			close(e->epfd);
	}
	if (e->single) {
		engine_core_done(e->single); /* closes e->epfd, which is its epoll fd */
		free(e->single);
	} else if (!e->workers && e->epfd >= 0) {
		close(e->epfd);
	}
	if (e->evfd >= 0)
		close(e->evfd);
	pthread_mutex_destroy(&e->lock);
	free(e->q);
	pw_addrset_done(&e->wild);
	pw_iset_done(&e->space.addrs);
	pw_iset_done(&e->space.ports);
	free(e);
	return NULL;
}

int pw_engine_get_fd(const struct pw_engine *e)
{
	return e->epfd;
}

uint64_t pw_engine_next_deadline(struct pw_engine *e)
{
	if (e->aborted)
		return UINT64_MAX;
	if (e->single)
		return engine_core_deadline(e->single);
	return UINT64_MAX; /* threaded: the eventfd says everything */
}

int pw_engine_process(struct pw_engine *e, uint64_t now)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, r;

	if (e->aborted)
		return 0;
	if (e->workers)
		return engine_process_threaded(e);
	if (e->single->finished)
		return e->single->fatal;
	do {
		n = epoll_wait(e->epfd, evs, MAX_EVENTS, 0);
		if (n < 0)
			n = 0;
		r = engine_core_step(e->single, evs, n, now, n == MAX_EVENTS);
		if (e->aborted)
			return 0;
		/* a full batch means more are waiting: take them now */
		now = n == MAX_EVENTS ? pw_now_usec(CLOCK_MONOTONIC) : now;
	} while (r > 0 && n == MAX_EVENTS);
	return r;
}

int pw_engine_run_blocking(struct pw_engine *e)
{
	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC), dl;
		struct epoll_event ev;
		struct timespec ts, *tsp = NULL;
		int r = pw_engine_process(e, now);

		if (r <= 0)
			return r;
		dl = pw_engine_next_deadline(e);
		if (dl != UINT64_MAX) {
			uint64_t d = dl > now ? dl - now : 0;

			ts = (struct timespec){ .tv_sec = (time_t)(d / USEC_PER_SEC),
						.tv_nsec = (long)(d % USEC_PER_SEC) * 1000 };
			tsp = &ts;
		}
		if (pw_epoll_wait(e->epfd, &ev, 1, tsp) < 0 && errno != EINTR)
			return -errno;
	}
}

int pw_epoll_wait(int epfd, struct epoll_event *evs, int max, const struct timespec *ts)
{
	long long ms;
	int n = epoll_pwait2(epfd, evs, max, ts, NULL);

	if (n >= 0 || errno != ENOSYS)
		return n;
	if (!ts)
		return epoll_wait(epfd, evs, max, -1);
	ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return epoll_wait(epfd, evs, max, ms > INT_MAX ? INT_MAX : (int)ms);
}

void pw_engine_abort(struct pw_engine *e)
{
	if (e->aborted)
		return;
	e->aborted = true;
	if (e->single)
		engine_core_abort(e->single);
	else
		engine_workers_stop(e);
}

pw_u128 pw_engine_position(struct pw_engine *e)
{
	pw_u128 pos;

	if (e->single)
		return engine_core_position(e->single);
	pos = e->total;
	for (unsigned i = 0; i < e->threads; i++)
		if (e->workers[i].wm_delivered < pos)
			pos = e->workers[i].wm_delivered;
	return pos;
}

static void add_stats(struct pw_engine_stats *a, const struct pw_engine_stats *b)
{
	a->total += b->total;
	a->done += b->done;
	a->open += b->open;
	a->closed += b->closed;
	a->filtered += b->filtered;
	a->unreachable += b->unreachable;
	a->unconfirmed += b->unconfirmed;
	a->accepts_all += b->accepts_all;
	a->suppressed += b->suppressed;
	a->canary_rounds += b->canary_rounds;
	a->connects += b->connects;
	a->scanner_errors += b->scanner_errors;
	a->self_connects += b->self_connects;
	a->lost += b->lost;
	a->answered += b->answered;
	a->lossy_hosts += b->lossy_hosts;
	a->loss_attempts += b->loss_attempts;
	a->inflight += b->inflight;
}

void pw_engine_get_stats(struct pw_engine *e, struct pw_engine_stats *ret)
{
	struct pw_engine_stats st = { 0 };

	if (e->single) {
		st = e->single->st;
	} else {
		for (unsigned i = 0; i < e->threads; i++)
			add_stats(&st, &e->workers[i].st_delivered);
		st.accepts_all -= e->dup_wild;
	}
	*ret = st;
}

bool pw_engine_rtt(struct pw_engine *e, uint32_t *ret_srtt, uint32_t *ret_rttvar)
{
	const struct pw_rtt *best = NULL;

	if (e->single) {
		best = &e->single->job_rtt;
	} else {
		/* workers are joined once the run is over; before, a worker's
		 * estimate may be read mid-update, so only report after the end */
		for (unsigned i = 0; i < e->threads; i++) {
			const struct pw_rtt *r = &e->workers[i].core.job_rtt;

			if (e->workers[i].running)
				return false;
			if (!best || r->samples > best->samples)
				best = r;
		}
	}
	if (!best || !pw_rtt_has_sample(best))
		return false;
	*ret_srtt = best->srtt;
	*ret_rttvar = best->rttvar;
	return true;
}

unsigned pw_engine_concurrency(const struct pw_engine *e)
{
	return e->cap;
}

unsigned pw_engine_threads(const struct pw_engine *e)
{
	return e->threads;
}

uint64_t pw_engine_nofile_limit(const struct pw_engine *e)
{
	return e->nofile;
}
