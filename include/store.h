/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Port-state history in SQLite. The schema lives in sql/NNN-*.sql, is
 * compiled into the binary and applied with PRAGMA user_version
 * migrations, one transaction each.
 *
 * One process writes (the daemon); any number read (sqlite3, the CLI):
 * WAL mode, busy_timeout, synchronous=NORMAL, foreign keys on. Run, job
 * and port-row ids are allocated in memory, so two writers on one file
 * would collide. The store locks itself: engine worker threads may call
 * pw_store_get_state() while the daemon's loop records (one recursive
 * mutex around every function that reads or changes the in-memory maps).
 *
 * Write path. The store keeps, per job, an in-memory map (address, port)
 * -> current state, loaded from the "ports" table when the job's first run
 * begins (about 80 bytes per port). The caller reads a port's state
 * (pw_store_prior()), decides what the observation means (change.h,
 * policy.h) and records that (pw_store_record()): the store stores, it
 * does not judge. The writes are queued and written in
 * one transaction per batch: at pw_store_flush(), at pw_store_run_end(),
 * and automatically every `batch_size` observations. The daemon should
 * also call pw_store_flush() from a timer (every few seconds) so that a
 * slow run's changes reach the database promptly.
 *
 * An unchanged observation costs no SQL: it updates last-seen in memory.
 * The row's last_seen_usec/last_run_id/rtt_usec are rewritten only when the
 * copy on disk is `seen_interval` old (default 15 minutes,
 * pw_store_set_seen_interval()), and all of them at pw_store_close(). So
 * on disk last_seen is exact after a clean stop and at most seen_interval
 * behind otherwise; state, last_change, events and run counters are always
 * exact as of the last batch.
 *
 * Durability. A batch is one transaction holding the events, the port rows
 * and the run's counters, so a kill -9 at any moment loses at most the
 * batch in flight and never leaves a run whose counters disagree with its
 * events. With synchronous=NORMAL in WAL mode a power loss may also lose
 * the last committed batches, never consistency. A run left "running" by a
 * crash is closed as "aborted" by pw_store_recover_runs().
 *
 * Failures. A failed write (disk full, read-only file, locked beyond the
 * busy timeout, corrupt database) rolls the batch back, returns -errno and
 * keeps everything queued; the next flush retries it. Before each batch the
 * store also checks that its path still names the file it opened and that
 * the file still starts with SQLite's header: a database renamed over,
 * removed (-ESTALE) or overwritten in place (-EBADMSG) while open would
 * otherwise take commits that no one can read back. Memory is bounded:
 * queued port rows cost nothing beyond the per-job map (a flag and a 4-byte
 * index each), and queued events are limited to `max_pending` (default
 * PW_STORE_DEFAULT_MAX_PENDING). At that bound pw_store_record() refuses
 * an observation that would add an event with -ENOBUFS and leaves the
 * port's state untouched, so the same change is detected again (and
 * recorded) at the next observation once writes succeed: a change is
 * delayed, never silently dropped. Unchanged observations are still
 * accepted at the bound.
 *
 * Errors: every function returning int gives >= 0 or -errno; after a
 * failure pw_store_last_error() says "PATH: what failed: SQLite's message".
 *
 * Time values are microseconds since the epoch (CLOCK_REALTIME), passed by
 * the caller so tests drive the store exactly.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "change.h"
#include "policy.h"
#include "state.h"

struct pw_store;

/* pw_store_open() flags */
#define PW_STORE_READONLY (1u << 0) /* the CLI: no migrations, no writes */

#define PW_STORE_DEFAULT_BATCH 16384
#define PW_STORE_DEFAULT_MAX_PENDING 262144 /* queued events, ~64 bytes each */
#define PW_STORE_DEFAULT_BUSY_TIMEOUT_MS 5000

enum pw_run_status {
	PW_RUN_RUNNING,
	PW_RUN_COMPLETED, /* every probe answered or timed out: may be the baseline */
	PW_RUN_ABORTED,   /* stopped early: daemon stop, reload, crash */
	PW_RUN_FAILED,    /* could not run (e.g. no sockets) */
	PW_RUN_SKIPPED,   /* due while the previous run still went: not started */
	_PW_RUN_STATUS_MAX,
};

const char *pw_run_status_to_string(enum pw_run_status s);
int pw_run_status_from_string(const char *s);

