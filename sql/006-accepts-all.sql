-- portwatch schema, version 6: an address that accepts every port, as a
-- state with history.
--
-- Some addresses complete the TCP handshake on every port: a wildcard NAT
-- rule, a tarpit, a transparent proxy. portwatchd then reports the
-- address, not its ports (include/engine.h, PW_RESULT_ACCEPTS_ALL), and
-- records it here once per episode, as events about the address (port 0):
--   'accepts-all'        it began: old_state NULL, new_state 'open', major,
--                        policy 'accepts-all': a violation in the
--                        violations view until it ends, that `portwatch
--                        ack` acknowledges;
--   'accepts-all-ended'  a complete run covered the address and found its
--                        ports answering for themselves again: old_state
--                        'open', new_state NULL, major.
-- The current state of (job, address) is its latest event of the two: an
-- address is accepting everything now when that is an 'accepts-all'
-- event (the accepts_all view). Retention never deletes that event. While
-- the state holds, the address's port rows keep the states they had.
--
-- events.kind and events.policy have CHECK constraints, so the table is
-- rebuilt (SQLite cannot alter a constraint): every row, id and index is
-- kept, and the views that read it are dropped first and made again.
-- Migrations run with foreign keys on; the copy satisfies them, and
-- nothing references events.

DROP VIEW violations;
DROP VIEW port_timeline;
DROP VIEW flaps;
DROP VIEW major_changes;
DROP VIEW recent_changes;
DROP VIEW event_log;

CREATE TABLE events_new (
	id         INTEGER PRIMARY KEY,
	run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	addr       BLOB NOT NULL CHECK (length(addr) = 16),
	port       INTEGER NOT NULL, -- 0: the address as a whole
	address    TEXT NOT NULL,
	kind       TEXT NOT NULL CHECK (kind IN ('baseline', 'opened', 'closed', 'filtered',
	                                          'unreachable', 'flap', 'accepts-all',
	                                          'accepts-all-ended')),
	major      INTEGER NOT NULL CHECK (major IN (0, 1)),
	old_state  TEXT,
	-- NULL only when an address stopped accepting everything: its ports
	-- are what they are, one by one
	new_state  TEXT CHECK (new_state IS NOT NULL OR kind = 'accepts-all-ended'),
	time_usec  INTEGER NOT NULL,
	rtt_usec   INTEGER,
	policy     TEXT CHECK (policy IN ('unexpected-open', 'expected-closed', 'accepts-all')),
	acked_usec INTEGER,
	acked_by   TEXT
);
INSERT INTO events_new (id, run_id, job_id, addr, port, address, kind, major, old_state,
                        new_state, time_usec, rtt_usec, policy, acked_usec, acked_by)
SELECT id, run_id, job_id, addr, port, address, kind, major, old_state, new_state, time_usec,
       rtt_usec, policy, acked_usec, acked_by
FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_by_port ON events (job_id, addr, port, id);
CREATE INDEX events_by_time ON events (time_usec);
CREATE INDEX events_by_run ON events (run_id);
CREATE INDEX events_violating ON events (id) WHERE policy IS NOT NULL;
-- the address events of a job, for the daemon to load the current states
CREATE INDEX events_by_address ON events (job_id, addr, id) WHERE port = 0;

-- The views as 002 and 003 made them (the port events' ones show the
-- address events too, with port 0).
CREATE VIEW event_log AS
SELECT datetime(e.time_usec / 1000000, 'unixepoch') AS time, j.name AS job,
       e.address, e.port, e.kind, e.old_state, e.new_state,
       CASE e.major WHEN 1 THEN 'major' ELSE 'minor' END AS importance,
       e.run_id, e.id AS event_id, e.policy,
       CASE WHEN e.policy IS NULL THEN NULL
            WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END AS acked
FROM events e JOIN jobs j ON j.id = e.job_id
ORDER BY e.time_usec DESC, e.id DESC;

CREATE VIEW recent_changes AS
SELECT time, job, address, port, kind, old_state, new_state, importance, run_id
FROM event_log
WHERE kind NOT IN ('baseline', 'flap');

CREATE VIEW major_changes AS
SELECT time, job, address, port, kind, old_state, new_state, run_id
FROM recent_changes
WHERE importance = 'major';

CREATE VIEW flaps AS
SELECT time, job, address, port, old_state AS state, new_state AS seen, run_id
FROM event_log
WHERE kind = 'flap';

CREATE VIEW port_timeline AS
SELECT j.name AS job, e.address, e.port,
       datetime(e.time_usec / 1000000, 'unixepoch') AS time,
       e.kind, e.old_state, e.new_state, e.run_id
FROM events e JOIN jobs j ON j.id = e.job_id
ORDER BY j.name, e.addr, e.port, e.time_usec, e.id;

-- Addresses accepting every port now: their latest address event began
-- the state. event_id is what `portwatch ack` takes.
CREATE VIEW accepts_all AS
SELECT j.name AS job, e.address,
       datetime(e.time_usec / 1000000, 'unixepoch') AS since,
       e.id AS event_id,
       CASE WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END AS acked,
       e.run_id
FROM events e JOIN jobs j ON j.id = e.job_id
WHERE e.port = 0 AND e.kind = 'accepts-all'
  AND e.id = (SELECT max(l.id) FROM events l
              WHERE l.job_id = e.job_id AND l.addr = e.addr AND l.port = 0)
ORDER BY j.name, e.addr;

-- Current violations, newest first: ports whose latest event (flaps do not
-- count) violated the policy and that are still in that state, and
-- addresses accepting every port now (port 0, state 'accepts-all').
-- Acknowledged ones stay listed, marked acked.
CREATE VIEW violations AS
SELECT event_id, job, address, port, policy, state, since, acked, acked_at, acked_by, run_id
FROM (
	SELECT e.id AS event_id, j.name AS job, e.address, e.port, e.policy, p.state,
	       datetime(e.time_usec / 1000000, 'unixepoch') AS since,
	       CASE WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END AS acked,
	       datetime(e.acked_usec / 1000000, 'unixepoch') AS acked_at, e.acked_by,
	       e.run_id, e.time_usec
	FROM events e
	JOIN jobs j ON j.id = e.job_id
	JOIN ports p ON p.job_id = e.job_id AND p.addr = e.addr AND p.port = e.port
	WHERE e.policy IN ('unexpected-open', 'expected-closed')
	  AND e.id = (SELECT max(l.id) FROM events l
	              WHERE l.job_id = e.job_id AND l.addr = e.addr AND l.port = e.port
	                AND l.kind <> 'flap')
	  AND (p.state = 'open') = (e.policy = 'unexpected-open')
	UNION ALL
	SELECT e.id, j.name, e.address, e.port, e.policy, 'accepts-all',
	       datetime(e.time_usec / 1000000, 'unixepoch'),
	       CASE WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END,
	       datetime(e.acked_usec / 1000000, 'unixepoch'), e.acked_by,
	       e.run_id, e.time_usec
	FROM events e JOIN jobs j ON j.id = e.job_id
	WHERE e.port = 0 AND e.policy = 'accepts-all'
	  AND e.id = (SELECT max(l.id) FROM events l
	              WHERE l.job_id = e.job_id AND l.addr = e.addr AND l.port = 0)
)
ORDER BY time_usec DESC, event_id DESC;
