-- portwatch schema, version 2: readable views for the sqlite3 CLI.
-- Times are shown in UTC as "YYYY-MM-DD HH:MM:SS"; the raw tables keep
-- microseconds. Rows come in the order given (SQLite keeps a view's ORDER
-- BY when the outer query has none).

-- Every (job, address, port) with its current state.
CREATE VIEW port_states AS
SELECT j.name AS job, p.address, p.port, p.state,
       datetime(p.last_change_usec / 1000000, 'unixepoch') AS since,
       datetime(p.first_seen_usec / 1000000, 'unixepoch') AS first_seen,
       datetime(p.last_seen_usec / 1000000, 'unixepoch') AS last_seen,
       p.rtt_usec
FROM ports p JOIN jobs j ON j.id = p.job_id
ORDER BY j.name, p.addr, p.port;

-- Ports open now.
CREATE VIEW open_ports AS
SELECT j.name AS job, p.address, p.port,
       datetime(p.last_change_usec / 1000000, 'unixepoch') AS open_since,
       datetime(p.last_seen_usec / 1000000, 'unixepoch') AS last_seen,
       p.rtt_usec
FROM ports p JOIN jobs j ON j.id = p.job_id
WHERE p.state = 'open'
ORDER BY j.name, p.addr, p.port;

-- Every event, newest first, baseline and flap included.
CREATE VIEW event_log AS
SELECT datetime(e.time_usec / 1000000, 'unixepoch') AS time, j.name AS job,
       e.address, e.port, e.kind, e.old_state, e.new_state,
       CASE e.major WHEN 1 THEN 'major' ELSE 'minor' END AS importance,
       e.run_id
FROM events e JOIN jobs j ON j.id = e.job_id
ORDER BY e.time_usec DESC, e.id DESC;

-- Real changes, newest first: no baseline, no unconfirmed flaps.
CREATE VIEW recent_changes AS
SELECT time, job, address, port, kind, old_state, new_state, importance, run_id
FROM event_log
WHERE kind NOT IN ('baseline', 'flap');

-- Changes of open/not-open only (what an nmap user diffs).
CREATE VIEW major_changes AS
SELECT time, job, address, port, kind, old_state, new_state, run_id
FROM recent_changes
WHERE importance = 'major';

-- Unconfirmed state differences: recorded, current state untouched.
CREATE VIEW flaps AS
SELECT time, job, address, port, old_state AS state, new_state AS seen, run_id
FROM event_log
WHERE kind = 'flap';

-- History of each port, oldest first: filter on job, address, port.
CREATE VIEW port_timeline AS
SELECT j.name AS job, e.address, e.port,
       datetime(e.time_usec / 1000000, 'unixepoch') AS time,
       e.kind, e.old_state, e.new_state, e.run_id
FROM events e JOIN jobs j ON j.id = e.job_id
ORDER BY j.name, e.addr, e.port, e.time_usec, e.id;

-- One line per run, newest first.
CREATE VIEW run_summary AS
SELECT r.id AS run_id, j.name AS job, r.status,
       datetime(r.started_usec / 1000000, 'unixepoch') AS started,
       datetime(r.ended_usec / 1000000, 'unixepoch') AS ended,
       CASE WHEN r.ended_usec IS NULL THEN NULL
            ELSE printf('%.1f', (r.ended_usec - r.started_usec) / 1e6) END AS duration_s,
       r.probes, r.n_open AS open, r.n_closed AS closed, r.n_filtered AS filtered,
       r.n_unreachable AS unreachable, r.n_changes AS changes, r.n_flaps AS flaps,
       CASE WHEN r.id = j.baseline_run_id THEN 'yes' ELSE '' END AS baseline
FROM runs r JOIN jobs j ON j.id = r.job_id
ORDER BY r.id DESC;

-- One line per job: last run and how many ports are open now.
CREATE VIEW job_status AS
SELECT j.name AS job, r.id AS last_run_id, r.status AS last_status,
       datetime(r.started_usec / 1000000, 'unixepoch') AS last_started,
       datetime(r.ended_usec / 1000000, 'unixepoch') AS last_ended,
       (SELECT count(*) FROM ports p WHERE p.job_id = j.id AND p.state = 'open') AS open_now,
       (SELECT count(*) FROM ports p WHERE p.job_id = j.id) AS ports_known,
       CASE WHEN j.baseline_run_id IS NULL THEN 'no' ELSE 'yes' END AS has_baseline
FROM jobs j LEFT JOIN runs r ON r.id = (SELECT max(id) FROM runs WHERE job_id = j.id)
ORDER BY j.name;
