/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the store's own files share and nobody else sees: SQL lives in
 * lib/store*.c, and no sqlite3 handle leaves them.
 *
 * lib/store.c opens, migrates and closes the database and holds the SQL
 * helpers; lib/store-cache.c is the per-job map of port states;
 * lib/store-write.c queues runs and observations and writes them in one
 * transaction per batch; lib/store-sched.c and lib/store-history.c run
 * their statements at once (last runs and RTT; acknowledgement and
 * retention); lib/store-read.c is the CLI's read side.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "addrset.h"
#include "iset.h"
#include "scan.h"
#include "store.h"
#include "util.h"

/* cache entry flags */
#define E_DIRTY (1u << 0) /* row differs from the database */
#define E_IN_DB (1u << 1) /* row exists (UPDATE, not INSERT) */
#define E_STATE (1u << 2) /* state changed since the row was written */

/*
 * One (address, port) of a job. 72 bytes: the per-job map costs about
 * 80 bytes per port with its index and dirty list, ~8 MB for 100,000 ports.
 */
struct entry {
	int64_t id; /* ports.id, allocated in memory like run ids */
	uint64_t hi, lo;
	uint64_t first_seen, last_seen, last_change;
	uint64_t db_seen; /* last_seen as last written */
	int64_t run_id;
	uint32_t rtt;
	uint16_t port;
	uint8_t state;
	uint8_t flags;
};

/* A space a job's completed run covered (lib/store-cover.c). */
struct cover_space {
	struct pw_iset addrs, ports;
	int64_t run_id;
	uint64_t time;
};

struct job {
	struct job *next;
	char *name;
	int64_t id;
	int64_t baseline_run_id; /* 0: no completed run yet */
	uint64_t created;
	bool in_db, job_dirty, loaded;
	/* addresses accepting every port now (lib/store-wild.c): loaded with
	 * the map, changed as their events are queued */
	struct pw_addrset wild;
	struct entry *e;
	uint32_t n, cap;
	uint32_t *idx;     /* open addressing, entry index + 1, 0 = empty */
	uint32_t idx_size; /* power of two, or 0 */
	uint32_t *dirty;   /* entries with E_DIRTY */
	uint32_t n_dirty, cap_dirty;
	struct cover_space *cover; /* what closed means for a port without an entry */
	size_t n_cover;
	bool cover_dirty;
};

struct run {
	struct run *next;
	struct job *job;
	int64_t id;
	enum pw_run_status status;
	uint64_t started, ended, updated;
	uint64_t probes, n_state[_PW_STATE_MAX], n_changes, n_flaps;
	uint64_t refused; /* observations pw_store_record() could not keep */
	double loss_pct;  /* runs.loss_pct, when has_loss */
	bool has_loss;
	bool in_db, dirty;
	struct cover_space space; /* what it probes, from pw_store_run_space() */
	bool has_space;
};

struct pending_event {
	uint64_t hi, lo;
	int64_t run_id, job_id;
	uint64_t time;
	uint32_t rtt;
	uint16_t port;
	uint8_t kind, major, has_old, old_state, new_state;
	uint8_t verdict; /* enum pw_policy_verdict */
};

enum {
	ST_INS_JOB,
	ST_INS_RUN,
	ST_INS_EVENT,
	ST_INS_PORT,
	ST_UPD_PORT,
	ST_UPD_SEEN,
	ST_RESERVE_RUN_IDS,
	_ST_MAX,
};

struct pw_store {
	/* Engine worker threads read port states while the loop records:
	 * every entry point that reads or changes the job cache or the run
	 * list holds this (recursive: entry points call each other). */
	pthread_mutex_t lock;
	sqlite3 *db;
	char *path;
	bool readonly;
	unsigned db_version;
	char err[1024];
	sqlite3_stmt *st[_ST_MAX];
	struct job *jobs;
	struct run *runs; /* running, or ended but not written yet */
	int64_t next_run_id, first_run_id, next_job_id, next_port_id;
	/* run ids up to run_ids_reserved are reserved in the database
	 * (004-run-ids.sql); the next batch raises that to run_ids_want */
	int64_t run_ids_reserved, run_ids_want;
	struct pending_event *ev;
	size_t n_ev, cap_ev;
	size_t batch_size, max_pending;
	uint64_t seen_interval;
	size_t since_flush;
	size_t n_dirty; /* over all jobs */
	pw_store_commit_cb_t on_commit;
	void *on_commit_data;
	/* the file opened, to notice it replaced or overwritten while open */
	bool have_file;
	dev_t dev;
	ino_t ino;
};

