-- How many jobs hold in the flex queue, and the last place taken: read once per insert,
-- under the flex-queue lock, so each holding job inserted takes the next place without
-- another read (a read per row is planned through whatever index the statistics favour,
-- and with many holding jobs and stale statistics that visits all of them per row).
SELECT COUNT(*) AS n, COALESCE(MAX(flex_position), 0) AS tail
FROM asyncapex_job
WHERE status = 'Holding'
