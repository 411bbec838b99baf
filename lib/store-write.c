/* SPDX-License-Identifier: MIT */
/*
 * The write path: runs and observations change the in-memory map and
 * queue rows; a flush writes everything queued in one transaction, so a
 * crash never leaves a run whose counters disagree with its events.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "store-internal.h"

static const char *const stmt_sql[_ST_MAX] = {
	[ST_INS_JOB] =
		"INSERT INTO jobs (id, name, baseline_run_id, created_usec) VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (id) DO UPDATE SET baseline_run_id = excluded.baseline_run_id",
	[ST_INS_RUN] =
		"INSERT INTO runs (id, job_id, status, started_usec, ended_usec, updated_usec,"
		" probes, n_open, n_closed, n_filtered, n_unreachable, n_changes, n_flaps, loss_pct)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
		" ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
		" ended_usec = excluded.ended_usec, updated_usec = excluded.updated_usec,"
		" probes = excluded.probes, n_open = excluded.n_open,"
		" n_closed = excluded.n_closed, n_filtered = excluded.n_filtered,"
		" n_unreachable = excluded.n_unreachable, n_changes = excluded.n_changes,"
		" n_flaps = excluded.n_flaps, loss_pct = excluded.loss_pct",
	[ST_INS_EVENT] = "INSERT INTO events (run_id, job_id, addr, port, address, kind, major,"
			 " old_state, new_state, time_usec, rtt_usec, policy)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_INS_PORT] = "INSERT INTO ports (job_id, addr, port, address, state, first_seen_usec,"
			" last_seen_usec, last_change_usec, last_run_id, rtt_usec, id)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_UPD_PORT] = "UPDATE ports SET state = ?4, last_seen_usec = ?5, last_change_usec = ?6,"
			" last_run_id = ?7, rtt_usec = ?8 WHERE id = ?1",
	/* unchanged: leave the indexed state column alone */
	[ST_UPD_SEEN] = "UPDATE ports SET last_seen_usec = ?5, last_run_id = ?7, rtt_usec = ?8"
			" WHERE id = ?1",
	[ST_RESERVE_RUN_IDS] = "INSERT INTO run_ids (one, reserved) VALUES (1, ?1)"
			       " ON CONFLICT (one) DO UPDATE SET reserved = excluded.reserved",
};

static int prepare(struct pw_store *s, sqlite3_stmt **st, const char *sql)
{
	int rc;

	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
		return 0;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	return rc == SQLITE_OK ? 0 : store_sql_error(s, rc, "prepare");
}

static sqlite3_stmt *stmt(struct pw_store *s, int which, int *ret)
{
	*ret = prepare(s, &s->st[which], stmt_sql[which]);
	return *ret < 0 ? NULL : s->st[which];
}

/* ------------------------------------------------------------ flush */

static int write_job(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_JOB, &r);
	if (!st)
		return r;
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_text(st, 2, j->name, -1, SQLITE_STATIC);
	if (j->baseline_run_id)
		sqlite3_bind_int64(st, 3, j->baseline_run_id);
	sqlite3_bind_int64(st, 4, (int64_t)j->created);
	return store_step_done(s, st, "write job");
}

static int write_run(struct pw_store *s, struct run *run)
{
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_RUN, &r);
	if (!st)
		return r;
	sqlite3_bind_int64(st, 1, run->id);
	sqlite3_bind_int64(st, 2, run->job->id);
	sqlite3_bind_text(st, 3, pw_run_status_to_string(run->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)run->started);
	if (run->status != PW_RUN_RUNNING)
		sqlite3_bind_int64(st, 5, (int64_t)run->ended);
	sqlite3_bind_int64(st, 6, (int64_t)run->updated);
	sqlite3_bind_int64(st, 7, (int64_t)run->probes);
	for (int i = 0; i < _PW_STATE_MAX; i++)
		sqlite3_bind_int64(st, 8 + i, (int64_t)run->n_state[i]);
	sqlite3_bind_int64(st, 12, (int64_t)run->n_changes);
	sqlite3_bind_int64(st, 13, (int64_t)run->n_flaps);
	if (run->has_loss)
		sqlite3_bind_double(st, 14, run->loss_pct);
	return store_step_done(s, st, "write run");
}

