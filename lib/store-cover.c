/* SPDX-License-Identifier: MIT */
/*
 * What a job has covered: the targets x ports of its completed runs
 * (005-coverage.sql). A port without a row inside that space is closed;
 * outside it, unknown. Runs tell the store their space at launch
 * (pw_store_run_space()); a completed run with every observation kept
 * adds it, unless a space already covers it.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define MAX_SPACES 16 /* per job: the oldest is forgotten (its ports become unknown) */

static void space_done(struct cover_space *c)
{
	pw_iset_done(&c->addrs);
	pw_iset_done(&c->ports);
}

void store_cover_free(struct job *j)
{
	for (size_t i = 0; i < j->n_cover; i++)
		space_done(&j->cover[i]);
	j->n_cover = 0;
}

void store_run_free(struct run *run)
{
	space_done(&run->space);
	free(run);
}

bool store_covers(const struct job *j, uint64_t hi, uint64_t lo, uint16_t port)
{
	pw_u128 a = pw_store_addr_join(hi, lo);

	for (size_t i = 0; i < j->n_cover; i++)
		if (pw_iset_contains(&j->cover[i].ports, port) &&
		    pw_iset_contains(&j->cover[i].addrs, a))
			return true;
	return false;
}

int pw_store_run_space(struct pw_store *s, int64_t run_id, const struct pw_scan_space *space)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);
	int r;

	if (!run || run->status != PW_RUN_RUNNING)
		return -ESRCH;
	space_done(&run->space);
	r = pw_iset_copy(&run->space.addrs, &space->addrs);
	if (r >= 0)
		r = pw_iset_copy(&run->space.ports, &space->ports);
	if (r < 0)
		space_done(&run->space);
	run->has_space = r >= 0;
	return r;
}

static bool space_covers(const struct cover_space *c, const struct cover_space *sub)
{
	return pw_iset_covers(&c->addrs, &sub->addrs) && pw_iset_covers(&c->ports, &sub->ports);
}

/* The run completed with every observation kept: its space is covered. */
void store_cover_run(struct run *run)
{
	struct job *j = run->job;
	size_t k = 0;

	if (!run->has_space)
		return;
	if (!j->cover && !(j->cover = calloc(MAX_SPACES, sizeof(*j->cover))))
		return; /* not covered: its ports stay unknown, which is safe */
	for (size_t i = 0; i < j->n_cover; i++)
		if (space_covers(&j->cover[i], &run->space))
			return;
	/* drop what the new space covers, and the oldest beyond the cap */
	for (size_t i = 0; i < j->n_cover; i++) {
		if (space_covers(&run->space, &j->cover[i]) || j->n_cover - i >= MAX_SPACES)
			space_done(&j->cover[i]);
		else
			j->cover[k++] = j->cover[i];
	}
	j->cover[k] = run->space;
	j->cover[k].run_id = run->id;
	j->cover[k].time = run->ended;
	j->n_cover = k + 1;
	run->space = (struct cover_space){ .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	run->has_space = false;
	j->cover_dirty = true;
}

/* ------------------------------------------------------------ rows */

static void *ranges_to_blob(const struct pw_iset *set, bool addrs, size_t *ret_len)
{
	size_t w = addrs ? 32 : 4, len = set->n * w;
	uint8_t *b = malloc(len ? len : 1), *p = b;

	if (!b)
		return NULL;
	for (size_t i = 0; i < set->n; i++, p += w) {
		if (addrs) {
			uint64_t hi, lo;

			pw_store_addr_split(set->ranges[i].lo, &hi, &lo);
			pw_store_addr_to_blob(hi, lo, p);
			pw_store_addr_split(set->ranges[i].hi, &hi, &lo);
			pw_store_addr_to_blob(hi, lo, p + 16);
		} else {
			p[0] = (uint8_t)(set->ranges[i].lo >> 8);
			p[1] = (uint8_t)set->ranges[i].lo;
			p[2] = (uint8_t)(set->ranges[i].hi >> 8);
			p[3] = (uint8_t)set->ranges[i].hi;
		}
	}
	*ret_len = len;
	return b;
}

static int ranges_from_blob(const uint8_t *b, size_t len, bool addrs, struct pw_iset *set)
{
	size_t w = addrs ? 32 : 4;
	int r = 0;

	if (len % w != 0 || (len > 0 && !b))
		return -EBADMSG;
	for (size_t off = 0; off < len && r >= 0; off += w) {
		pw_u128 lo, hi;

		if (addrs) {
			uint64_t h, l;

			(void)pw_store_addr_from_blob(b + off, 16, &h, &l);
			lo = pw_store_addr_join(h, l);
			(void)pw_store_addr_from_blob(b + off + 16, 16, &h, &l);
			hi = pw_store_addr_join(h, l);
		} else {
			lo = (pw_u128)(b[off] << 8 | b[off + 1]);
			hi = (pw_u128)(b[off + 2] << 8 | b[off + 3]);
		}
		r = lo <= hi ? pw_iset_add(set, lo, hi) : -EBADMSG;
	}
	return r;
}

static int read_space(sqlite3_stmt *st, struct cover_space *c)
{
	int r;

	*c = (struct cover_space){ .addrs = PW_ISET_INIT, .ports = PW_ISET_INIT };
	r = ranges_from_blob(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), true,
			     &c->addrs);
	if (r >= 0)
		r = ranges_from_blob(sqlite3_column_blob(st, 1),
				     (size_t)sqlite3_column_bytes(st, 1), false, &c->ports);
	c->run_id = sqlite3_column_int64(st, 2);
	c->time = (uint64_t)sqlite3_column_int64(st, 3);
	if (r < 0)
		space_done(c);
	return r;
}

