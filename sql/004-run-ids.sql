-- portwatch schema, version 4: run ids are never handed out twice.
--
-- A run's id is named in the journal (PORTWATCH_RUN_ID) and in hook calls
-- from its first second, possibly before its row could be written (the
-- database locked or full). Had the daemon then been killed, the next one
-- would have handed the same id to a new run. So a writer reserves ids
-- ahead here, in a committed transaction, before it hands them out, and a
-- restart continues above the reservation: ids only grow, and may skip
-- (by less than one reserved block, 32) across a restart.

CREATE TABLE run_ids (
	one      INTEGER PRIMARY KEY CHECK (one = 1),
	reserved INTEGER NOT NULL -- every id up to this may have been handed out
);
INSERT INTO run_ids (one, reserved) SELECT 1, coalesce(max(id), 0) FROM runs;