static int write_event(struct pw_store *s, const struct pending_event *ev)
{
	char text[PW_ADDR_STRLEN];
	uint8_t blob[16];
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_INS_EVENT, &r);
	if (!st)
		return r;
	pw_store_addr_to_blob(ev->hi, ev->lo, blob);
	pw_addr_format(pw_store_addr_join(ev->hi, ev->lo), text);
	sqlite3_bind_int64(st, 1, ev->run_id);
	sqlite3_bind_int64(st, 2, ev->job_id);
	sqlite3_bind_blob(st, 3, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ev->port);
	sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, pw_change_kind_to_string(ev->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, ev->major);
	if (ev->has_old)
		sqlite3_bind_text(st, 8, pw_state_to_string(ev->old_state), -1, SQLITE_STATIC);
	/* an address that stopped accepting everything has no one new state */
	if (ev->kind != PW_CHANGE_ACCEPTS_ALL_ENDED)
		sqlite3_bind_text(st, 9, pw_state_to_string(ev->new_state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, (int64_t)ev->time);
	if (ev->rtt)
		sqlite3_bind_int64(st, 11, ev->rtt);
	if (pw_policy_is_violation(ev->verdict))
		sqlite3_bind_text(st, 12, pw_policy_verdict_to_string(ev->verdict), -1,
				  SQLITE_STATIC);
	return store_step_done(s, st, "write event");
}

static int write_entry(struct pw_store *s, const struct job *j, const struct entry *e)
{
	char text[PW_ADDR_STRLEN];
	uint8_t blob[16];
	sqlite3_stmt *st;
	int r;

	if (e->flags & E_IN_DB) {
		st = stmt(s, e->flags & E_STATE ? ST_UPD_PORT : ST_UPD_SEEN, &r);
		if (!st)
			return r;
		sqlite3_bind_int64(st, 1, e->id);
		if (e->flags & E_STATE) {
			sqlite3_bind_text(st, 4, pw_state_to_string(e->state), -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, (int64_t)e->last_change);
		}
		sqlite3_bind_int64(st, 5, (int64_t)e->last_seen);
		sqlite3_bind_int64(st, 7, e->run_id);
		if (e->rtt)
			sqlite3_bind_int64(st, 8, e->rtt);
		else
			sqlite3_bind_null(st, 8);
		return store_step_done(s, st, "update port state");
	}
	st = stmt(s, ST_INS_PORT, &r);
	if (!st)
		return r;
	pw_store_addr_to_blob(e->hi, e->lo, blob);
	pw_addr_format(pw_store_addr_join(e->hi, e->lo), text);
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_blob(st, 2, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->port);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, pw_state_to_string(e->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)e->first_seen);
	sqlite3_bind_int64(st, 7, (int64_t)e->last_seen);
	sqlite3_bind_int64(st, 8, (int64_t)e->last_change);
	sqlite3_bind_int64(st, 9, e->run_id);
	if (e->rtt)
		sqlite3_bind_int64(st, 10, e->rtt);
	sqlite3_bind_int64(st, 11, e->id);
	return store_step_done(s, st, "insert port state");
}

int store_reserve_run_ids(struct pw_store *s, int64_t upto)
{
	sqlite3_stmt *st;
	int r;

	st = stmt(s, ST_RESERVE_RUN_IDS, &r);
	if (!st)
		return r;
	sqlite3_bind_int64(st, 1, upto);
	return store_step_done(s, st, "reserve run ids");
}

static int flush_all(struct pw_store *s)
{
	int r;

	if (s->run_ids_want > s->run_ids_reserved) {
		r = store_reserve_run_ids(s, s->run_ids_want);
		if (r < 0)
			return r;
	}

	for (struct job *j = s->jobs; j; j = j->next) {
		if (j->job_dirty) {
			r = write_job(s, j);
			if (r < 0)
				return r;
		}
		if (j->cover_dirty) {
			r = store_cover_write(s, j);
			if (r < 0)
				return r;
		}
	}
	for (struct run *run = s->runs; run; run = run->next)
		if (run->dirty) {
			r = write_run(s, run);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < s->n_ev; i++) {
		r = write_event(s, &s->ev[i]);
		if (r < 0)
			return r;
	}
	for (struct job *j = s->jobs; j; j = j->next)
		for (uint32_t i = 0; i < j->n_dirty; i++) {
			r = write_entry(s, j, &j->e[j->dirty[i]]);
			if (r < 0)
				return r;
		}
	return 0;
}

