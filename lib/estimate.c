/* SPDX-License-Identifier: MIT */

#include "estimate.h"
#include "config.h"

uint64_t pw_estimate_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(pw_u128 n, uint64_t each)
{
	pw_u128 v = n * each;

	return n != 0 && (v / n != each || v > UINT64_MAX) ? UINT64_MAX : (uint64_t)v;
}

void pw_estimate_job(const struct pw_job *j, struct pw_estimate *ret)
{
	/* a host name counts as one address here; the run checks the caps
	 * again once it is resolved */
	pw_u128 probes = (pw_iset_count(&j->space.addrs) + j->n_hostnames) *
			 pw_iset_count(&j->space.ports);
	uint64_t inflight = j->timing.concurrency ? j->timing.concurrency : PW_EST_DEFAULT_INFLIGHT;
	uint64_t engine;

	if (probes < inflight)
		inflight = (uint64_t)probes;
	engine = inflight * PW_EST_SLOT_BYTES;
	*ret = (struct pw_estimate){
		.probes = probes,
		.mem_least = engine,
		.mem_most = pw_estimate_add(engine, mul_sat(probes, PW_EST_ENTRY_BYTES)),
		.disk_least = PW_EST_RUN_BYTES,
		.disk_most = pw_estimate_add(PW_EST_RUN_BYTES,
					     mul_sat(probes,
						     PW_EST_ROW_BYTES + PW_EST_EVENT_BYTES)),
	};
}