/*
 * Open (creating if needed, unless read-only) and migrate. Errors:
 * -EPROTONOSUPPORT for a schema newer than this build knows, -ESTALE for an
 * older schema opened read-only, -EBADMSG for a file that is not a
 * (portwatch) SQLite database, -ENOENT/-EACCES/-EROFS from the file system.
 * On failure *ret_store is untouched, but if ret_error is not NULL it gets a
 * malloc()ed message (path and SQLite's text) the caller frees.
 * path may be ":memory:" for tests.
 */
int pw_store_open(const char *path, unsigned flags, struct pw_store **ret_store, char **ret_error);

/* Flushes (errors are lost: call pw_store_flush() first to see them). */
struct pw_store *pw_store_close(struct pw_store *s);

/* The message for the last failure, or "" if none. */
const char *pw_store_last_error(const struct pw_store *s);

/* Schema version of this build and of the open database. */
unsigned pw_store_schema_version(void);
unsigned pw_store_db_version(const struct pw_store *s);

/* How stale an unchanged port's last_seen may get on disk (0: write with
 * every batch). */
#define PW_STORE_DEFAULT_SEEN_INTERVAL (UINT64_C(15) * 60 * 1000000)
void pw_store_set_seen_interval(struct pw_store *s, uint64_t usec);

/* Tune batching (0 keeps the current value). */
void pw_store_set_batch(struct pw_store *s, size_t batch_size, size_t max_pending);

/* How long a write waits for another connection's lock (default 5 s). */
void pw_store_set_busy_timeout(struct pw_store *s, unsigned msec);

/*
 * Close runs left "running" by a crash as "aborted", ended at their last
 * written observation. The daemon calls this once after opening. Returns
 * the number of runs closed.
 */
int pw_store_recover_runs(struct pw_store *s);

/*
 * Start a run of a job (created on first use). Run ids are allocated in
 * memory and the row is written with the next batch, so beginning a run
 * works while the disk is full; it reads the job's port states if they are
 * not cached yet, which can fail. *ret_run_id > 0.
 */
int pw_store_run_begin(struct pw_store *s, const char *job, uint64_t now_usec, int64_t *ret_run_id);

/*
 * The targets x ports a running run probes (copied). Once the run
 * completes with every observation recorded, ports of that space without
 * a row are closed (a port never seen in another state gets none); before,
 * and outside every such space, they are unknown. Returns 0, -ESRCH (no
 * running run), -ENOMEM.
 */
struct pw_scan_space;
int pw_store_run_space(struct pw_store *s, int64_t run_id, const struct pw_scan_space *space);

/*
 * What the store knows of one port of a running run's job, for the caller
 * to judge an observation by (daemon/report.c: change.h and policy.h).
 * -ESRCH for an unknown or ended run.
 */
struct pw_store_prior {
	bool has_baseline; /* the job has a completed run */
	/* state is the port's current state: its row's, or closed for a port
	 * without one in the space the job covered (pw_store_run_space()) */
	bool known;
	enum pw_state state;
};
int pw_store_prior(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		   struct pw_store_prior *ret);

/*
 * One observation and what it means. The store does not judge: the caller
 * decided the change (pw_change_detect(), then pw_policy_apply()) from
 * pw_store_prior(), and the store records it as told.
 */
struct pw_store_obs {
	pw_u128 addr;
	uint16_t port;
	enum pw_state state; /* as observed: an unconfirmed flap is what was seen */
	uint32_t rtt_usec;   /* 0 = none (no answer) */
	uint64_t time_usec;
	/* NONE: unchanged (last_seen only); NEW: a first sighting that is no
	 * event (a row, no event); FLAP: an event that keeps the state; any
	 * other kind replaces the state and is an event */
	struct pw_change change;
	enum pw_policy_verdict verdict; /* stored with an event in events.policy */
};

/*
 * Record one observation of a running run. Returns 0, or
 * PW_STORE_DEFERRED (> 0) when the observation is kept but the automatic
 * flush it triggered failed (see pw_store_last_error(); the next flush
 * retries). Errors: -ESRCH unknown or ended run, -EINVAL a state, kind or
 * verdict out of range, -EROFS read-only store, -ENOBUFS at the memory
 * bound (nothing recorded, see above).
 */