/* The transaction committed: forget what it wrote. */
static void flush_done(struct pw_store *s)
{
	struct run **pp;

	for (struct job *j = s->jobs; j; j = j->next) {
		if (j->job_dirty) {
			j->job_dirty = false;
			j->in_db = true;
		}
		j->cover_dirty = false;
		for (uint32_t i = 0; i < j->n_dirty; i++) {
			struct entry *e = &j->e[j->dirty[i]];

			e->flags = (uint8_t)((e->flags & ~(E_DIRTY | E_STATE)) | E_IN_DB);
			e->db_seen = e->last_seen;
		}
		j->n_dirty = 0;
	}
	for (pp = &s->runs; *pp;) {
		struct run *run = *pp;

		run->dirty = false;
		run->in_db = true;
		if (run->status != PW_RUN_RUNNING) {
			*pp = run->next;
			store_run_free(run);
		} else {
			pp = &run->next;
		}
	}
	s->n_ev = 0;
	s->n_dirty = 0;
	if (s->run_ids_want > s->run_ids_reserved)
		s->run_ids_reserved = s->run_ids_want;
}

bool pw_store_needs_flush(const struct pw_store *s)
{
	if (s->n_ev || s->n_dirty)
		return true;
	for (struct job *j = s->jobs; j; j = j->next)
		if (j->job_dirty || j->cover_dirty)
			return true;
	for (struct run *run = s->runs; run; run = run->next)
		if (run->dirty)
			return true;
	return false;
}

int pw_store_flush(struct pw_store *s)
{
	LOCKED(s);
	int r;

	s->since_flush = 0;
	if (s->readonly || !pw_store_needs_flush(s))
		return 0;
	r = store_check_file(s);
	if (r < 0)
		return r;
	r = store_exec(s, "BEGIN IMMEDIATE", "begin batch");
	if (r < 0)
		return r;
	r = flush_all(s);
	if (r == 0)
		r = store_commit(s);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	flush_done(s);
	if (s->on_commit)
		s->on_commit(s->on_commit_data);
	return 0;
}

void pw_store_set_commit_cb(struct pw_store *s, pw_store_commit_cb_t cb, void *userdata)
{
	LOCKED(s);

	s->on_commit = cb;
	s->on_commit_data = userdata;
}

/* ------------------------------------------------------------ runs */

struct run *store_run_find(struct pw_store *s, int64_t id)
{
	for (struct run *run = s->runs; run; run = run->next)
		if (run->id == id)
			return run;
	return NULL;
}

/*
 * Keep run ids reserved ahead of the one handed out (004-run-ids.sql): the
 * next block goes with the next batch, while half of this one is left;
 * an id past the reservation is reserved at once if the database allows
 * (it does at start), so even a run whose row is never written keeps its
 * id to itself.
 */
static void reserve_run_ids(struct pw_store *s, int64_t id)
{
	if (id + RUN_ID_BLOCK / 2 <= s->run_ids_reserved)
		return;
	s->run_ids_want = id + RUN_ID_BLOCK - 1;
	if (id > s->run_ids_reserved && store_reserve_run_ids(s, s->run_ids_want) == 0)
		s->run_ids_reserved = s->run_ids_want;
}

int pw_store_run_begin(struct pw_store *s, const char *job, uint64_t now_usec, int64_t *ret_run_id)
{
	LOCKED(s);
	struct run *run;
	struct job *j;
	int r;

	if (!job || !*job)
		return -EINVAL;
	if (s->readonly)
		return store_set_error(s, -EROFS, "opened read-only");
	r = store_job_get(s, job, true, now_usec, &j);
	if (r < 0)
		return r;
	r = store_job_load(s, j);
	if (r < 0)
		return r;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->job = j;
	run->id = s->next_run_id++;
	reserve_run_ids(s, run->id);
	run->status = PW_RUN_RUNNING;
	run->started = run->updated = now_usec;
	run->dirty = true;
	run->next = s->runs;
	s->runs = run;
	*ret_run_id = run->id;
	return 0;
}

