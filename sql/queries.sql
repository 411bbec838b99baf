-- portwatch: ready-to-run queries for the sqlite3 CLI.
--
--   sqlite3 -readonly -box /var/lib/portwatch/portwatch.db < queries.sql
-- or paste one at a time. Times are UTC. Reading never blocks the daemon
-- (WAL mode); use -readonly so a typo cannot write.

-- 0. Current policy violations (expect_open/never_open); event_id is what
--    `portwatch ack` takes.
SELECT event_id, job, address, port, policy, state, since, acked FROM violations;

-- 1. What is open right now?
SELECT job, address, port, open_since FROM open_ports;

-- 2. The last 20 changes (no baseline, no unconfirmed flaps), newest first.
SELECT time, job, address, port, kind, old_state, new_state, importance
FROM recent_changes LIMIT 20;

-- 3. Only open <-> not-open changes of the last 24 hours.
SELECT time, job, address, port, kind
FROM major_changes
WHERE time >= datetime('now', '-1 day');

-- 4. Ports that opened for the first time after the baseline (never open before).
SELECT e.time, e.job, e.address, e.port
FROM recent_changes e
WHERE e.kind = 'opened' AND e.old_state IS NULL;

-- 5. Full history of one port (edit the address and port).
SELECT time, kind, old_state, new_state, run_id
FROM port_timeline
WHERE address = '127.0.0.1' AND port = 22;

-- 6. The last 10 runs: status, duration, counts, the packet loss measured
--    (percent of connection attempts lost; NULL: nothing answered).
SELECT run_id, job, status, started, duration_s, probes, open, closed, filtered,
       unreachable, changes, flaps, baseline, loss_pct
FROM run_summary LIMIT 10;

-- 7. Per job: last run, open ports now, whether it has a baseline.
SELECT * FROM job_status;

-- 8. Open ports per address, most first.
SELECT job, address, count(*) AS open, group_concat(port, ',') AS ports
FROM open_ports GROUP BY job, address ORDER BY open DESC, address;

-- 9. Ports that flapped (unconfirmed timeouts), most often first.
SELECT job, address, port, count(*) AS flaps, max(time) AS last_flap
FROM flaps GROUP BY job, address, port ORDER BY flaps DESC, last_flap DESC;

-- 10. Ports whose state changed most often in the last 7 days.
SELECT job, address, port, count(*) AS changes
FROM recent_changes
WHERE time >= datetime('now', '-7 days')
GROUP BY job, address, port ORDER BY changes DESC LIMIT 20;

-- 11. Ports not seen for more than a day (out of scope now, or the job stopped).
SELECT job, address, port, state, last_seen
FROM port_states
WHERE last_seen < datetime('now', '-1 day');

-- 12. Runs that did not complete, with how far they got.
SELECT run_id, job, status, started, ended, probes
FROM run_summary WHERE status != 'completed';

-- 13. Current states per job, counted.
SELECT job, state, count(*) AS ports FROM port_states GROUP BY job, state ORDER BY job, state;

-- 14. Saved RTT estimates per address (what the engine starts from).
SELECT j.name AS job, r.address, r.srtt_usec / 1000.0 AS srtt_ms,
       r.rttvar_usec / 1000.0 AS rttvar_ms,
       datetime(r.updated_usec / 1000000, 'unixepoch') AS updated
FROM rtt r JOIN jobs j ON j.id = r.job_id ORDER BY j.name, r.addr;

-- 15. Database size by table (needs the dbstat virtual table, usually built in).
-- SELECT name, sum(pgsize) / 1024 AS kib FROM dbstat GROUP BY name ORDER BY kib DESC;

-- 16. Addresses that accept every port now (a NAT rule, proxy or tarpit answers
--     for them): since when, and whether the episode was acknowledged.
SELECT job, address, since, event_id, acked FROM accepts_all;
