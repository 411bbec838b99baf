/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scan engine. One "core" is a single-threaded scanner: an epoll set,
 * a fixed array of probe slots, a timer heap over those slots, a bounded
 * table of per-address state and a token bucket. The engine runs one core
 * in the caller's thread, or several cores in worker threads that hand
 * their results to the caller through an eventfd-signalled queue.
 *
 * A slot carries one (address, port) from the first connect() until its
 * result is delivered: retries, backoff after scanner-side errors,
 * confirmation re-probes and a hold while the address's canaries run all
 * keep the slot, so the lowest index still in a slot is the resume point.
 */

/*
 * What the engine's own files share and nobody else sees. The small
 * helpers of the probe path are inline here: splitting the engine into
 * files must not add calls to every probe.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "addrset.h"
#include "engine.h"
#include "perm.h"
#include "ratelimit.h"
#include "rtt.h"
#include "timerq.h"
#include "util.h"

#define MAX_EVENTS 256
#define CANARY_RESERVE 16U /* slots only canaries may take */
#define WAKE_TOKEN UINT64_MAX

enum slot_phase {
	SLOT_FREE,
	SLOT_CONNECTING, /* socket open, timer = attempt timeout */
	SLOT_WAITING,    /* no socket, timer = when to try again */
	SLOT_READY,      /* in the ready queue */
	SLOT_BLOCKED,    /* waiting for its address to drop below the per-address cap */
	SLOT_HELD,       /* open result held until a canary round settles its address */
};

enum slot_kind {
	KIND_PROBE,
	KIND_CANARY,
};

enum guard_state {
	GUARD_IDLE,     /* no canary round out */
	GUARD_ROUND,    /* a canary round is out */
	GUARD_WAIT,     /* a round is due, waiting in the core's queue for a free slot */
	GUARD_WILDCARD, /* accepts everything: its opens are dropped for the rest of the run */
};

/* A held port probed again by the guard (engine-guard.c). */
enum guard_probe {
	GP_NONE,
	GP_RECHECK,       /* after an uncertain round: open again, it waits for the next */
	GP_VERIFY,        /* after a clean round: open still, it is reported */
	GP_VERIFY_UNSURE, /* the same after uncertain rounds ran out: and remembered */
};

/* Opens an uncertain canary round let through, to withdraw if the address
 * turns out to accept everything after all (engine-guard.c). */
#define GUARD_UNDO_MAX 8
struct guard_undo {
	unsigned n;
	uint16_t port[GUARD_UNDO_MAX];
	int8_t prev[GUARD_UNDO_MAX];
};

struct host;

struct slot {
	struct pw_timer timer;
	pw_u128 addr;
	pw_u128 m;           /* sequence number within the core */
	uint64_t started;    /* usec of the current connect() */
	uint32_t need_round; /* held: the canary round that settles it */
	struct host *host;
	struct slot *hnext, *hprev; /* the host's list of attached slots */
	struct slot *qnext;         /* ready queue or the host's blocked queue */
	int fd;
	uint32_t gen;
	uint32_t rtt;
	unsigned attempts; /* connect()s in the current round (retries) */
	unsigned total_attempts;
	unsigned sc_errors; /* consecutive scanner-side errors */
	uint16_t port;
	uint8_t phase, kind;
	uint8_t confirm_left;
	int8_t prev;         /* previous state from the store, or -1 */
	int8_t first;        /* state seen first while confirming, or -1 */
	uint8_t held_flags;  /* PW_RESULT_* of a held result */
	uint8_t rechecks;    /* re-probes after uncertain canary rounds */
	uint8_t guard_probe; /* enum guard_probe: what the current attempt is for */
	bool verified;       /* loopback ephemeral-range open was looked at twice */
	bool prev_asked;
	uint8_t loss_rounds; /* re-probe rounds added because silence was not conclusive */
	uint16_t silent;     /* attempts timed out since the last answer, all rounds */
};

