-- portwatch schema, version 1: jobs, runs, current port states, change
-- events and saved RTT estimates.
--
-- Times are integer microseconds since the Unix epoch (UTC); the views in
-- 002-views.sql show them as "YYYY-MM-DD HH:MM:SS". Addresses are kept
-- twice: "addr", 16 bytes big-endian (IPv4 as ::ffff:a.b.c.d, so it sorts
-- numerically and is the key), and "address", the text an operator types
-- ("127.0.0.1", "::1"). States are the strings of include/state.h.
--
-- The store applies this file in one transaction and sets user_version.

PRAGMA application_id = 1347896386; -- 'PWDB'

CREATE TABLE jobs (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	-- First completed run; NULL until then. Until it is set every state
	-- recorded for the job is a "baseline" event. Not a foreign key: it
	-- must survive retention pruning of that run.
	baseline_run_id INTEGER,
	created_usec    INTEGER NOT NULL
);

CREATE TABLE runs (
	id            INTEGER PRIMARY KEY,
	job_id        INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	status        TEXT NOT NULL DEFAULT 'running'
	              CHECK (status IN ('running', 'completed', 'aborted', 'failed', 'skipped')),
	started_usec  INTEGER NOT NULL,
	ended_usec    INTEGER,
	-- time of the last observation written for this run: a run left
	-- "running" by a crash is closed as aborted at this time
	updated_usec  INTEGER NOT NULL,
	probes        INTEGER NOT NULL DEFAULT 0,
	n_open        INTEGER NOT NULL DEFAULT 0,
	n_closed      INTEGER NOT NULL DEFAULT 0,
	n_filtered    INTEGER NOT NULL DEFAULT 0,
	n_unreachable INTEGER NOT NULL DEFAULT 0,
	n_changes     INTEGER NOT NULL DEFAULT 0, -- events except baseline and flap
	n_flaps       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_job ON runs (job_id, id);
CREATE INDEX runs_by_start ON runs (started_usec);

-- Current state of every (job, address, port) ever observed. last_seen and
-- last_run_id are written at most every few minutes for an unchanged port
-- (see store.h), exactly on a clean stop; the integer key keeps those
-- updates rowid lookups.
CREATE TABLE ports (
	id               INTEGER PRIMARY KEY,
	job_id           INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	addr             BLOB NOT NULL CHECK (length(addr) = 16),
	port             INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	address          TEXT NOT NULL,
	state            TEXT NOT NULL
	                 CHECK (state IN ('open', 'closed', 'filtered', 'unreachable')),
	first_seen_usec  INTEGER NOT NULL,
	last_seen_usec   INTEGER NOT NULL,
	last_change_usec INTEGER NOT NULL,
	last_run_id      INTEGER NOT NULL, -- not a foreign key: survives pruning
	rtt_usec         INTEGER,
	UNIQUE (job_id, addr, port)
);

-- Append-only: one row per recorded change, never per observation.
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	job_id    INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	addr      BLOB NOT NULL CHECK (length(addr) = 16),
	port      INTEGER NOT NULL,
	address   TEXT NOT NULL,
	kind      TEXT NOT NULL CHECK (kind IN ('baseline', 'opened', 'closed', 'filtered',
	                                         'unreachable', 'flap')),
	major     INTEGER NOT NULL CHECK (major IN (0, 1)),
	old_state TEXT,
	new_state TEXT NOT NULL,
	time_usec INTEGER NOT NULL,
	rtt_usec  INTEGER
);
CREATE INDEX events_by_port ON events (job_id, addr, port, id);
CREATE INDEX events_by_time ON events (time_usec);
CREATE INDEX events_by_run ON events (run_id);

-- Smoothed RTT per (job, address), so the engine starts from an estimate.
CREATE TABLE rtt (
	job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	addr         BLOB NOT NULL CHECK (length(addr) = 16),
	address      TEXT NOT NULL,
	srtt_usec    INTEGER NOT NULL,
	rttvar_usec  INTEGER NOT NULL,
	updated_usec INTEGER NOT NULL,
	PRIMARY KEY (job_id, addr)
) WITHOUT ROWID;