#define PW_STORE_DEFERRED 1
int pw_store_record(struct pw_store *s, int64_t run_id, const struct pw_store_obs *obs);

/* ------------------------------------------------------------------ addresses
 *
 * An address that accepts every port (a wildcard NAT rule, a tarpit, a
 * proxy answering for it: the engine's PW_RESULT_ACCEPTS_ALL) is a state
 * of (job, address) with history: an event "accepts-all" when it begins
 * (port 0, policy "accepts-all": a violation to acknowledge) and one
 * "accepts-all-ended" when it ends; the state is the latest of them
 * (sql/006-accepts-all.sql). The store keeps each job's set of addresses
 * in the state in memory, read with its port map. As for ports, the
 * caller decides (daemon/report.c) and the store records.
 */

/* Whether addr is accepting every port now, for the run's job. -ESRCH:
 * no such running run. */
int pw_store_accepts_all(struct pw_store *s, int64_t run_id, pw_u128 addr, bool *ret);

/*
 * Record that addr began (PW_CHANGE_ACCEPTS_ALL) or ceased
 * (PW_CHANGE_ACCEPTS_ALL_ENDED) to accept every port: its event, queued
 * like a port's, and the state. Returns 0 or PW_STORE_DEFERRED (see
 * pw_store_record()); -EINVAL for another kind or no change (the state is
 * that already), -ESRCH, -EROFS, -ENOBUFS/-ENOMEM (nothing recorded).
 */
int pw_store_record_accepts_all(struct pw_store *s, int64_t run_id, pw_u128 addr,
				enum pw_change_kind kind, uint64_t time_usec);

/* cb for each address of the run's job accepting every port now (any
 * order). Record nothing from cb: collect, then record. A negative return
 * from cb stops and is returned. */
typedef int (*pw_store_addr_cb_t)(pw_u128 addr, void *userdata);
int pw_store_each_accepts_all(struct pw_store *s, int64_t run_id, pw_store_addr_cb_t cb,
			      void *userdata);

/*
 * Withdraw the open state this run recorded for (addr, port): the engine
 * found its address accepting everything afterwards (PW_RESULT_RETRACTED).
 * The port's state goes back to restore (not OPEN). Its change event is
 * dropped if it is still queued (PW_RETRACT_DROPPED, or _DROPPED_CHANGE
 * when it counted as a change: a caller that holds the telling of it
 * drops that too), or followed by the change back if it was written
 * (PW_RETRACT_CHANGED_BACK: that change is to be told). 0 when the port
 * is not open by this run (nothing to do); -EINVAL, -ESRCH, -EROFS,
 * -ENOBUFS, -ENOMEM.
 */
enum {
	PW_RETRACT_DROPPED = 1,
	PW_RETRACT_DROPPED_CHANGE,
	PW_RETRACT_CHANGED_BACK,
};
int pw_store_retract(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		     enum pw_state restore, uint64_t time_usec);

/*
 * Drop a job's in-memory state map, e.g. when a config reload removed the
 * job: writes what is queued (all of the job's last_seen values too) first.
 * -EBUSY while a run of the job is running. Its next run reads the map
 * again. 0 for a job that is not loaded.
 */
int pw_store_job_unload(struct pw_store *s, const char *job);

/* The current state of a port in the run's job: 0 or -ENOENT (never seen). */
int pw_store_get_state(struct pw_store *s, int64_t run_id, pw_u128 addr, uint16_t port,
		       enum pw_state *ret_state);

/*
 * End a run and flush. The run is ended in memory even if the flush fails
 * (the row is written by a later flush). A first COMPLETED run becomes the
 * job's baseline, unless pw_store_record() refused one of its
 * observations (the memory bound, no memory): a baseline with a port
 * missing would make the next run report that port as a change. -ESRCH
 * for an unknown or already ended run.
 */
int pw_store_run_end(struct pw_store *s, int64_t run_id, enum pw_run_status status,
		     uint64_t now_usec);

/*
 * The packet loss a running run measured, in percent (0 to 100; see
 * sql/007-run-loss.sql): written with its row at the next flush, so set it
 * before pw_store_run_end(). A run never given one has NULL. Returns 0,
 * -EINVAL out of range, -ESRCH for an unknown or ended run.
 */
int pw_store_run_loss(struct pw_store *s, int64_t run_id, double loss_pct);