struct host {
	pw_u128 addr;
	struct pw_rtt rtt;
	uint64_t last_use;
	uint64_t recent;    /* the last results (canaries too), newest in bit 0: 1 = open */
	struct slot *slots; /* attached slots */
	struct slot *blocked, *blocked_tail;
	struct guard_undo *undo; /* NULL but after an uncertain round let opens through */
	struct host *wait_next;  /* GUARD_WAIT: the core's queue */
	uint32_t attached, inflight;
	uint32_t rounds, held; /* canary rounds started; slots held */
	uint8_t used, guard, nrecent;
	uint8_t canary_left, canary_open, canary_sent;
	/* loss (engine-loss.c): lossy once it raised the retries (counted in
	 * the stats); lost = attempts that timed out on a port a later attempt
	 * got an answer from, answered = attempts answered. In this order the
	 * entry stays 96 bytes: the table has one per slot and more. */
	bool lossy;
	uint32_t lost, answered;
};

struct core {
	struct pw_engine *e;
	unsigned id;
	int epfd;
	int wakefd; /* worker only: abort wake-up */
	struct slot *slots;
	unsigned nslots;
	unsigned *free;
	unsigned nfree;
	struct slot *ready, *ready_tail;
	struct pw_timerq tq;
	struct host *hosts;
	size_t hmask;
	struct pw_ratelimit rl;
	struct pw_ratelimit *shared_rl;
	struct pw_rtt_limits limits;
	struct pw_rtt job_rtt; /* all addresses together: where new ones start */
	pw_u128 base, stride;  /* index = base + stride * m */
	pw_u128 m_next, m_end, m_start;
	unsigned cap, cap_eff, host_cap;
	unsigned inflight;
	uint64_t pause_until, backoff;
	uint64_t now;
	uint64_t rng;
	uint16_t eph_lo, eph_hi;
	int fatal;
	bool aborted, finished;
	bool starved;   /* no slot or host entry for the next index until one frees */
	bool throttled; /* worker: the owner is behind on results, start nothing */
	struct pw_engine_stats st;
	/* addresses this core reported as accepting everything: their host
	 * entries are evicted and made again, the verdict stays */
	struct pw_addrset wild;
	unsigned n_undo;                           /* hosts with an undo list */
	struct host *round_wait, *round_wait_tail; /* hosts whose round waits for a slot */
	/* worker only: results waiting for the next flush */
	struct pw_probe_result *out;
	size_t nout, outcap;
	uint64_t wm_at;
};

struct worker {
	struct core core;
	pthread_t thread;
	bool running;
	/* under engine lock */
	pw_u128 wm_published;
	struct pw_engine_stats st_published;
	bool done_published;
	int err_published;
	/* owner thread only */
	pw_u128 wm_snapshot; /* taken with the batch being delivered */
	pw_u128 wm_delivered;
	struct pw_engine_stats st_delivered;
	bool done_delivered;
};

struct pw_engine {
	struct pw_engine_params p;
	struct pw_scan_space space;
	struct pw_perm perm;
	pw_u128 total, nports;
	uint64_t nofile;
	unsigned cap, threads;
	unsigned canaries, share;
	int epfd;
	bool aborted;
	struct core *single;
	struct worker *workers;
	atomic_bool stop;
	/* threaded: the hand-over queue */
	pthread_mutex_t lock;
	int evfd;
	struct pw_probe_result *q;
	size_t qn, qcap;
	/* threaded: addresses reported as accepting everything, to report
	 * each once however many workers found it */
	struct pw_addrset wild;
	uint64_t dup_wild;
};

/* ------------------------------------------------------------------ inline helpers */