int store_cover_load(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	store_cover_free(j);
	if (s->db_version < 5)
		return 0; /* read-only on an older database: nothing is covered */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT addrs, ports, run_id, time_usec FROM coverage"
				" WHERE job_id = ?1 ORDER BY id",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r >= 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		if (j->n_cover == MAX_SPACES)
			continue;
		if (!j->cover && !(j->cover = calloc(MAX_SPACES, sizeof(*j->cover)))) {
			r = -ENOMEM;
			break;
		}
		/* A malformed row is left out: its ports are unknown, which can
		 * only make a change a first sighting, never invent one; failing
		 * the load would stop the job's every run. */
		if (read_space(st, &j->cover[j->n_cover]) >= 0)
			j->n_cover++;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = store_sql_error(s, rc, "read coverage");
	sqlite3_finalize(st);
	if (r < 0)
		store_cover_free(j);
	return r;
}

static int write_space(struct pw_store *s, const struct job *j, const struct cover_space *c)
{
	_cleanup_free_ void *a = NULL, *p = NULL;
	sqlite3_stmt *st = NULL;
	size_t na = 0, np = 0;
	int rc;

	a = ranges_to_blob(&c->addrs, true, &na);
	p = ranges_to_blob(&c->ports, false, &np);
	if (!a || !p)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(s->db,
				"INSERT INTO coverage (job_id, addrs, ports, run_id, time_usec)"
				" VALUES (?1, ?2, ?3, ?4, ?5)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, j->id);
		sqlite3_bind_blob(st, 2, a, (int)na, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, p, (int)np, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, c->run_id);
		sqlite3_bind_int64(st, 5, (int64_t)c->time);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, "write coverage");
}

/* In the flush's transaction: the job's rows replaced by its spaces. */
int store_cover_write(struct pw_store *s, const struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, "DELETE FROM coverage WHERE job_id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, j->id);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_sql_error(s, rc, "write coverage");
	for (size_t i = 0; i < j->n_cover && r >= 0; i++)
		r = write_space(s, j, &j->cover[i]);
	return r;
}
