/* SPDX-License-Identifier: MIT */
/*
 * The per-job map (address, port) -> current state: an array of entries
 * with an open-addressing index and a list of the entries to write,
 * loaded from the ports table when a job's first run begins. The engine's
 * worker threads read it (pw_store_get_state()) while the loop records.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* ------------------------------------------------------------ job cache */

static void idx_insert(struct job *j, uint32_t n)
{
	const struct entry *e = &j->e[n];
	uint32_t mask = j->idx_size - 1;
	uint32_t i = (uint32_t)store_key_hash(e->hi, e->lo, e->port) & mask;

	while (j->idx[i])
		i = (i + 1) & mask;
	j->idx[i] = n + 1;
}

/* Make room for one more entry and one more dirty index. */
int store_job_reserve(struct job *j)
{
	if (j->n == UINT32_MAX - 1)
		return -ENOMEM;
	if (j->n + 1 > j->cap) {
		uint32_t cap = j->cap ? j->cap * 2 : 256;
		struct entry *e = reallocarray(j->e, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		j->e = e;
		j->cap = cap;
	}
	/* load factor <= 1/2 keeps linear probing short */
	if ((uint64_t)(j->n + 1) * 2 > j->idx_size) {
		uint32_t size = j->idx_size ? j->idx_size * 2 : 512;
		uint32_t *idx = calloc(size, sizeof(*idx));

		if (!idx)
			return -ENOMEM;
		free(j->idx);
		j->idx = idx;
		j->idx_size = size;
		for (uint32_t n = 0; n < j->n; n++)
			idx_insert(j, n);
	}
	if (j->n_dirty + 1 > j->cap_dirty) {
		uint32_t cap = j->cap_dirty ? j->cap_dirty * 2 : 256;
		uint32_t *d = reallocarray(j->dirty, cap, sizeof(*d));

		if (!d)
			return -ENOMEM;
		j->dirty = d;
		j->cap_dirty = cap;
	}
	return 0;
}

/* Caller reserved. */
struct entry *store_job_add(struct job *j, uint64_t hi, uint64_t lo, uint16_t port)
{
	struct entry *e = &j->e[j->n];

	*e = (struct entry){ .hi = hi, .lo = lo, .port = port };
	idx_insert(j, j->n);
	j->n++;
	return e;
}

void store_job_free(struct job *j)
{
	store_cover_free(j);
	free(j->cover);
	free(j->name);
	free(j->e);
	free(j->idx);
	free(j->dirty);
	pw_addrset_done(&j->wild);
	free(j);
}

static struct job *job_lookup(struct pw_store *s, const char *name)
{
	for (struct job *j = s->jobs; j; j = j->next)
		if (strcmp(j->name, name) == 0)
			return j;
	return NULL;
}

/*
 * Find a job in memory or in the database; create it in memory if asked.
 * Returns 0 with *ret NULL for an unknown job when !create.
 */
int store_job_get(struct pw_store *s, const char *name, bool create, uint64_t now, struct job **ret)
{
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r = 0;

	j = job_lookup(s, name);
	if (j) {
		*ret = j;
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->name = strdup(name))) {
		free(j);
		return -ENOMEM;
	}
	rc = sqlite3_prepare_v2(s->db, "SELECT id, baseline_run_id FROM jobs WHERE name = ?1", -1,
				&st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		j->id = sqlite3_column_int64(st, 0);
		j->baseline_run_id = sqlite3_column_int64(st, 1);
		j->in_db = true;
	} else if (rc == SQLITE_DONE && create) {
		j->id = s->next_job_id++;
		j->created = now;
		j->job_dirty = true;
	} else if (rc == SQLITE_DONE) {
		store_job_free(j);
		j = NULL;
	} else {
		r = store_sql_error(s, rc, "read job");
	}
	sqlite3_finalize(st);
	if (r < 0) {
		store_job_free(j);
		return r;
	}
	if (j) {
		j->next = s->jobs;
		s->jobs = j;
	}
	*ret = j;
	return 0;
}

static const char ports_select[] =
	"SELECT addr, port, state, first_seen_usec, last_seen_usec, last_change_usec,"
	" last_run_id, coalesce(rtt_usec, 0), id FROM ports WHERE job_id = ?1";

static int entry_from_row(sqlite3_stmt *st, struct entry *e)
{
	int state = pw_state_from_string((const char *)sqlite3_column_text(st, 2));
	int64_t port = sqlite3_column_int64(st, 1);

	if (state < 0 || port < 0 || port > UINT16_MAX)
		return -EBADMSG;
	*e = (struct entry){
		.port = (uint16_t)port,
		.state = (uint8_t)state,
		.first_seen = (uint64_t)sqlite3_column_int64(st, 3),
		.last_seen = (uint64_t)sqlite3_column_int64(st, 4),
		.db_seen = (uint64_t)sqlite3_column_int64(st, 4),
		.last_change = (uint64_t)sqlite3_column_int64(st, 5),
		.run_id = sqlite3_column_int64(st, 6),
		.rtt = (uint32_t)sqlite3_column_int64(st, 7),
		.id = sqlite3_column_int64(st, 8),
		.flags = E_IN_DB,
	};
	return pw_store_addr_from_blob(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0),
				       &e->hi, &e->lo);
}