static inline uint64_t engine_rng_next(uint64_t *s)
{
	/* splitmix64: plenty for canary ports */
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline uint32_t engine_slot_index(const struct core *c, const struct slot *s)
{
	return (uint32_t)(s - c->slots);
}

static inline int engine_arm(struct core *c, struct slot *s, uint64_t when)
{
	return pw_timerq_add(&c->tq, &s->timer, when);
}

static inline void engine_ready_push(struct core *c, struct slot *s)
{
	s->phase = SLOT_READY;
	s->qnext = NULL;
	if (c->ready_tail)
		c->ready_tail->qnext = s;
	else
		c->ready = s;
	c->ready_tail = s;
}

static inline void engine_host_attach(struct host *h, struct slot *s)
{
	s->host = h;
	s->hprev = NULL;
	s->hnext = h->slots;
	if (h->slots)
		h->slots->hprev = s;
	h->slots = s;
	h->attached++;
}

static inline struct slot *engine_slot_take(struct core *c, unsigned reserve)
{
	struct slot *s;

	if (c->nfree <= reserve)
		return NULL;
	s = &c->slots[c->free[--c->nfree]];
	s->fd = -1;
	s->attempts = 0;
	s->total_attempts = 0;
	s->sc_errors = 0;
	s->confirm_left = 0;
	s->prev = -1;
	s->first = -1;
	s->rechecks = 0;
	s->guard_probe = GP_NONE;
	s->verified = false;
	s->prev_asked = false;
	s->loss_rounds = 0;
	s->silent = 0;
	s->rtt = 0;
	return s;
}

/*
 * The attempt number whose timeout an attempt waits (pw_rtt_timeout()
 * doubles it per attempt). Attempts beyond the configured retries, which
 * only a lossy address gets, stop doubling at the larger of the last
 * configured one and the third: random loss is no congestion, and eleven
 * doublings would stretch a run to minutes; 4 x RTO still catches answers
 * that are merely late.
 */
static inline unsigned engine_backoff_attempt(const struct core *c, const struct slot *s)
{
	unsigned cap = c->e->p.timing.retries + 1;

	if (cap < 3)
		cap = 3;
	return s->attempts < cap ? s->attempts : cap;
}

/* ------------------------------------------------------------------ engine-core.c */
int engine_core_init(struct core *c, struct pw_engine *e, unsigned id, unsigned cap,
		     unsigned host_cap, uint64_t rate, bool worker);
void engine_core_done(struct core *c);
int engine_core_step(struct core *c, const struct epoll_event *evs, int n, uint64_t now, bool more);
void engine_core_abort(struct core *c);
pw_u128 engine_core_position(const struct core *c);

/* ------------------------------------------------------------------ engine-sched.c */
void engine_start_probes(struct core *c);
uint64_t engine_core_deadline(struct core *c);

/* ------------------------------------------------------------------ engine-probe.c */
void engine_launch(struct core *c, struct slot *s);
void engine_handle_event(struct core *c, const struct epoll_event *ev);
void engine_handle_timeout(struct core *c, struct slot *s);
void engine_slot_release(struct core *c, struct slot *s);

/* ------------------------------------------------------------------ engine-result.c */
void engine_emit(struct core *c, const struct pw_probe_result *r);
void engine_finish_probe(struct core *c, struct slot *s, enum pw_state state,
			 enum pw_state observed, unsigned flags);
void engine_confirm(struct core *c, struct slot *s, enum pw_state st);

/* ------------------------------------------------------------------ engine-loss.c */
unsigned engine_loss_retries(struct core *c, struct slot *s);
void engine_loss_answered(struct core *c, struct host *h, unsigned silent);
bool engine_loss_conclusive(const struct core *c, const struct slot *s);

/* ------------------------------------------------------------------ engine-guard.c */
bool engine_guard_hold(struct core *c, struct slot *s, enum pw_state state, unsigned flags);
bool engine_guard_drops(struct core *c, struct slot *s);
void engine_guard_rechecked(struct core *c, struct slot *s, enum pw_state st);
void engine_canary_done(struct core *c, struct slot *s, enum pw_state st);
void engine_guard_new_host(struct core *c, struct host *h);
void engine_guard_forget_host(struct core *c, struct host *h);
void engine_guard_slot_freed(struct core *c);

/* One attempt's outcome joins the address's recent results. */
static inline void engine_guard_observe(struct host *h, enum pw_state st)
{
	h->recent = h->recent << 1 | (st == PW_STATE_OPEN);
	if (h->nrecent < 64)
		h->nrecent++;
}

/* ------------------------------------------------------------------ engine-workers.c */
int engine_workers_start(struct pw_engine *e, unsigned host_cap, uint64_t rate);
void engine_workers_stop(struct pw_engine *e);
int engine_process_threaded(struct pw_engine *e);
