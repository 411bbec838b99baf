-- portwatch schema, version 7: the packet loss each run measured.
--
-- runs.loss_pct is the share of connection attempts lost, in percent
-- (0 to 100): attempts that timed out on a port that a later attempt to
-- the same port got an answer from, over those plus the attempts that
-- were answered. A port that never answers says nothing about loss (it may
-- be filtered), so an address that only drops counts 0. With a drop rate
-- d each way (the SYN out, the SYN-ACK or RST back) it is about
-- 1 - (1 - d)^2: 10% each way shows as about 19%. While an address loses
-- packets the engine retries its unanswered probes more (max_retries).
-- NULL: nothing was answered, the run never probed, or it ran before
-- this version.

ALTER TABLE runs ADD COLUMN loss_pct REAL CHECK (loss_pct BETWEEN 0 AND 100);

-- run_summary gains the loss, after its old columns (so a SELECT * that
-- reads them by position still works).
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT r.id AS run_id, j.name AS job, r.status,
       datetime(r.started_usec / 1000000, 'unixepoch') AS started,
       datetime(r.ended_usec / 1000000, 'unixepoch') AS ended,
       CASE WHEN r.ended_usec IS NULL THEN NULL
            ELSE printf('%.1f', (r.ended_usec - r.started_usec) / 1e6) END AS duration_s,
       r.probes, r.n_open AS open, r.n_closed AS closed, r.n_filtered AS filtered,
       r.n_unreachable AS unreachable, r.n_changes AS changes, r.n_flaps AS flaps,
       CASE WHEN r.id = j.baseline_run_id THEN 'yes' ELSE '' END AS baseline,
       round(r.loss_pct, 2) AS loss_pct
FROM runs r JOIN jobs j ON j.id = r.job_id
ORDER BY r.id DESC;