/*
 * Record that a job's run was due but not started because the previous
 * one still went: a run row with status "skipped", started = ended = now,
 * written with the next batch. It is never a baseline and changes no
 * port. *ret_run_id (may be NULL) gets its id.
 */
int pw_store_run_skipped(struct pw_store *s, const char *job, uint64_t now_usec,
			 int64_t *ret_run_id);

/*
 * Acknowledge an event (`portwatch ack`): set events.acked_usec/acked_by
 * (by may be NULL). Written at once, in its own statement; the CLI opens
 * the database read-write for this alone. Returns 0, 1 if it was already
 * acknowledged (the first acknowledgement stays), -ENOENT for no such
 * event, -EROFS on a read-only store.
 */
int pw_store_ack(struct pw_store *s, int64_t event_id, uint64_t now_usec, const char *by);

/* Write everything queued, in one transaction. */
int pw_store_flush(struct pw_store *s);

/*
 * Called after every transaction that wrote queued rows committed (from
 * pw_store_flush(), also the ones other calls make), with the store's lock
 * held: what was recorded up to now is on disk. It must not call the
 * store. NULL: none.
 */
typedef void (*pw_store_commit_cb_t)(void *userdata);
void pw_store_set_commit_cb(struct pw_store *s, pw_store_commit_cb_t cb, void *userdata);

/* Rows waiting to be written: events, port rows, runs and jobs. */
size_t pw_store_pending(const struct pw_store *s);

/* Whether anything at all (events, port, run or job rows) waits for a flush. */
bool pw_store_needs_flush(const struct pw_store *s);

struct pw_store_port {
	pw_u128 addr;
	uint16_t port;
	enum pw_state state;
	uint64_t first_seen_usec, last_seen_usec, last_change_usec;
};

typedef int (*pw_store_port_cb_t)(const struct pw_store_port *p, void *userdata);

/*
 * Call cb for every known port of a job (any order), including what is
 * still queued. A negative return from cb stops and is returned. An
 * unknown job has no ports (returns 0).
 */
int pw_store_load_states(struct pw_store *s, const char *job, pw_store_port_cb_t cb,
			 void *userdata);

struct pw_store_run_info {
	int64_t run_id;
	enum pw_run_status status;
	uint64_t started_usec;
	uint64_t ended_usec; /* 0 while running */
};

/*
 * The job's most recent run, and its most recent completed run, for the
 * scheduler after a restart. ret_last_completed may be NULL; its run_id is
 * 0 if there is none. -ENOENT if the job never ran.
 */
int pw_store_last_run(struct pw_store *s, const char *job, struct pw_store_run_info *ret_last,
		      struct pw_store_run_info *ret_last_completed);

/* Per-address RTT estimate (RFC 6298 SRTT/RTTVAR) saved across restarts. */
struct pw_store_rtt {
	pw_u128 addr;
	uint64_t srtt_usec, rttvar_usec;
};

typedef int (*pw_store_rtt_cb_t)(const struct pw_store_rtt *r, void *userdata);

/* Save n estimates of a job in one transaction (flushes first). */
int pw_store_save_rtt(struct pw_store *s, const char *job, const struct pw_store_rtt *v, size_t n,
		      uint64_t now_usec);
int pw_store_load_rtt(struct pw_store *s, const char *job, pw_store_rtt_cb_t cb, void *userdata);

/*
 * Retention: delete at most max_rows events older than older_than_usec,
 * then runs that ended before it and have no events left (never a job's
 * latest run, never a running one). Current port states and jobs are kept.
 * One short transaction; returns the number of rows deleted: call again
 * (from a timer, between scans) while it returns max_rows.
 */
int pw_store_prune(struct pw_store *s, uint64_t older_than_usec, unsigned max_rows);

/*
 * The embedded migrations, in increasing order of version, the NNN of
 * sql/NNN-*.sql (generated from those files at build time). The schema
 * version is the last one's; a database at version v gets every migration
 * above v.
 */
struct pw_store_migration {
	unsigned version;
	const char *name;
	const char *sql;
};

extern const struct pw_store_migration pw_store_migrations[];
extern const unsigned pw_store_n_migrations;

