/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the spec parsers. The first byte picks the parser
 * (even: target, odd: port), the rest is the spec. Besides "no crash, no
 * leak, no UB", it checks the contracts: a failure leaves the set unchanged
 * and says why; a success yields a normal-form set within the caps.
 */

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iset.h"
#include "ports.h"
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normal(const struct pw_iset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		assert(s->ranges[i].lo <= s->ranges[i].hi);
		if (i > 0)
			assert(s->ranges[i - 1].hi + 1 < s->ranges[i].lo);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_iset set = PW_ISET_INIT;
	const char *why = NULL;
	char *spec;
	int r;

	if (size < 1)
		return 0;
	spec = malloc(size);
	if (!spec)
		return 0;
	memcpy(spec, data + 1, size - 1);
	spec[size - 1] = '\0';

	/* a pre-existing range shows whether a failed parse touched the set */
	pw_iset_add(&set, 7, 7);
	if (data[0] & 1) {
		r = pw_ports_parse(spec, &set, &why);
		if (r >= 0) {
			assert(set.n > 0 && set.ranges[0].lo >= 1);
			assert(set.ranges[set.n - 1].hi <= PW_PORT_MAX);
		}
	} else {
		enum pw_target_kind kind;

		r = pw_target_parse(spec, &set, &kind, &why);
		if (r >= 0 && kind == PW_TARGET_ADDRESSES)
			assert(pw_iset_count(&set) <= PW_TARGETS_MAX_ADDRS + 1);
		if (r >= 0 && kind == PW_TARGET_HOSTNAME)
			assert(set.n == 1 && pw_iset_count(&set) == 1);
	}
	if (r < 0) {
		assert(why && *why);
		assert(set.n == 1 && set.ranges[0].lo == 7 && set.ranges[0].hi == 7);
	}
	check_normal(&set);
	pw_iset_done(&set);
	free(spec);
	return 0;
}
