/* SPDX-License-Identifier: MIT */
/*
 * The store's read side: the SELECTs behind portwatch(1)'s history verbs,
 * each row handed to the caller typed and at once, so that memory does not
 * grow with the rows. Every value from the caller reaches SQLite as a bound
 * parameter.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store-internal.h"

/* ------------------------------------------------------------------ helpers */

static int prepare(struct pw_store *s, const char *sql, const char *what, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(pw_store_sqlite(s), sql, -1, ret, NULL);

	return rc == SQLITE_OK ? 0 : pw_store_sql_error(s, rc, what);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_addr(sqlite3_stmt *st, int i, pw_u128 a)
{
	uint64_t hi, lo;
	uint8_t b[16];

	pw_store_addr_split(a, &hi, &lo);
	pw_store_addr_to_blob(hi, lo, b);
	return sqlite3_bind_blob(st, i, b, 16, SQLITE_TRANSIENT);
}

/* The address range of the filter to ?lo, ?hi. */
static int bind_addr_range(struct pw_store *s, sqlite3_stmt *st,
			   const struct pw_store_read_filter *f, int lo, int hi)
{
	int rc = bind_addr(st, lo, f->addr_lo);

	if (rc == SQLITE_OK)
		rc = bind_addr(st, hi, f->addr_hi);
	return rc == SQLITE_OK ? 0 : pw_store_sql_error(s, rc, "bind address");
}

static int64_t col_i64(sqlite3_stmt *st, int col)
{
	return sqlite3_column_int64(st, col);
}

static bool col_null(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* The address as the store keyed it; the text column if the key is odd. */
static void col_address(sqlite3_stmt *st, int blob_col, int text_col, bool *ret_valid,
			pw_u128 *ret_addr, const char **ret_text)
{
	uint64_t hi, lo;

	*ret_valid = pw_store_addr_from_blob(sqlite3_column_blob(st, blob_col),
					     sqlite3_column_bytes(st, blob_col), &hi, &lo) == 0;
	*ret_addr = *ret_valid ? pw_store_addr_join(hi, lo) : 0;
	*ret_text = *ret_valid ? NULL : col_text(st, text_col);
}

/* Any of the row callbacks of store.h: each row function knows its own. */
typedef void (*any_cb_t)(void);

/* Step st to its end through row(); finalizes st. */
static int each_row(struct pw_store *s, sqlite3_stmt *st, const char *what,
		    int (*row)(sqlite3_stmt *st, any_cb_t cb, void *userdata), any_cb_t cb,
		    void *userdata)
{
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = row(st, cb, userdata);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pw_store_sql_error(s, rc, what);
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------------ snapshot */

int pw_store_read_begin(struct pw_store *s)
{
	int rc = sqlite3_exec(pw_store_sqlite(s), "BEGIN", NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : pw_store_sql_error(s, rc, "begin read");
}

void pw_store_read_end(struct pw_store *s)
{
	sqlite3 *db = pw_store_sqlite(s);

	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* ------------------------------------------------------------------ jobs */

static int job_name_row(sqlite3_stmt *st, any_cb_t cb, void *userdata)
{
	const char *name = col_text(st, 0);

	return name ? ((pw_store_job_name_cb_t)cb)(name, userdata) : 0;
}

int pw_store_read_jobs(struct pw_store *s, pw_store_job_name_cb_t cb, void *userdata)
{
	static const char sql[] = "SELECT name FROM jobs ORDER BY name";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read jobs", &st);
	if (r < 0)
		return r;
	return each_row(s, st, "read jobs", job_name_row, (any_cb_t)cb, userdata);
}

/* ------------------------------------------------------------------ open ports */

static int open_row(sqlite3_stmt *st, any_cb_t cb, void *userdata)
{
	struct pw_store_open_row row = {
		.job = col_text(st, 0),
		.port = (uint16_t)col_i64(st, 3),
		.since_usec = col_i64(st, 4),
		.last_seen_usec = col_i64(st, 5),
	};

	col_address(st, 1, 2, &row.addr_valid, &row.addr, &row.address);
	return ((pw_store_open_cb_t)cb)(&row, userdata);
}

int pw_store_read_open(struct pw_store *s, const struct pw_store_read_filter *f,
		       pw_store_open_cb_t cb, void *userdata)
{
	static const char sql[] =
		"SELECT j.name, p.addr, p.address, p.port, p.last_change_usec, p.last_seen_usec"
		" FROM ports p JOIN jobs j ON j.id = p.job_id"
		" WHERE p.state = 'open' AND (?1 IS NULL OR j.name = ?1) AND p.addr BETWEEN ?2 AND ?3"
		" ORDER BY j.name, p.addr, p.port";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read open ports", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, f->job);
	r = bind_addr_range(s, st, f, 2, 3);
	if (r < 0) {
		sqlite3_finalize(st);
		return r;
	}
	return each_row(s, st, "read open ports", open_row, (any_cb_t)cb, userdata);
}

/* ------------------------------------------------------------------ events */

/* Columns: id, time, job, addr, address, port, kind, old, new, run, policy, acked. */
static int event_row(sqlite3_stmt *st, any_cb_t cb, void *userdata)
{
	struct pw_store_event_row row = {
		.has_id = !col_null(st, 0),
		.id = col_i64(st, 0),
		.time_usec = col_i64(st, 1),
		.job = col_text(st, 2),
		.port = (uint16_t)col_i64(st, 5),
		.kind = col_text(st, 6),
		.old_state = col_text(st, 7),
		.new_state = col_text(st, 8),
		.has_run = !col_null(st, 9),
		.run_id = col_i64(st, 9),
		.policy = col_null(st, 10) ? NULL : col_text(st, 10),
		.acked = !col_null(st, 11),
		.acked_usec = col_i64(st, 11),
	};

	col_address(st, 3, 4, &row.addr_valid, &row.addr, &row.address);
	return ((pw_store_event_cb_t)cb)(&row, userdata);
}

int pw_store_read_changes(struct pw_store *s, const struct pw_store_read_filter *f,
			  pw_store_event_cb_t cb, void *userdata)
{
	static const char sql[] =
		"SELECT e.id, e.time_usec, j.name, e.addr, e.address, e.port, e.kind, e.old_state,"
		" e.new_state, e.run_id, e.policy, e.acked_usec"
		" FROM events e JOIN jobs j ON j.id = e.job_id"
		" WHERE e.time_usec >= ?1 AND (?2 IS NULL OR j.name = ?2)"
		" AND e.addr BETWEEN ?3 AND ?4 AND (?5 OR e.kind NOT IN ('baseline', 'flap'))"
		" ORDER BY e.time_usec DESC, e.id DESC";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read events", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)f->since_usec);
	bind_text(st, 2, f->job);
	sqlite3_bind_int(st, 5, f->all);
	r = bind_addr_range(s, st, f, 3, 4);
	if (r < 0) {
		sqlite3_finalize(st);
		return r;
	}
	return each_row(s, st, "read events", event_row, (any_cb_t)cb, userdata);
}

int pw_store_read_history(struct pw_store *s, const struct pw_store_read_filter *f,
			  pw_store_event_cb_t cb, void *userdata)
{
	static const char sql[] =
		"SELECT e.id, e.time_usec, j.name, e.addr, e.address, e.port, e.kind, e.old_state,"
		" e.new_state, e.run_id, e.policy, e.acked_usec"
		" FROM events e JOIN jobs j ON j.id = e.job_id"
		" WHERE e.addr BETWEEN ?1 AND ?2 AND e.port BETWEEN ?3 AND ?4"
		" AND (?5 IS NULL OR j.name = ?5)"
		/*
		 * A port first seen filtered or unreachable gets a row but
		 * no event: its first sighting comes from the ports table,
		 * in the state before its first change. A row made by its
		 * first event (a port closed until then has none) adds
		 * nothing. Ports that never changed are left out of an
		 * address's timeline (a job over all ports would list
		 * thousands), not when one port is asked for (?6).
		 */
		" UNION ALL"
		" SELECT NULL, p.first_seen_usec, j.name, p.addr, p.address, p.port, 'first-seen',"
		" NULL, coalesce(f.old_state, p.state), NULL, NULL, NULL"
		" FROM ports p JOIN jobs j ON j.id = p.job_id"
		" LEFT JOIN events f ON f.id = (SELECT x.id FROM events x WHERE x.job_id = p.job_id"
		"  AND x.addr = p.addr AND x.port = p.port AND x.kind <> 'flap' ORDER BY x.id LIMIT 1)"
		" WHERE p.addr BETWEEN ?1 AND ?2 AND p.port BETWEEN ?3 AND ?4"
		" AND (?5 IS NULL OR j.name = ?5)"
		" AND ((f.old_state IS NOT NULL AND f.time_usec > p.first_seen_usec)"
		"  OR (f.id IS NULL AND ?6))"
		" ORDER BY 2, 1";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read events", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 3, f->port_lo);
	sqlite3_bind_int(st, 4, f->port_hi);
	bind_text(st, 5, f->job);
	sqlite3_bind_int(st, 6, f->port_lo == f->port_hi);
	r = bind_addr_range(s, st, f, 1, 2);
	if (r < 0) {
		sqlite3_finalize(st);
		return r;
	}
	return each_row(s, st, "read events", event_row, (any_cb_t)cb, userdata);
}

/* ------------------------------------------------------------------ runs */

static int run_row(sqlite3_stmt *st, any_cb_t cb, void *userdata)
{
	const char *bl = col_text(st, 12);
	struct pw_store_run_row row = {
		.run_id = col_i64(st, 0),
		.job = col_text(st, 1),
		.status = col_text(st, 2),
		.started_usec = col_i64(st, 3),
		.ended = !col_null(st, 4),
		.ended_usec = col_i64(st, 4),
		.probes = col_i64(st, 5),
		.open = col_i64(st, 6),
		.closed = col_i64(st, 7),
		.filtered = col_i64(st, 8),
		.unreachable = col_i64(st, 9),
		.changes = col_i64(st, 10),
		.flaps = col_i64(st, 11),
		/* the view says 'yes' or '' */
		.baseline = bl && *bl,
		.has_loss = !col_null(st, 13),
		.loss_pct = sqlite3_column_double(st, 13),
	};

	return ((pw_store_run_cb_t)cb)(&row, userdata);
}

int pw_store_read_runs(struct pw_store *s, const struct pw_store_read_filter *f, uint64_t limit,
		       pw_store_run_cb_t cb, void *userdata)
{
	/* run_summary, with the times as numbers */
	static const char sql[] =
		"SELECT s.run_id, s.job, s.status, r.started_usec, r.ended_usec, s.probes, s.open,"
		" s.closed, s.filtered, s.unreachable, s.changes, s.flaps, s.baseline, s.loss_pct"
		" FROM run_summary s JOIN runs r ON r.id = s.run_id"
		" WHERE ?1 IS NULL OR s.job = ?1"
		" ORDER BY s.run_id DESC LIMIT ?2";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read runs", &st);
	if (r < 0)
		return r;
	bind_text(st, 1, f->job);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	return each_row(s, st, "read runs", run_row, (any_cb_t)cb, userdata);
}

/* ------------------------------------------------------------------ job status */

static int job_row(sqlite3_stmt *st, any_cb_t cb, void *userdata)
{
	struct pw_store_job_row row = {
		.job = col_text(st, 0),
		.ran = !col_null(st, 1),
		.last_run_id = col_i64(st, 1),
		.last_status = col_text(st, 2),
		.started_usec = col_i64(st, 3),
		.ended = !col_null(st, 4),
		.ended_usec = col_i64(st, 4),
		.open_now = col_i64(st, 5),
		.ports_known = col_i64(st, 6),
	};

	return ((pw_store_job_cb_t)cb)(&row, userdata);
}

int pw_store_read_job_status(struct pw_store *s, pw_store_job_cb_t cb, void *userdata)
{
	/* job_status, with the times as numbers */
	static const char sql[] =
		"SELECT s.job, s.last_run_id, s.last_status, r.started_usec, r.ended_usec, s.open_now,"
		" s.ports_known"
		" FROM job_status s LEFT JOIN runs r ON r.id = s.last_run_id"
		" ORDER BY s.job";
	sqlite3_stmt *st;
	int r;

	r = prepare(s, sql, "read job status", &st);
	if (r < 0)
		return r;
	return each_row(s, st, "read job status", job_row, (any_cb_t)cb, userdata);
}
