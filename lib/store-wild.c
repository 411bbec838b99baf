/* SPDX-License-Identifier: MIT */
/*
 * Addresses that accept every port (sql/006-accepts-all.sql): a state per
 * (job, address) kept as the history of its episodes, one event when one
 * begins and one when it ends, port 0. In memory each job has the set of
 * its addresses in the state, read with its port map and changed as the
 * events are queued, so the events go out with the next batch like any
 * other. Also here: withdrawing an open port the engine reported before
 * it found its address accepting everything.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "store-internal.h"

/* The latest address event of each address is the state (see the view). */
static const char wild_select[] =
	"SELECT e.addr FROM events e WHERE e.job_id = ?1 AND e.port = 0"
	" AND e.kind = 'accepts-all'"
	" AND e.id = (SELECT max(l.id) FROM events l"
	"             WHERE l.job_id = e.job_id AND l.addr = e.addr AND l.port = 0)";

int store_wild_load(struct pw_store *s, struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	pw_addrset_done(&j->wild);
	if (!j->in_db)
		return 0;
	rc = sqlite3_prepare_v2(s->db, wild_select, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, j->id);
	while (r >= 0 && rc == SQLITE_OK) {
		uint64_t hi, lo;

		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		r = pw_store_addr_from_blob(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0),
					    &hi, &lo);
		if (r < 0)
			r = store_set_error(s, r, "job \"%s\": malformed address in table events",
					    j->name);
		else
			r = pw_addrset_add(&j->wild, pw_store_addr_join(hi, lo));
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = store_sql_error(s, rc, "read accepts-all addresses");
	sqlite3_finalize(st);
	if (r < 0)
		pw_addrset_done(&j->wild);
	return r < 0 ? r : 0;
}

static int running_run(struct pw_store *s, int64_t run_id, struct run **ret)
{
	struct run *run = store_run_find(s, run_id);

	if (!run || run->status != PW_RUN_RUNNING)
		return store_set_error(s, -ESRCH, "no running run %" PRId64, run_id);
	*ret = run;
	return 0;
}

int pw_store_accepts_all(struct pw_store *s, int64_t run_id, pw_u128 addr, bool *ret)
{
	LOCKED(s);
	struct run *run = NULL;
	int r = running_run(s, run_id, &run);

	if (r < 0)
		return r;
	*ret = pw_addrset_contains(&run->job->wild, addr);
	return 0;
}

int pw_store_each_accepts_all(struct pw_store *s, int64_t run_id, pw_store_addr_cb_t cb,
			      void *userdata)
{
	LOCKED(s);
	struct run *run = NULL;
	size_t cursor = 0;
	pw_u128 a;
	int r = running_run(s, run_id, &run);

	while (r >= 0 && pw_addrset_next(&run->job->wild, &cursor, &a))
		r = cb(a, userdata);
	return r;
}

static void queue(struct pw_store *s, struct run *run, const struct pending_event *ev)
{
	s->ev[s->n_ev++] = *ev;
	if (ev->kind != PW_CHANGE_BASELINE && ev->kind != PW_CHANGE_FLAP)
		run->n_changes++;
	if (ev->time > run->updated)
		run->updated = ev->time;
	run->dirty = true;
}

int pw_store_record_accepts_all(struct pw_store *s, int64_t run_id, pw_u128 addr,
				enum pw_change_kind kind, uint64_t time_usec)
{
	LOCKED(s);
	bool begins = kind == PW_CHANGE_ACCEPTS_ALL;
	struct pending_event ev = {
		.run_id = run_id,
		.time = time_usec,
		.kind = (uint8_t)kind,
		.major = 1,
		.has_old = !begins,
		.old_state = PW_STATE_OPEN,
		.new_state = PW_STATE_OPEN,
		.verdict = begins ? PW_VERDICT_ACCEPTS_ALL : PW_VERDICT_NONE,
	};
	struct run *run = NULL;
	int r;

