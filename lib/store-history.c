/* SPDX-License-Identifier: MIT */
/*
 * Changes to history already written: acknowledging an event and
 * pruning old events and runs, each in its own statement or transaction.
 */

#include <errno.h>
#include <inttypes.h>

#include "store-internal.h"

/* ------------------------------------------------------------ acknowledgement */

int pw_store_ack(struct pw_store *s, int64_t event_id, uint64_t now_usec, const char *by)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	int64_t exists = 0;
	int rc, r;

	if (s->readonly)
		return store_set_error(s, -EROFS, "opened read-only");
	if (event_id <= 0)
		return -EINVAL;
	/* An acknowledgement stays as first given: who saw it first, when. */
	rc = sqlite3_prepare_v2(s->db,
				"UPDATE events SET acked_usec = ?2, acked_by = ?3"
				" WHERE id = ?1 AND acked_usec IS NULL",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (int64_t)now_usec);
	if (rc == SQLITE_OK)
		rc = by ? sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC) : SQLITE_OK;
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? sqlite3_changes(s->db)
			      : store_sql_error(s, rc, "acknowledge event");
	sqlite3_finalize(st);
	if (r != 0)
		return r < 0 ? r : 0;
	st = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM events WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, event_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		exists = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : store_sql_error(s, rc, "read event");
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	if (!exists)
		return store_set_error(s, -ENOENT, "no event %" PRId64, event_id);
	return 1;
}

/* ------------------------------------------------------------ retention */

static int prune_step(struct pw_store *s, const char *sql, uint64_t cutoff, int64_t limit,
		      int *ret_n)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, (int64_t)cutoff);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, limit);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*ret_n = sqlite3_changes(s->db);
	else
		r = store_sql_error(s, rc, "prune");
	sqlite3_finalize(st);
	return r;
}

int pw_store_prune(struct pw_store *s, uint64_t older_than_usec, unsigned max_rows)
{
	LOCKED(s);
	int n_events = 0, n_runs = 0, r;

	if (s->readonly)
		return store_set_error(s, -EROFS, "opened read-only");
	if (max_rows == 0 || max_rows > INT32_MAX)
		return -EINVAL;
	r = store_exec(s, "BEGIN IMMEDIATE", "begin pruning");
	if (r < 0)
		return r;
	/* An address's event that began its accepts-all state stays while the
	 * state does: it is the state (sql/006-accepts-all.sql). */
	r = prune_step(s,
		       "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_usec < ?1"
		       " AND NOT (port = 0 AND kind = 'accepts-all' AND id = (SELECT max(l.id)"
		       "  FROM events l WHERE l.job_id = events.job_id AND l.addr = events.addr"
		       "  AND l.port = 0))"
		       " ORDER BY time_usec LIMIT ?2)",
		       older_than_usec, max_rows, &n_events);
	if (r == 0 && (unsigned)n_events < max_rows)
		r = prune_step(s,
			       "DELETE FROM runs WHERE id IN (SELECT r.id FROM runs r"
			       " WHERE r.started_usec < ?1 AND r.status != 'running'"
			       " AND coalesce(r.ended_usec, r.updated_usec) < ?1"
			       " AND r.id NOT IN (SELECT max(id) FROM runs GROUP BY job_id)"
			       " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id)"
			       " ORDER BY r.id LIMIT ?2)",
			       older_than_usec, (int64_t)max_rows - n_events, &n_runs);
	if (r == 0)
		r = store_commit(s);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	return n_events + n_runs;
}
