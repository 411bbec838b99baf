/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the store's own files share and nobody else sees: SQL lives in
 * lib/store*.c, and no sqlite3 handle leaves them.
 */

#include <stdint.h>

#include "store.h"

/* The store's SQLite connection (sqlite3.h's "sqlite3" is this struct). */
struct sqlite3 *pw_store_sqlite(struct pw_store *s);

/* Record "PATH: what: SQLite's message" as the last error and map the
 * SQLite result code rc to -errno (lib/store.c). */
int pw_store_sql_error(struct pw_store *s, int rc, const char *what);

/* The address key of the ports and events tables (lib/store-key.c): 16
 * bytes, big-endian, IPv4 mapped. from_blob: 0, or -EBADMSG for a value
 * that is not 16 bytes. */
void pw_store_addr_split(pw_u128 a, uint64_t *hi, uint64_t *lo);
pw_u128 pw_store_addr_join(uint64_t hi, uint64_t lo);
void pw_store_addr_to_blob(uint64_t hi, uint64_t lo, uint8_t b[16]);
int pw_store_addr_from_blob(const void *p, int len, uint64_t *hi, uint64_t *lo);
