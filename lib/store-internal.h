/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the store's own files share and nobody else sees: SQL lives in
 * lib/store*.c, and no sqlite3 handle leaves them.
 */

#include "store.h"

/* The store's SQLite connection (sqlite3.h's "sqlite3" is this struct).
 * Still declared in store.h too while cli/query.c reads through it. */
struct sqlite3 *pw_store_sqlite(struct pw_store *s);
