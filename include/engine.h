/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The scan engine: non-blocking connect() probes over a probe space
 * (scan.h), one result per (address, port) through a callback.
 *
 * It owns one epoll fd. A daemon registers that fd in its event loop as
 * one I/O source plus one timer at pw_engine_next_deadline(), and calls
 * pw_engine_process() when either fires; the CLI and tests use
 * pw_engine_run_blocking(). Every callback runs in the thread that calls
 * pw_engine_process(), also in threaded mode.
 *
 * Order: index i of [0, addresses x ports) maps through a keyed
 * permutation (perm.h) to one (address, port), so memory is O(probes in
 * flight), load spreads over hosts, and a run can stop and resume at
 * pw_engine_position(). A shard i of n takes the indices = i (mod n).
 *
 * Never a false state: scanner-side errors (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM, EADDRNOTAVAIL, EAGAIN) back off and retry, and a loopback
 * connect that met itself or another of our own probes is re-probed.
 *
 * Loss: per address the engine measures the attempts that timed out on a
 * port a later attempt got an answer from (an address whose ports never
 * answer has no loss, only silence). While an address loses packets its
 * unanswered probes get more retries, up to timing.max_retries, until
 * silence is conclusive (below one wrong "filtered" in a million probes);
 * a silent port that is still not conclusive gets further re-probe rounds
 * (at most two), and a silence that an answer then ends, loss explains:
 * no flap. If silence stays inconclusive on a port whose stored state
 * was an answer, the result is PW_RESULT_UNCONFIRMED: the stored state
 * stands, since silence on a lossy address is no evidence of a change.
 */

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ratelimit.h"
#include "scan.h"
#include "state.h"

struct pw_engine;

enum {
	/* state is the previous state, which stands: re-probes did not
	 * confirm the change seen first (that one is in observed) */
	PW_RESULT_UNCONFIRMED = 1 << 0,
	/* a change from the previous state, confirmed by re-probes */
	PW_RESULT_CONFIRMED = 1 << 1,
	/* the address accepted the canary ports and a share of the probed
	 * ones: port is 0, state OPEN; reported instead of its open ports,
	 * once per address and run */
	PW_RESULT_ACCEPTS_ALL = 1 << 2,
	/* withdraws an open port reported earlier in this run: its address
	 * turned out to accept everything. observed is OPEN (what was
	 * reported), state the port's previous state (prev_state's answer),
	 * which stands. Only a port with a previous state is withdrawn, and
	 * only when an uncertain canary round had let it through (rare: an
	 * open that is news is held until the question is settled). */
	PW_RESULT_RETRACTED = 1 << 3,
};

struct pw_probe_result {
	pw_u128 addr;
	uint16_t port;          /* 0 with PW_RESULT_ACCEPTS_ALL */
	enum pw_state state;    /* the state that counts */
	enum pw_state observed; /* == state unless PW_RESULT_UNCONFIRMED */
	uint32_t rtt_usec;      /* of the deciding attempt; 0 for filtered */
	unsigned attempts;      /* connect()s spent, re-probes included */
	unsigned flags;         /* PW_RESULT_* */
};

typedef void (*pw_engine_result_cb_t)(void *userdata, const struct pw_probe_result *r);

/*
 * The state the store remembers for (addr, port): an enum pw_state, or
 * -ENOENT if none (no confirmation then). In threaded mode it is called
 * from the worker threads, so it must be thread-safe.
 */
typedef int (*pw_engine_prev_state_cb_t)(void *userdata, pw_u128 addr, uint16_t port);

struct pw_engine_params {
	const struct pw_scan_space *space; /* copied; may be freed after new() */
	struct pw_scan_timing timing;
	uint64_t key;              /* permutation key: same key, same order */
	uint64_t shard_i, shard_n; /* this run takes indices = shard_i (mod shard_n); n 0 = 1 */
	pw_u128 start_index;       /* resume: skip indices below (from pw_engine_position()) */
	/* Worker threads; 0 or 1 = run in the caller's thread. Each worker
	 * takes every threads-th index and its share of timing.concurrency,
	 * timing.rate and timing.host_concurrency (at least 1 each), and
	 * keeps its own per-address state. */
	unsigned threads;
	/* Wildcard/tarpit guard (0 canaries = off). An open result that is
	 * news (prev_state is not OPEN, or there is no prev_state) is held
	 * until a round of `canaries` random high ports, started after it was
	 * seen, settles its address: no canary open, it is probed once more
	 * and reported if still open; every canary open and at least
	 * accept_share_pct % of the address's last 64 results (canaries
	 * included) open, the address is reported once as
	 * PW_RESULT_ACCEPTS_ALL and none of its open ports are, for the rest
	 * of the run; in between, the held ports are probed again and wait
	 * for another round. So an address that starts accepting everything
	 * mid-run is one report, not a flood. Unchanged opens are not held:
	 * a steady address costs no canary. */
	unsigned canaries;
	unsigned accept_share_pct;
	/* A limiter shared with other engines in the same thread (the
	 * daemon's global rate), on top of timing.rate; NULL = none. Only
	 * with threads <= 1. */
	struct pw_ratelimit *shared_rate;
	/* A saved estimate (usec) to start timeouts from instead of
	 * timing.initial_timeout_usec; srtt 0 = none. See pw_engine_rtt(). */
	uint32_t saved_srtt_usec, saved_rttvar_usec;
	pw_engine_result_cb_t on_result;
	pw_engine_prev_state_cb_t prev_state; /* may be NULL */
	void *userdata;
};

