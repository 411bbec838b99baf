/* SPDX-License-Identifier: MIT */

#include <errno.h>

#include "perm.h"

/* Enough rounds that neighbouring indices land far apart (blackrock uses 4+). */
#define PERM_ROUNDS 6

static uint64_t isqrt_u128(pw_u128 n)
{
	/* Newton's method; n < 2^126 so the root fits in 64 bits. */
	pw_u128 x = n, y = (x + 1) / 2;

	if (n < 2)
		return (uint64_t)n;
	while (y < x) {
		x = y;
		y = (x + n / x) / 2;
	}
	return (uint64_t)x;
}

int pw_perm_init(struct pw_perm *p, pw_u128 range, uint64_t key)
{
	uint64_t s;

	if (range == 0 || range > PW_PERM_MAX_RANGE)
		return -ERANGE;
	s = isqrt_u128(range);
	/* a and b differ so that the two halves mix differently */
	p->a = s > 2 ? s - 1 : 1;
	p->b = s + 2;
	while ((pw_u128)p->a * p->b < range)
		p->b++;
	p->range = range;
	p->key = key;
	p->rounds = PERM_ROUNDS;
	return 0;
}

/* splitmix64's finaliser: a cheap, well-mixing round function. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t round_fn(const struct pw_perm *p, unsigned j, uint64_t r)
{
	return mix64(r ^ mix64(p->key + j * UINT64_C(0x9e3779b97f4a7c15)));
}

/* Black-Rogaway "FE2": a Feistel network with alternating moduli a, b. */
static pw_u128 encrypt(const struct pw_perm *p, pw_u128 m)
{
	uint64_t l = (uint64_t)(m % p->a), r = (uint64_t)(m / p->a), t;

	for (unsigned j = 1; j <= p->rounds; j++) {
		uint64_t mod = (j & 1) ? p->a : p->b;

		t = (uint64_t)(((pw_u128)l + round_fn(p, j, r) % mod) % mod);
		l = r;
		r = t;
	}
	if (p->rounds & 1)
		return (pw_u128)p->a * l + r;
	return (pw_u128)p->a * r + l;
}

static pw_u128 decrypt(const struct pw_perm *p, pw_u128 c)
{
	uint64_t l, r, t;

	if (p->rounds & 1) {
		r = (uint64_t)(c % p->a);
		l = (uint64_t)(c / p->a);
	} else {
		l = (uint64_t)(c % p->a);
		r = (uint64_t)(c / p->a);
	}
	for (unsigned j = p->rounds; j >= 1; j--) {
		uint64_t mod = (j & 1) ? p->a : p->b;
		uint64_t f = round_fn(p, j, l) % mod;

		t = (uint64_t)(r >= f ? r - f : r + mod - f);
		r = l;
		l = t;
	}
	return (pw_u128)p->a * r + l;
}

pw_u128 pw_perm_shuffle(const struct pw_perm *p, pw_u128 index)
{
	pw_u128 c = encrypt(p, index);

	/* cycle-walk: the cycle through index returns to [0, N) */
	while (c >= p->range)
		c = encrypt(p, c);
	return c;
}

pw_u128 pw_perm_unshuffle(const struct pw_perm *p, pw_u128 value)
{
	pw_u128 m = decrypt(p, value);

	while (m >= p->range)
		m = decrypt(p, m);
	return m;
}