int pw_store_run_skipped(struct pw_store *s, const char *job, uint64_t now_usec,
			 int64_t *ret_run_id)
{
	LOCKED(s);
	struct run *run;
	int64_t id;
	int r;

	r = pw_store_run_begin(s, job, now_usec, &id);
	if (r < 0)
		return r;
	/* Ended in memory at once; the row goes out with the next batch. */
	run = store_run_find(s, id);
	run->status = PW_RUN_SKIPPED;
	run->ended = now_usec;
	if (ret_run_id)
		*ret_run_id = id;
	return 0;
}

int pw_store_run_end(struct pw_store *s, int64_t run_id, enum pw_run_status status,
		     uint64_t now_usec)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);

	if (!run || run->status != PW_RUN_RUNNING)
		return store_set_error(s, -ESRCH, "no running run %" PRId64, run_id);
	if (status == PW_RUN_RUNNING || (unsigned)status >= _PW_RUN_STATUS_MAX)
		return -EINVAL;
	run->status = status;
	run->ended = now_usec;
	run->dirty = true;
	/* A baseline must hold every port the run saw: with one missing, the
	 * next run would report it as a change that never happened. */
	if (status == PW_RUN_COMPLETED && run->refused == 0 && run->job->baseline_run_id == 0) {
		run->job->baseline_run_id = run->id;
		run->job->job_dirty = true;
	}
	/* the same holds for what it covered: its closed ports have no rows */
	if (status == PW_RUN_COMPLETED && run->refused == 0)
		store_cover_run(run);
	return pw_store_flush(s);
}

int pw_store_run_loss(struct pw_store *s, int64_t run_id, double loss_pct)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);

	if (!run || run->status != PW_RUN_RUNNING)
		return store_set_error(s, -ESRCH, "no running run %" PRId64, run_id);
	/* NaN fails both */
	if (!(loss_pct >= 0 && loss_pct <= 100))
		return -EINVAL;
	run->loss_pct = loss_pct;
	run->has_loss = true;
	run->dirty = true;
	return 0;
}