/* Defaults for fields left 0 where 0 is not meaningful. */
#define PW_ENGINE_DEFAULT_CANARIES 3
#define PW_ENGINE_DEFAULT_ACCEPT_SHARE 90
/* Addresses remembered per run (and per worker) as accepting everything,
 * to report each once: 16 bytes each at most twice over. Past it an
 * address may be reported again, never not at all. */
#define PW_ENGINE_MAX_WILDCARDS 262144

struct pw_engine_stats {
	pw_u128 total; /* probes in this run (shard applied, start skipped) */
	pw_u128 done;  /* (address, port) results settled */
	uint64_t open, closed, filtered, unreachable;
	uint64_t unconfirmed, accepts_all;
	uint64_t suppressed;     /* open ports not reported (or withdrawn): address accepts all */
	uint64_t canary_rounds;  /* rounds of canaries sent (the guard's cost) */
	uint64_t connects;       /* connect() calls, retries and canaries included */
	uint64_t scanner_errors; /* EMFILE & co: backed off and retried */
	uint64_t self_connects;  /* loopback connects that met our own socket */
	/* loss: attempts that timed out on a port that a later attempt got an
	 * answer from, and attempts answered (see pw_engine_loss_pct()) */
	uint64_t lost, answered;
	uint64_t lossy_hosts;   /* addresses whose loss raised their retries (per thread) */
	uint64_t loss_attempts; /* connect()s beyond timing.retries spent on such addresses */
	unsigned inflight;      /* sockets open now */
};

/*
 * The share of connection attempts lost, in percent: lost / (lost +
 * answered). With a drop rate d each way (SYN out, SYN-ACK or RST back) it
 * is about 1 - (1 - d)^2. False when nothing was answered (nothing to
 * measure: an address that only drops has no loss, only silence).
 */
bool pw_engine_loss_pct(const struct pw_engine_stats *st, double *ret_pct);

/*
 * The adaptation as pure functions of an address's counts (lost and
 * answered as in the stats), for the engine and its tests: the attempts
 * (1 + retries, between retries + 1 and max(retries, max_retries) + 1) a
 * round of probes to a port may take, and whether silent attempts in a row
 * are conclusive. Without two lost attempts there is no loss to adapt to.
 */
unsigned pw_engine_loss_attempts(uint64_t lost, uint64_t answered, unsigned retries,
				 unsigned max_retries);
bool pw_engine_loss_conclusive(uint64_t lost, uint64_t answered, unsigned silent);

/*
 * Create an engine and raise RLIMIT_NOFILE's soft limit to the hard one.
 * Returns 0, -EINVAL (bad params: no callback, empty space, shard_i >=
 * shard_n, min > max timeout, retries or max_retries above
 * PW_SCAN_MAX_RETRIES), -ERANGE (space too large to permute),
 * -ENOMEM, or -errno from epoll/eventfd/pthread.
 */
int pw_engine_new(const struct pw_engine_params *p, struct pw_engine **ret);

/* Closes every socket, joins worker threads, frees. Accepts NULL; returns NULL. */
struct pw_engine *pw_engine_free(struct pw_engine *e);

/* The fd to poll for EPOLLIN. */
int pw_engine_get_fd(const struct pw_engine *e);

/*
 * CLOCK_MONOTONIC usec at which to call process() even without I/O: 0 (or
 * anything in the past) = at once, UINT64_MAX = only on I/O.
 */
uint64_t pw_engine_next_deadline(struct pw_engine *e);

/*
 * Handle ready sockets and expired timers, start probes within the caps
 * and the rate, deliver results. Never blocks. Returns > 0 while the run
 * goes on, 0 when it is finished (or aborted), -errno when it failed (a
 * scanner-side error that never went away); results so far stay valid.
 */
int pw_engine_process(struct pw_engine *e, uint64_t now);

/* Drive the engine to the end in the calling thread. Returns 0 or -errno. */
int pw_engine_run_blocking(struct pw_engine *e);

/*
 * Stop: close every socket now (joining the workers), deliver no more
 * results. Call it from the thread that owns the engine, also from inside
 * the result callback. After it, process() returns 0 and the position
 * still says which part of the space was covered.
 */
void pw_engine_abort(struct pw_engine *e);

/*
 * Every index below the returned one has its result delivered (or is
 * outside this shard): pass it as start_index to resume.
 */
pw_u128 pw_engine_position(struct pw_engine *e);

void pw_engine_get_stats(struct pw_engine *e, struct pw_engine_stats *ret);

/*
 * The run's round-trip estimate over all addresses (usec), to save and pass
 * back as saved_srtt_usec/saved_rttvar_usec next time. Returns false when
 * no answer was timed yet.
 */
bool pw_engine_rtt(struct pw_engine *e, uint32_t *ret_srtt, uint32_t *ret_rttvar);

/*
 * epoll_pwait2(2) (a timeout in nanoseconds: sub-millisecond probe timers
 * stay exact), falling back to epoll_wait(2) with the timeout rounded up
 * to a millisecond where the kernel (before 5.11) or valgrind lacks it.
 * ts NULL waits without a timeout. Returns what they return.
 */
struct epoll_event;
struct timespec;
int pw_epoll_wait(int epfd, struct epoll_event *evs, int max, const struct timespec *ts);

/* What the engine chose, for the caller's log. */
unsigned pw_engine_concurrency(const struct pw_engine *e); /* in-flight cap, all threads */
unsigned pw_engine_threads(const struct pw_engine *e);
uint64_t pw_engine_nofile_limit(const struct pw_engine *e); /* RLIMIT_NOFILE soft limit now */