/* Run ids are reserved this many at a time, again when fewer than half
 * of a block is left: a restart skips at most one block. */
#define RUN_ID_BLOCK 32

static inline struct pw_store *store_lock(struct pw_store *s)
{
	pthread_mutex_lock(&s->lock);
	return s;
}

static inline void store_unlockp(struct pw_store **s)
{
	if (*s)
		pthread_mutex_unlock(&(*s)->lock);
}

/* Held until the calling function returns, on every path. */
#define LOCKED(s) _cleanup_(store_unlockp) struct pw_store *_locked_ = store_lock(s)

/* The lookups of every observation are inline: splitting the store into
 * files must not add calls to each pw_store_record(). */
static inline uint64_t store_key_hash(uint64_t hi, uint64_t lo, uint16_t port)
{
	/* splitmix64 finaliser over the folded key */
	uint64_t x = hi * UINT64_C(0x9e3779b97f4a7c15) ^ lo ^ ((uint64_t)port << 48 | port);

	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static inline struct entry *store_job_find(struct job *j, uint64_t hi, uint64_t lo, uint16_t port)
{
	uint32_t mask, i;

	if (j->idx_size == 0)
		return NULL;
	mask = j->idx_size - 1;
	for (i = (uint32_t)store_key_hash(hi, lo, port) & mask; j->idx[i]; i = (i + 1) & mask) {
		struct entry *e = &j->e[j->idx[i] - 1];

		if (e->lo == lo && e->port == port && e->hi == hi)
			return e;
	}
	return NULL;
}

static inline void store_mark_dirty(struct pw_store *s, struct job *j, struct entry *e)
{
	if (e->flags & E_DIRTY)
		return;
	e->flags |= E_DIRTY;
	j->dirty[j->n_dirty++] = (uint32_t)(e - j->e);
	s->n_dirty++;
}

/* lib/store.c */

/* The store's SQLite connection (sqlite3.h's "sqlite3" is this struct). */
struct sqlite3 *pw_store_sqlite(struct pw_store *s);

/* Record "PATH: what: SQLite's message" as the last error and map the
 * SQLite result code rc to -errno; pw_store_sql_error() is the same. */
int store_sql_error(struct pw_store *s, int rc, const char *what);
int pw_store_sql_error(struct pw_store *s, int rc, const char *what);
/* Record "PATH: " and the message as the last error; returns err. */
int store_set_error(struct pw_store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int store_exec(struct pw_store *s, const char *sql, const char *what);
void store_rollback(struct pw_store *s);
int store_commit(struct pw_store *s);
int store_step_done(struct pw_store *s, sqlite3_stmt *st, const char *what);
int store_reserve_run_ids(struct pw_store *s,
			  int64_t upto); /* in its own transaction or the caller's */
int store_check_file(struct pw_store *s);

/* lib/store-cache.c */

int store_job_get(struct pw_store *s, const char *name, bool create, uint64_t now,
		  struct job **ret);
int store_job_load(struct pw_store *s, struct job *j);
void store_job_free(struct job *j);
int store_job_reserve(struct job *j);
struct entry *store_job_add(struct job *j, uint64_t hi, uint64_t lo, uint16_t port);
void store_mark_all_seen(struct pw_store *s);

/* lib/store-cover.c */
bool store_covers(const struct job *j, uint64_t hi, uint64_t lo, uint16_t port);
void store_cover_run(struct run *run);
void store_cover_free(struct job *j);
int store_cover_load(struct pw_store *s, struct job *j);
int store_cover_write(struct pw_store *s, const struct job *j);
void store_run_free(struct run *run);

/* lib/store-write.c */

struct run *store_run_find(struct pw_store *s, int64_t id);
/* Room for one more queued event (-ENOBUFS at max_pending, -ENOMEM). */
int store_reserve_event(struct pw_store *s);

/* lib/store-wild.c */

/* Read which addresses of the job accept every port now (its map's load). */
int store_wild_load(struct pw_store *s, struct job *j);

/* The address key of the ports and events tables (lib/store-key.c): 16
 * bytes, big-endian, IPv4 mapped. from_blob: 0, or -EBADMSG for a value
 * that is not 16 bytes. */
void pw_store_addr_split(pw_u128 a, uint64_t *hi, uint64_t *lo);
pw_u128 pw_store_addr_join(uint64_t hi, uint64_t lo);
void pw_store_addr_to_blob(uint64_t hi, uint64_t lo, uint8_t b[16]);
int pw_store_addr_from_blob(const void *p, int len, uint64_t *hi, uint64_t *lo);
