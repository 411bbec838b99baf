/* SPDX-License-Identifier: MIT */

#include "rtt.h"

static uint64_t clamp(const struct pw_rtt_limits *l, uint64_t v)
{
	if (v < l->min_usec)
		v = l->min_usec;
	if (v > l->max_usec)
		v = l->max_usec;
	return v;
}

static uint32_t to_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void pw_rtt_init(struct pw_rtt *r, const struct pw_rtt_limits *l)
{
	*r = (struct pw_rtt){ .rto = to_u32(clamp(l, l->initial_usec)) };
}

static void update_rto(struct pw_rtt *r, const struct pw_rtt_limits *l)
{
	uint64_t var4 = 4 * (uint64_t)r->rttvar;

	if (var4 < PW_RTT_GRANULARITY_USEC)
		var4 = PW_RTT_GRANULARITY_USEC;
	r->rto = to_u32(clamp(l, r->srtt + var4));
}

void pw_rtt_restore(struct pw_rtt *r, const struct pw_rtt_limits *l, uint32_t srtt, uint32_t rttvar)
{
	if (srtt == 0) {
		pw_rtt_init(r, l);
		return;
	}
	*r = (struct pw_rtt){ .srtt = srtt, .rttvar = rttvar, .samples = 1 };
	update_rto(r, l);
}

void pw_rtt_sample(struct pw_rtt *r, const struct pw_rtt_limits *l, uint64_t rtt_usec)
{
	uint64_t R = rtt_usec ? rtt_usec : 1; /* srtt 0 means "no sample" */

	if (R > UINT32_MAX)
		R = UINT32_MAX;
	if (r->samples == 0) {
		/* RFC 6298 2.2 */
		r->srtt = (uint32_t)R;
		r->rttvar = (uint32_t)(R / 2);
	} else {
		/* RFC 6298 2.3: RTTVAR first, with the old SRTT */
		uint64_t diff = r->srtt > R ? r->srtt - R : R - r->srtt;

		r->rttvar = to_u32((3 * (uint64_t)r->rttvar + diff) / 4);
		r->srtt = to_u32((7 * (uint64_t)r->srtt + R) / 8);
		if (r->srtt == 0)
			r->srtt = 1;
	}
	if (r->samples < UINT32_MAX)
		r->samples++;
	update_rto(r, l);
}

uint64_t pw_rtt_timeout(const struct pw_rtt *r, const struct pw_rtt_limits *l, unsigned attempt)
{
	uint64_t t = r->rto;

	for (unsigned i = 1; i < attempt && t < l->max_usec; i++)
		t *= 2;
	return clamp(l, t);
}
