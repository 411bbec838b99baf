/* SPDX-License-Identifier: MIT */
/*
 * What a job's next run starts from: its last runs (for the scheduler)
 * and the saved RTT estimates of its addresses (for the engine). Read and
 * written at once, not through the batch.
 */

#include <errno.h>

#include "store-internal.h"

/* ------------------------------------------------------------ scheduler */

static int read_run(struct pw_store *s, const char *sql, int64_t job_id,
		    struct pw_store_run_info *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	ret->run_id = 0;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, job_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int status = pw_run_status_from_string((const char *)sqlite3_column_text(st, 1));

		if (status < 0)
			r = store_set_error(s, -EBADMSG, "malformed status in table runs");
		else
			*ret = (struct pw_store_run_info){
				.run_id = sqlite3_column_int64(st, 0),
				.status = (enum pw_run_status)status,
				.started_usec = (uint64_t)sqlite3_column_int64(st, 2),
				.ended_usec = (uint64_t)sqlite3_column_int64(st, 3),
			};
	} else if (rc != SQLITE_DONE) {
		r = store_sql_error(s, rc, "read runs");
	}
	sqlite3_finalize(st);
	return r;
}

int pw_store_last_run(struct pw_store *s, const char *job, struct pw_store_run_info *ret_last,
		      struct pw_store_run_info *ret_last_completed)
{
	LOCKED(s);
	struct pw_store_run_info last = { 0 }, done = { 0 };
	struct job *j;
	int r;

	if (!job)
		return -EINVAL;
	r = store_job_get(s, job, false, 0, &j);
	if (r < 0)
		return r;
	if (!j)
		return -ENOENT;
	if (j->in_db) {
		r = read_run(s,
			     "SELECT id, status, started_usec, coalesce(ended_usec, 0) FROM runs"
			     " WHERE job_id = ?1 ORDER BY id DESC LIMIT 1",
			     j->id, &last);
		if (r == 0)
			r = read_run(s,
				     "SELECT id, status, started_usec, ended_usec FROM runs"
				     " WHERE job_id = ?1 AND status = 'completed'"
				     " ORDER BY id DESC LIMIT 1",
				     j->id, &done);
		if (r < 0)
			return r;
	}
	/* runs not written yet are newer than anything in the table */
	for (struct run *run = s->runs; run; run = run->next) {
		struct pw_store_run_info info = {
			.run_id = run->id,
			.status = run->status,
			.started_usec = run->started,
			.ended_usec = run->status == PW_RUN_RUNNING ? 0 : run->ended,
		};

		if (run->job != j)
			continue;
		if (run->id > last.run_id)
			last = info;
		if (run->status == PW_RUN_COMPLETED && run->id > done.run_id)
			done = info;
	}
	if (last.run_id == 0)
		return -ENOENT;
	*ret_last = last;
	if (ret_last_completed)
		*ret_last_completed = done;
	return 0;
}

/* ------------------------------------------------------------ rtt */

int pw_store_save_rtt(struct pw_store *s, const char *job, const struct pw_store_rtt *v, size_t n,
		      uint64_t now_usec)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !*job || (n && !v))
		return -EINVAL;
	if (s->readonly)
		return store_set_error(s, -EROFS, "opened read-only");
	r = store_job_get(s, job, true, now_usec, &j);
	if (r < 0)
		return r;
	/* the job row must exist first */
	r = pw_store_flush(s);
	if (r < 0)
		return r;
	r = store_exec(s, "BEGIN IMMEDIATE", "begin saving RTT");
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(
		s->db,
		"INSERT INTO rtt (job_id, addr, address, srtt_usec, rttvar_usec,"
		" updated_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (job_id, addr) DO UPDATE SET srtt_usec = excluded.srtt_usec,"
		" rttvar_usec = excluded.rttvar_usec, updated_usec = excluded.updated_usec",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		r = store_sql_error(s, rc, "save RTT");
	for (size_t i = 0; r == 0 && i < n; i++) {
		char text[PW_ADDR_STRLEN];
		uint8_t blob[16];
		uint64_t hi, lo;

		pw_store_addr_split(v[i].addr, &hi, &lo);
		pw_store_addr_to_blob(hi, lo, blob);
		sqlite3_bind_int64(st, 1, j->id);
		sqlite3_bind_blob(st, 2, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pw_addr_format(v[i].addr, text), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)v[i].srtt_usec);
		sqlite3_bind_int64(st, 5, (int64_t)v[i].rttvar_usec);
		sqlite3_bind_int64(st, 6, (int64_t)now_usec);
		r = store_step_done(s, st, "save RTT");
	}
	sqlite3_finalize(st);
	if (r == 0)
		r = store_commit(s);
	if (r < 0)
		store_rollback(s);
	return r;
}

int pw_store_load_rtt(struct pw_store *s, const char *job, pw_store_rtt_cb_t cb, void *userdata)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	struct job *j;
	int rc, r;

	if (!job || !cb)
		return -EINVAL;
	r = store_job_get(s, job, false, 0, &j);
	if (r < 0 || !j || !j->in_db)
		return r;
	rc = sqlite3_prepare_v2(s->db,
				"SELECT addr, srtt_usec, rttvar_usec FROM rtt WHERE job_id = ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r == 0 && (rc == SQLITE_OK || rc == SQLITE_ROW)) {
		struct pw_store_rtt v;
		uint64_t hi, lo;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		r = pw_store_addr_from_blob(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0),
					    &hi, &lo);
		if (r < 0) {
			store_set_error(s, r, "job \"%s\": malformed row in table rtt", job);
			break;
		}
		v = (struct pw_store_rtt){
			.addr = pw_store_addr_join(hi, lo),
			.srtt_usec = (uint64_t)sqlite3_column_int64(st, 1),
			.rttvar_usec = (uint64_t)sqlite3_column_int64(st, 2),
		};
		r = cb(&v, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sql_error(s, rc, "read RTT");
	sqlite3_finalize(st);
	return r;
}
