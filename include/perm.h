/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A keyed pseudo-random permutation of [0, N): the scan order. A Feistel
 * network over the "almost square" domain [0, a*b) with a*b >= N, cycle-
 * walking out-of-range values back in, after Black and Rogaway, "Ciphers
 * with Arbitrary Finite Domains" (CT-RSA 2002), as masscan's blackrock
 * does. Constant memory, O(1) per index, the same order for the same key.
 */

#include <stdint.h>

#include "addr.h"

/* Largest supported domain: a and b must stay below 2^64. */
#define PW_PERM_MAX_RANGE (((pw_u128)1) << 126)

struct pw_perm {
	pw_u128 range; /* N */
	uint64_t a, b; /* a * b >= N, both close to sqrt(N) */
	uint64_t key;
	unsigned rounds;
};

/* Returns 0, or -ERANGE when range is 0 or above PW_PERM_MAX_RANGE. */
int pw_perm_init(struct pw_perm *p, pw_u128 range, uint64_t key);

/* The image of index (< range): a bijection on [0, range). */
pw_u128 pw_perm_shuffle(const struct pw_perm *p, pw_u128 index);

/* The inverse of pw_perm_shuffle(). */
pw_u128 pw_perm_unshuffle(const struct pw_perm *p, pw_u128 value);
