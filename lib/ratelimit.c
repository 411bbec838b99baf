/* SPDX-License-Identifier: MIT */

#include "ratelimit.h"
#include "util.h"

#define MICRO UINT64_C(1000000)

void pw_ratelimit_init(struct pw_ratelimit *rl, uint64_t rate, uint64_t burst)
{
	if (burst == 0)
		burst = rate / 100 ? rate / 100 : 1;
	/* keep burst * 1e6 and elapsed * rate inside 64 bits */
	if (burst > UINT64_MAX / MICRO / 2)
		burst = UINT64_MAX / MICRO / 2;
	if (rate > UINT64_MAX / MICRO / 2)
		rate = UINT64_MAX / MICRO / 2;
	*rl = (struct pw_ratelimit){
		.rate = rate,
		.burst = burst,
		.micro = burst * MICRO, /* a fresh limiter may start a burst at once */
	};
}

static void refill(struct pw_ratelimit *rl, uint64_t now)
{
	uint64_t cap = rl->burst * MICRO, elapsed;

	if (!rl->started) {
		rl->started = true;
		rl->last = now;
		return;
	}
	if (now <= rl->last)
		return; /* clock did not move (or a caller passed an older time) */
	elapsed = now - rl->last;
	rl->last = now;
	/* a stall longer than one bucket's worth only refills the bucket */
	if (elapsed >= cap / rl->rate + 1) {
		rl->micro = cap;
		return;
	}
	rl->micro += elapsed * rl->rate;
	if (rl->micro > cap)
		rl->micro = cap;
}

uint64_t pw_ratelimit_take(struct pw_ratelimit *rl, uint64_t now, uint64_t want)
{
	uint64_t have;

	if (rl->rate == 0)
		return want;
	refill(rl, now);
	have = rl->micro / MICRO;
	if (want > have)
		want = have;
	rl->micro -= want * MICRO;
	return want;
}

void pw_ratelimit_give_back(struct pw_ratelimit *rl, uint64_t n)
{
	uint64_t cap = rl->burst * MICRO;

	if (rl->rate == 0)
		return;
	if (n > rl->burst)
		n = rl->burst;
	rl->micro += n * MICRO;
	if (rl->micro > cap)
		rl->micro = cap;
}

uint64_t pw_ratelimit_next(struct pw_ratelimit *rl, uint64_t now)
{
	uint64_t missing;

	if (rl->rate == 0)
		return now;
	refill(rl, now);
	if (rl->micro >= MICRO)
		return now;
	missing = MICRO - rl->micro;
	/* round up: at that time the token is really there */
	return now + (missing + rl->rate - 1) / rl->rate;
}