int pw_store_recover_runs(struct pw_store *s)
{
	LOCKED(s);
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (s->readonly)
		return store_set_error(s, -EROFS, "opened read-only");
	rc = sqlite3_prepare_v2(s->db,
				"UPDATE runs SET status = 'aborted', ended_usec = updated_usec"
				" WHERE status = 'running' AND id < ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, s->first_run_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? sqlite3_changes(s->db)
			      : store_sql_error(s, rc, "close crashed runs");
	sqlite3_finalize(st);
	return r;
}

/* ------------------------------------------------------------ observations */

static bool obs_valid(const struct pw_store_obs *o)
{
	/* the address kinds and their verdict go through store-wild.c */
	return (unsigned)o->state < _PW_STATE_MAX && (unsigned)o->change.kind < _PW_CHANGE_MAX &&
	       o->change.kind != PW_CHANGE_ACCEPTS_ALL &&
	       o->change.kind != PW_CHANGE_ACCEPTS_ALL_ENDED &&
	       (unsigned)o->change.new_state < _PW_STATE_MAX &&
	       (unsigned)o->change.old_state < _PW_STATE_MAX &&
	       (unsigned)o->verdict < _PW_VERDICT_MAX && o->verdict != PW_VERDICT_ACCEPTS_ALL;
}

/* Room for one more event, so that nothing after it can fail halfway. */
int store_reserve_event(struct pw_store *s)
{
	if (s->n_ev >= s->max_pending)
		return store_set_error(s, -ENOBUFS,
				       "%zu events waiting to be written: change not recorded",
				       s->n_ev);
	if (s->n_ev == s->cap_ev) {
		size_t cap = s->cap_ev ? s->cap_ev * 2 : 1024;
		struct pending_event *ev = reallocarray(s->ev, cap, sizeof(*ev));

		if (!ev)
			return -ENOMEM;
		s->ev = ev;
		s->cap_ev = cap;
	}
	return 0;
}

static void queue_event(struct pw_store *s, const struct run *run, uint64_t hi, uint64_t lo,
			const struct pw_store_obs *o)
{
	s->ev[s->n_ev++] = (struct pending_event){
		.hi = hi,
		.lo = lo,
		.run_id = run->id,
		.job_id = run->job->id,
		.time = o->time_usec,
		.rtt = o->rtt_usec,
		.port = o->port,
		.kind = (uint8_t)o->change.kind,
		.major = o->change.major,
		.has_old = o->change.has_old,
		.old_state = (uint8_t)o->change.old_state,
		.new_state = (uint8_t)o->change.new_state,
		.verdict = (uint8_t)o->verdict,
	};
}

/* The port's row: created at its first sighting, its state replaced by a change. */
static void update_entry(struct pw_store *s, struct run *run, struct entry *e,
			 const struct pw_store_obs *o)
{
	if (pw_change_updates_state(o->change.kind)) {
		e->state = (uint8_t)o->state;
		e->last_change = o->time_usec;
		e->flags |= E_STATE;
	}
	e->last_seen = o->time_usec;
	e->run_id = run->id;
	e->rtt = o->rtt_usec;
	/* unchanged: rewrite last_seen only now and then (see store.h) */
	if (o->change.kind != PW_CHANGE_NONE || o->time_usec - e->db_seen >= s->seen_interval)
		store_mark_dirty(s, run->job, e);
}

static void count_observation(struct run *run, const struct pw_store_obs *o)
{
	run->probes++;
	run->n_state[o->state]++;
	if (o->change.kind == PW_CHANGE_FLAP)
		run->n_flaps++;
	else if (pw_change_is_event(o->change.kind) && o->change.kind != PW_CHANGE_BASELINE)
		run->n_changes++;
	if (o->time_usec > run->updated)
		run->updated = o->time_usec;
	run->dirty = true;
}

/* The state a port keeps after an observation of it. */
static enum pw_state state_after(const struct pw_store_obs *o, const struct entry *e)
{
	if (pw_change_updates_state(o->change.kind))
		return o->change.new_state;
	/* no entry and no new state: the port is closed by default */
	return e ? (enum pw_state)e->state : PW_STATE_CLOSED;
}

int pw_store_record(struct pw_store *s, int64_t run_id, const struct pw_store_obs *obs)
{
	LOCKED(s);
	struct run *run = store_run_find(s, run_id);
	struct entry *e;
	uint64_t hi, lo;
	bool entry;
	int r = 0;

	if (s->readonly)
		return -EROFS;
	if (!run || run->status != PW_RUN_RUNNING)
		return -ESRCH;
	if (!obs_valid(obs))
		return -EINVAL;
	pw_store_addr_split(obs->addr, &hi, &lo);
	e = store_job_find(run->job, hi, lo, obs->port);
	/* A port that was never anything but closed, and never an event
	 * (a flap aside), has no entry and no row: closed is what a port
	 * without one is. Memory and disk follow the ports that matter, not
	 * the size of the space (issue 14.4). */
	entry = e || state_after(obs, NULL) != PW_STATE_CLOSED ||
		(pw_change_is_event(obs->change.kind) && obs->change.kind != PW_CHANGE_FLAP);
	/* Grow the job's table before taking a pointer into it: growing moves
	 * the entries, and a known port's entry is used below. */
	if (entry)
		r = store_job_reserve(run->job);
	if (r >= 0 && pw_change_is_event(obs->change.kind))
		r = store_reserve_event(s);
	if (r < 0) {
		run->refused++;
		return r;
	}
	if (entry) {
		e = store_job_find(run->job, hi, lo, obs->port);
		if (!e) {
			e = store_job_add(run->job, hi, lo, obs->port);
			e->id = s->next_port_id++;
			e->first_seen = obs->time_usec;
		}
		update_entry(s, run, e, obs);
	}
	if (pw_change_is_event(obs->change.kind))
		queue_event(s, run, hi, lo, obs);
	count_observation(run, obs);
	if (++s->since_flush >= s->batch_size && pw_store_flush(s) < 0)
		return PW_STORE_DEFERRED;
	return 0;
}