/* Read the job's current states into its map (once per job). */
int store_job_load(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (j->loaded)
		return 0;
	if (!j->in_db) {
		j->loaded = true;
		return 0;
	}
	rc = sqlite3_prepare_v2(s->db, ports_select, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		struct entry e;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = entry_from_row(st, &e);
		if (r < 0) {
			store_set_error(s, r, "job \"%s\": malformed row in table ports", j->name);
			break;
		}
		if (store_job_find(j, e.hi, e.lo, e.port))
			continue;
		r = store_job_reserve(j);
		if (r < 0)
			break;
		*store_job_add(j, e.hi, e.lo, e.port) = e;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sql_error(s, rc, "read port states");
	sqlite3_finalize(st);
	if (r == 0)
		r = store_cover_load(s, j);
	if (r < 0) {
		/* leave an empty, unloaded map: the next run retries */
		j->n = j->n_dirty = 0;
		if (j->idx)
			memset(j->idx, 0, j->idx_size * sizeof(*j->idx));
		return r;
	}
	/* on failure the next run retries; ports read now are skipped then */
	r = store_wild_load(s, j);
	if (r < 0)
		return r;
	j->loaded = true;
	return 0;
}

/* Queue every row of a job whose last_seen is newer in memory than on disk. */
static int mark_seen(struct pw_store *s, struct job *j)
{
	if (j->cap_dirty < j->n) {
		uint32_t *d = reallocarray(j->dirty, j->n, sizeof(*d));

		if (!d)
			return -ENOMEM;
		j->dirty = d;
		j->cap_dirty = j->n;
	}
	for (uint32_t i = 0; i < j->n; i++)
		if (j->e[i].last_seen != j->e[i].db_seen)
			store_mark_dirty(s, j, &j->e[i]);
	return 0;
}

void store_mark_all_seen(struct pw_store *s)
{
	/* best effort: without memory, last_seen just stays behind */
	for (struct job *j = s->jobs; j; j = j->next)
		(void)mark_seen(s, j);
}

/* ------------------------------------------------------------ reads */

/*
 * A port's state as far as the store knows it: its entry's, or closed for
 * a port without one inside the space the job's completed runs covered
 * (pw_store_record() keeps no entry for a port never seen in any other
 * state). False: unknown, a port the job has not covered yet.
 */
static bool known_state(const struct job *j, const struct entry *e, uint64_t hi, uint64_t lo,
			uint16_t port, enum pw_state *ret)
{
	if (e)
		*ret = (enum pw_state)e->state;
	else if (j->baseline_run_id != 0 && store_covers(j, hi, lo, port))
		*ret = PW_STATE_CLOSED;
	else {
		*ret = PW_STATE_OPEN; /* unused */
		return false;
	}
	return true;
}

int pw_store_prior(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		   struct pw_store_prior *ret)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);
	const struct entry *e;
	uint64_t hi, lo;

	if (!run || run->status != PW_RUN_RUNNING)
		return -ESRCH;
	pw_store_addr_split(addr, &hi, &lo);
	e = store_job_find(run->job, hi, lo, port);
	*ret = (struct pw_store_prior){ .has_baseline = run->job->baseline_run_id != 0 };
	ret->known = known_state(run->job, e, hi, lo, port, &ret->state);
	return 0;
}

int pw_store_get_state(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		       enum pw_state *ret_state)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);
	struct entry *e;
	uint64_t hi, lo;

	if (!run)
		return -ESRCH;
	pw_store_addr_split(addr, &hi, &lo);
	e = store_job_find(run->job, hi, lo, port);
	return known_state(run->job, e, hi, lo, port, ret_state) ? 0 : -ENOENT;
}

static void port_from_entry(const struct entry *e, struct pw_store_port *p)
{
	*p = (struct pw_store_port){
		.addr = pw_store_addr_join(e->hi, e->lo),
		.port = e->port,
		.state = (enum pw_state)e->state,
		.first_seen_usec = e->first_seen,
		.last_seen_usec = e->last_seen,
		.last_change_usec = e->last_change,
	};
}

int pw_store_load_states(struct pw_store *s, const char *job, pw_store_port_cb_t cb, void *userdata)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !cb)
		return -EINVAL;
	r = store_job_get(s, job, false, 0, &j);
	if (r < 0 || !j)
		return r;
	if (j->loaded) {
		for (uint32_t i = 0; i < j->n; i++) {
			struct pw_store_port p;

			port_from_entry(&j->e[i], &p);
			r = cb(&p, userdata);
			if (r < 0)
				return r;
		}
		return 0;
	}
	/* not cached (the CLI): stream from the table, do not keep a copy */
	rc = sqlite3_prepare_v2(s->db, ports_select, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r == 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		struct pw_store_port p;
		struct entry e;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = entry_from_row(st, &e);
		if (r < 0) {
			store_set_error(s, r, "job \"%s\": malformed row in table ports", job);
			break;
		}
		port_from_entry(&e, &p);
		r = cb(&p, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sql_error(s, rc, "read port states");
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------ unload */

int pw_store_job_unload(struct pw_store *s, const char *job)
{
	LOCKED(s);
	struct job *j;
	int r;

	if (!job)
		return -EINVAL;
	j = job_lookup(s, job);
	if (!j || !j->loaded)
		return 0;
	for (struct run *run = s->runs; run; run = run->next)
		if (run->job == j && run->status == PW_RUN_RUNNING)
			return store_set_error(s, -EBUSY, "job \"%s\" has a running run", job);
	if (!s->readonly) {
		r = mark_seen(s, j);
		if (r < 0)
			return r;
		r = pw_store_flush(s);
		if (r < 0)
			return r;
	}
	free(j->e);
	free(j->idx);
	free(j->dirty);
	store_cover_free(j);
	j->e = NULL;
	j->idx = j->dirty = NULL;
	j->n = j->cap = j->idx_size = j->n_dirty = j->cap_dirty = 0;
	pw_addrset_done(&j->wild);
	j->loaded = false;
	return 0;
}
