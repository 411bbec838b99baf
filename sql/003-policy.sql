-- portwatch schema, version 3: expected-state policy and acknowledgements.
--
-- events.policy says which event violated the job's policy (see
-- include/policy.h): 'unexpected-open' (open, but not expected) or
-- 'expected-closed' (expected open, but closed, filtered or unreachable);
-- NULL for every other event and for events older than this version.
-- acked_usec/acked_by are set by `portwatch ack EVENT_ID`, the only write
-- the CLI makes.

ALTER TABLE events ADD COLUMN policy TEXT
	CHECK (policy IN ('unexpected-open', 'expected-closed'));
ALTER TABLE events ADD COLUMN acked_usec INTEGER;
ALTER TABLE events ADD COLUMN acked_by TEXT;
CREATE INDEX events_violating ON events (id) WHERE policy IS NOT NULL;

-- Current violations, newest first: ports whose latest event (flaps do not
-- count: they leave the state alone) violated the policy and that are
-- still in that state. Acknowledged ones stay listed, marked acked.
CREATE VIEW violations AS
SELECT e.id AS event_id, j.name AS job, e.address, e.port, e.policy, p.state,
       datetime(e.time_usec / 1000000, 'unixepoch') AS since,
       CASE WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END AS acked,
       datetime(e.acked_usec / 1000000, 'unixepoch') AS acked_at, e.acked_by,
       e.run_id
FROM events e
JOIN jobs j ON j.id = e.job_id
JOIN ports p ON p.job_id = e.job_id AND p.addr = e.addr AND p.port = e.port
WHERE e.policy IS NOT NULL
  AND e.id = (SELECT max(l.id) FROM events l
              WHERE l.job_id = e.job_id AND l.addr = e.addr AND l.port = e.port
                AND l.kind <> 'flap')
  AND (p.state = 'open') = (e.policy = 'unexpected-open')
ORDER BY e.time_usec DESC, e.id DESC;

-- event_log gains the event id (what `portwatch ack` takes), the policy
-- verdict and the acknowledgement, after its old columns. The views built
-- on it name their columns, so they are unchanged.
DROP VIEW event_log;
CREATE VIEW event_log AS
SELECT datetime(e.time_usec / 1000000, 'unixepoch') AS time, j.name AS job,
       e.address, e.port, e.kind, e.old_state, e.new_state,
       CASE e.major WHEN 1 THEN 'major' ELSE 'minor' END AS importance,
       e.run_id, e.id AS event_id, e.policy,
       CASE WHEN e.policy IS NULL THEN NULL
            WHEN e.acked_usec IS NULL THEN 'no' ELSE 'yes' END AS acked
FROM events e JOIN jobs j ON j.id = e.job_id
ORDER BY e.time_usec DESC, e.id DESC;