/* ------------------------------------------------------------------ read side
 *
 * What portwatch(1) shows, as typed rows (lib/store-read.c), for a store
 * opened with PW_STORE_READONLY. Rows are handed to a callback one at a
 * time, so a million of them cost one row of memory; a row and its strings
 * are valid only during the call. A non-zero return from the callback stops
 * the iteration and is returned as is. SQL failures return -errno
 * (-EBUSY: locked) with pw_store_last_error() set.
 *
 * An address is the store's key (addr_valid) or, in a row whose key is not
 * 16 bytes (no row portwatchd writes), the text column as found (addr 0).
 * Times are as stored, microseconds since the epoch.
 */

/* One snapshot for every read in between (a read transaction), so one
 * invocation sees one state while the daemon keeps writing (WAL). end: no
 * effect outside a transaction. */
int pw_store_read_begin(struct pw_store *s);
void pw_store_read_end(struct pw_store *s);

/* What to read. Each read says which fields it uses; address and port
 * ranges are the hull of the caller's filter (the exact test is the
 * caller's). */
struct pw_store_read_filter {
	const char *job; /* NULL: every job */
	pw_u128 addr_lo, addr_hi;
	uint16_t port_lo, port_hi;
	uint64_t since_usec;
	bool all; /* changes: baseline records and unconfirmed flaps too */
};

/* Every job name, sorted. */
typedef int (*pw_store_job_name_cb_t)(const char *name, void *userdata);
int pw_store_read_jobs(struct pw_store *s, pw_store_job_name_cb_t cb, void *userdata);

/* Ports open now (job, addr range), by job, address and port. */
struct pw_store_open_row {
	const char *job;
	bool addr_valid;
	pw_u128 addr;
	const char *address;
	uint16_t port;
	int64_t since_usec; /* last change */
	int64_t last_seen_usec;
};

typedef int (*pw_store_open_cb_t)(const struct pw_store_open_row *row, void *userdata);
int pw_store_read_open(struct pw_store *s, const struct pw_store_read_filter *f,
		       pw_store_open_cb_t cb, void *userdata);

/* An event, or (history) a port's first sighting from the ports table. */
struct pw_store_event_row {
	bool has_id; /* not for a first sighting */
	int64_t id;
	int64_t time_usec;
	const char *job;
	bool addr_valid;
	pw_u128 addr;
	const char *address;
	uint16_t port;
	const char *kind, *old_state, *new_state; /* NULL: none */
	bool has_run;
	int64_t run_id;
	const char *policy; /* NULL: none */
	bool acked;
	int64_t acked_usec;
};

typedef int (*pw_store_event_cb_t)(const struct pw_store_event_row *row, void *userdata);

/* Changes (since, job, addr range, all), newest first. */
int pw_store_read_changes(struct pw_store *s, const struct pw_store_read_filter *f,
			  pw_store_event_cb_t cb, void *userdata);

/*
 * The timeline of addresses (addr and port range, job), oldest first:
 * every event, and the first sighting of each port whose first event does
 * not say what it was before. Ports that never changed show only when one
 * port is asked for (port_lo == port_hi).
 */
int pw_store_read_history(struct pw_store *s, const struct pw_store_read_filter *f,
			  pw_store_event_cb_t cb, void *userdata);

/* A run and its counts (the run_summary view). */
struct pw_store_run_row {
	int64_t run_id;
	const char *job, *status;
	int64_t started_usec;
	bool ended;
	int64_t ended_usec;
	int64_t probes, open, closed, filtered, unreachable, changes, flaps;
	bool baseline;
	bool has_loss; /* runs.loss_pct is not NULL */
	double loss_pct;
};

typedef int (*pw_store_run_cb_t)(const struct pw_store_run_row *row, void *userdata);

/* Runs (job), newest first, at most limit of them (0: all). */
int pw_store_read_runs(struct pw_store *s, const struct pw_store_read_filter *f, uint64_t limit,
		       pw_store_run_cb_t cb, void *userdata);

/* A job's last run and its ports (the job_status view). */
struct pw_store_job_row {
	const char *job;
	bool ran;
	int64_t last_run_id;
	const char *last_status;
	int64_t started_usec;
	bool ended;
	int64_t ended_usec;
	int64_t open_now, ports_known;
};

typedef int (*pw_store_job_cb_t)(const struct pw_store_job_row *row, void *userdata);

/* Every job that has a row, by name. */
int pw_store_read_job_status(struct pw_store *s, pw_store_job_cb_t cb, void *userdata);
