-- portwatch schema, version 5: what a job has covered, so that closed
-- ports need no row.
--
-- A port that was never anything but closed (and never the subject of an
-- event) has no row in "ports": a /16 x all ports job keeps rows for the
-- few ports that matter, not for four billion closed ones. Closed is what
-- a port without a row is, but only inside the space the job has covered:
-- each completed run's targets x ports is kept here (one row per
-- distinct space, at most 16 per job, a space covered by a later one
-- dropped). A port outside every row, new to the job because its ports or
-- targets grew, is unknown instead, and its first sighting is no change.
--
-- addrs: 32 bytes per range, first then last address, each 16 bytes
-- big-endian (IPv4 as ::ffff:a.b.c.d, like ports.addr); ports: 4 bytes
-- per range, first then last port, each 2 bytes big-endian. The view
-- covered_spaces sums them up.

CREATE TABLE coverage (
	id        INTEGER PRIMARY KEY,
	job_id    INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	addrs     BLOB NOT NULL CHECK (length(addrs) % 32 = 0),
	ports     BLOB NOT NULL CHECK (length(ports) % 4 = 0),
	run_id    INTEGER NOT NULL, -- the completed run that covered it (not a foreign key: pruned)
	time_usec INTEGER NOT NULL
);
CREATE INDEX coverage_by_job ON coverage (job_id);

-- One row per covered space: how many address and port ranges it has.
CREATE VIEW covered_spaces AS
SELECT j.name AS job, c.run_id, datetime(c.time_usec / 1000000, 'unixepoch') AS since,
       length(c.addrs) / 32 AS address_ranges, length(c.ports) / 4 AS port_ranges
FROM coverage c JOIN jobs j ON j.id = c.job_id
ORDER BY j.name, c.id;
