/* SPDX-License-Identifier: MIT */
/*
 * Threaded mode: each worker thread runs a core of its own over every
 * threads'th index and hands its results to the owner in batches, through
 * a locked queue signalled by an eventfd, so that every callback still
 * runs in the owner's thread. A worker's position and stats travel with
 * the batch they cover.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "engine-internal.h"

#define WATERMARK_EVERY_USEC (20 * USEC_PER_MSEC)
#define QUEUE_MAX 16384U /* results waiting for the owner before workers pause */

static void flush_worker(struct worker *w, bool done, int err)
{
	struct core *c = &w->core;
	struct pw_engine *e = c->e;
	bool wake = false;

	if (!done && c->nout == 0 && c->now < c->wm_at && !c->throttled)
		return;
	pthread_mutex_lock(&e->lock);
	if (c->nout) {
		if (e->qn + c->nout > e->qcap) {
			size_t n = e->qcap ? e->qcap : 1024;
			struct pw_probe_result *q;

			while (n < e->qn + c->nout)
				n *= 2;
			q = realloc(e->q, n * sizeof(*q));
			if (!q) {
				pthread_mutex_unlock(&e->lock);
				c->fatal = -ENOMEM;
				return;
			}
			e->q = q;
			e->qcap = n;
		}
		memcpy(e->q + e->qn, c->out, c->nout * sizeof(*c->out));
		wake = e->qn == 0;
		e->qn += c->nout;
		c->nout = 0;
	}
	if (done || c->now >= c->wm_at) {
		w->wm_published = engine_core_position(c);
		c->wm_at = c->now + WATERMARK_EVERY_USEC;
	}
	w->st_published = c->st;
	/* backpressure: memory stays bounded when the owner is slow */
	c->throttled = e->qn >= QUEUE_MAX;
	if (done) {
		w->done_published = true;
		w->err_published = err;
		wake = true;
	}
	pthread_mutex_unlock(&e->lock);
	if (wake)
		(void)eventfd_write(e->evfd, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct core *c = &w->core;
	struct pw_engine *e = c->e;
	struct epoll_event evs[MAX_EVENTS];
	int n = 0, r;

	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC), dl;
		struct timespec ts;

		if (atomic_load_explicit(&e->stop, memory_order_relaxed)) {
			engine_core_abort(c);
			r = 0;
			break;
		}
		r = engine_core_step(c, evs, n, now, n == MAX_EVENTS);
		if (r <= 0)
			break;
		flush_worker(w, false, 0);
		dl = n == MAX_EVENTS ? now : engine_core_deadline(c);
		if (c->throttled && dl > now + USEC_PER_MSEC)
			dl = now + USEC_PER_MSEC; /* look at the queue again soon */
		if (dl == UINT64_MAX) {
			ts = (struct timespec){ .tv_sec = 3600 };
		} else {
			uint64_t d = dl > now ? dl - now : 0;

			ts = (struct timespec){ .tv_sec = (time_t)(d / USEC_PER_SEC),
						.tv_nsec = (long)(d % USEC_PER_SEC) * 1000 };
		}
		n = pw_epoll_wait(c->epfd, evs, MAX_EVENTS, &ts);
		if (n < 0)
			n = 0;
	}
	flush_worker(w, true, r < 0 ? r : 0);
	return NULL;
}

/* Each worker takes its share of the caps and of the rate. */
static int init_workers(struct pw_engine *e, unsigned host_cap, uint64_t rate)
{
	unsigned threads = e->threads, cap = e->cap;
	int r;

	e->workers = calloc(threads, sizeof(*e->workers));
	if (!e->workers)
		return -ENOMEM;
	for (unsigned i = 0; i < threads; i++)
		e->workers[i].core.epfd = e->workers[i].core.wakefd = -1;
	for (unsigned i = 0; i < threads; i++) {
		unsigned wcap = cap / threads + (i < cap % threads);
		unsigned whc = host_cap ? (host_cap / threads ? host_cap / threads : 1) : 0;
		uint64_t wrate = rate ? rate / threads + (i < rate % threads) : 0;

		r = engine_core_init(&e->workers[i].core, e, i, wcap ? wcap : 1, whc, wrate, true);
		if (r < 0)
			return r;
	}
	return 0;
}

static int open_owner_fds(struct pw_engine *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };

	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->evfd < 0)
		return -errno;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) < 0)
		return -errno;
	return 0;
}

static int spawn_workers(struct pw_engine *e)
{
	sigset_t all, old;
	int r = 0;

	/* workers never take the process's signals: those belong to the
	 * caller's loop (signalfd or sd-event), which blocks them itself */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < e->threads; i++) {
		struct worker *w = &e->workers[i];

		w->wm_delivered = w->wm_snapshot = w->wm_published = engine_core_position(&w->core);
		w->st_delivered = w->st_published = w->core.st;
		r = -pthread_create(&w->thread, NULL, worker_main, w);
		if (r < 0)
			break;
		w->running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int engine_workers_start(struct pw_engine *e, unsigned host_cap, uint64_t rate)
{
	int r;

	r = init_workers(e, host_cap, rate);
	if (r < 0)
		return r;
	r = open_owner_fds(e);
	if (r < 0)
		return r;
	return spawn_workers(e);
}

void engine_workers_stop(struct pw_engine *e)
{
	if (!e->workers)
		return;
	atomic_store(&e->stop, true);
	for (unsigned i = 0; i < e->threads; i++)
		if (e->workers[i].core.wakefd >= 0)
			(void)eventfd_write(e->workers[i].core.wakefd, 1);
	for (unsigned i = 0; i < e->threads; i++) {
		if (e->workers[i].running) {
			pthread_join(e->workers[i].thread, NULL);
			e->workers[i].running = false;
		}
	}
}

int engine_process_threaded(struct pw_engine *e)
{
	struct pw_probe_result *batch;
	size_t n;
	bool all_done = true;
	int err = 0;
	eventfd_t v;

	(void)eventfd_read(e->evfd, &v);
	pthread_mutex_lock(&e->lock);
	batch = e->q;
	n = e->qn;
	e->q = NULL;
	e->qn = e->qcap = 0;
	for (unsigned i = 0; i < e->threads; i++) {
		struct worker *w = &e->workers[i];

		w->st_delivered = w->st_published;
		w->wm_snapshot = w->wm_published;
		w->done_delivered = w->done_published;
		all_done &= w->done_published;
		if (w->err_published && !err)
			err = w->err_published;
	}
	pthread_mutex_unlock(&e->lock);

	for (size_t i = 0; i < n && !e->aborted; i++) {
		/* each worker decides for itself; say it once (0: seen; a full
		 * set says it again rather than never) */
		if ((batch[i].flags & PW_RESULT_ACCEPTS_ALL) &&
		    pw_addrset_add(&e->wild, batch[i].addr) == 0) {
			e->dup_wild++;
			continue;
		}
		e->p.on_result(e->p.userdata, &batch[i]);
	}
	free(batch);
	if (e->aborted)
		return 0;
	/* only now are the results behind the watermarks delivered */
	for (unsigned i = 0; i < e->threads; i++)
		e->workers[i].wm_delivered = e->workers[i].wm_snapshot;
	if (!all_done)
		return 1;
	/* the queue may have refilled between the swap and now */
	pthread_mutex_lock(&e->lock);
	n = e->qn;
	pthread_mutex_unlock(&e->lock);
	if (n)
		return engine_process_threaded(e);
	engine_workers_stop(e);
	return err;
}
