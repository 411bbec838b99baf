/* SPDX-License-Identifier: MIT */
/*
 * The store's address key, shared by its write and read sides: 16 bytes,
 * big-endian, IPv4 mapped (001-initial.sql), so that the blob sorts like the
 * number and a range of addresses is a BETWEEN on the indexed column.
 */

#include <errno.h>

#include "store-internal.h"

void pw_store_addr_split(pw_u128 a, uint64_t *hi, uint64_t *lo)
{
	*hi = (uint64_t)(a >> 64);
	*lo = (uint64_t)a;
}

pw_u128 pw_store_addr_join(uint64_t hi, uint64_t lo)
{
	return ((pw_u128)hi << 64) | lo;
}

/* Big-endian, so the blob sorts like the number. */
void pw_store_addr_to_blob(uint64_t hi, uint64_t lo, uint8_t b[16])
{
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(hi >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
}

int pw_store_addr_from_blob(const void *p, int len, uint64_t *hi, uint64_t *lo)
{
	const uint8_t *b = p;

	if (!b || len != 16)
		return -EBADMSG;
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = (*hi << 8) | b[i];
		*lo = (*lo << 8) | b[8 + i];
	}
	return 0;
}
