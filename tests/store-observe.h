/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * For tests and tools that fill a store without the daemon: judge an
 * observation as daemon/report.c does (the store's prior state, change
 * detection, the policy) and record it. The daemon's own decision is
 * pw_report_decide(), tested in tests/test_report.c; this is the same
 * two pure calls, so the store's tests do not link the daemon.
 */

#include "change.h"
#include "policy.h"
#include "store.h"

/* o->change and o->verdict are filled in; *ret_change (may be NULL) gets the change. */
static inline int pw_test_observe(struct pw_store *s, int64_t run, struct pw_store_obs *o,
				  unsigned flags, enum pw_policy_expect expect,
				  struct pw_change *ret_change)
{
	struct pw_store_prior p;
	int r;

	r = pw_store_prior(s, run, o->addr, o->port, &p);
	if (r >= 0)
		r = pw_change_detect(p.has_baseline, p.known, p.state, o->state, flags, &o->change);
	if (r < 0)
		return r;
	o->verdict = pw_policy_apply(expect, p.has_baseline, &o->change);
	r = pw_store_record(s, run, o);
	if (r >= 0 && ret_change)
		*ret_change = o->change;
	return r;
}