	if (s->readonly)
		return -EROFS;
	r = running_run(s, run_id, &run);
	if (r < 0)
		return r;
	if ((!begins && kind != PW_CHANGE_ACCEPTS_ALL_ENDED) ||
	    pw_addrset_contains(&run->job->wild, addr) == begins)
		return -EINVAL; /* not an address change, or no change */
	/* room first: nothing below may fail halfway */
	r = store_reserve_event(s);
	if (r >= 0 && begins)
		r = pw_addrset_add(&run->job->wild, addr);
	if (r < 0) {
		run->refused++;
		return r;
	}
	if (!begins)
		(void)pw_addrset_remove(&run->job->wild, addr);
	ev.job_id = run->job->id;
	pw_store_addr_split(addr, &ev.hi, &ev.lo);
	queue(s, run, &ev);
	if (++s->since_flush >= s->batch_size && pw_store_flush(s) < 0)
		return PW_STORE_DEFERRED;
	return 0;
}

/* The queued event this run recorded for the port's change to open, or -1. */
static ssize_t queued_open(const struct pw_store *s, int64_t run_id, uint64_t hi, uint64_t lo,
			   uint16_t port)
{
	/* newest first: the change was recorded moments ago */
	for (size_t i = s->n_ev; i-- > 0;) {
		const struct pending_event *ev = &s->ev[i];

		if (ev->run_id == run_id && ev->port == port && ev->lo == lo && ev->hi == hi)
			return ev->new_state == PW_STATE_OPEN ? (ssize_t)i : -1;
	}
	return -1;
}

/*
 * Withdrawn (PW_RESULT_RETRACTED): rare, since the engine holds an open
 * that is news until its address is settled. A change still queued
 * disappears; one already written is followed by the change back.
 */
int pw_store_retract(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		     enum pw_state restore, uint64_t time_usec)
{
	LOCKED(s);
	struct run *run = NULL;
	struct entry *e;
	uint64_t hi, lo;
	ssize_t i;
	int r, ret;

	if (s->readonly)
		return -EROFS;
	if ((unsigned)restore >= _PW_STATE_MAX || restore == PW_STATE_OPEN)
		return -EINVAL;
	r = running_run(s, run_id, &run);
	if (r < 0)
		return r;
	/* room for the dirty mark below, before taking a pointer into the
	 * table (growing it moves the entries) */
	r = store_job_reserve(run->job);
	if (r < 0)
		return r;
	pw_store_addr_split(addr, &hi, &lo);
	e = store_job_find(run->job, hi, lo, port);
	if (!e || e->state != PW_STATE_OPEN || e->run_id != run_id)
		return 0; /* not opened by this run: nothing to withdraw */
	i = queued_open(s, run_id, hi, lo, port);
	if (i >= 0) {
		ret = s->ev[i].kind == PW_CHANGE_BASELINE ? PW_RETRACT_DROPPED
							  : PW_RETRACT_DROPPED_CHANGE;
		if (ret == PW_RETRACT_DROPPED_CHANGE && run->n_changes > 0)
			run->n_changes--;
		memmove(&s->ev[i], &s->ev[i + 1], (s->n_ev - (size_t)i - 1) * sizeof(*s->ev));
		s->n_ev--;
	} else {
		r = store_reserve_event(s);
		if (r < 0)
			return r;
		queue(s, run,
		      &(struct pending_event){ .hi = hi,
					       .lo = lo,
					       .run_id = run_id,
					       .job_id = run->job->id,
					       .time = time_usec,
					       .port = port,
					       .kind = (uint8_t)pw_change_kind_for_state(restore),
					       .major = 1,
					       .has_old = 1,
					       .old_state = PW_STATE_OPEN,
					       .new_state = (uint8_t)restore });
		ret = PW_RETRACT_CHANGED_BACK;
	}
	if (run->n_state[PW_STATE_OPEN] > 0) {
		run->n_state[PW_STATE_OPEN]--;
		run->n_state[restore]++;
	}
	run->dirty = true;
	e->state = (uint8_t)restore;
	e->flags |= E_STATE;
	store_mark_dirty(s, run->job, e);
	return ret;
}
