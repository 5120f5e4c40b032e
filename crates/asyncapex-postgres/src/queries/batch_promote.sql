-- Holding -> Queued from the front of the flex queue (under the flex-queue lock). The CTE
-- runs once: a locking subquery in the WHERE clause may be rescanned and go past the limit.
-- $1 now, $2 limit
WITH front AS (
    SELECT id FROM asyncapex_job
    WHERE status = 'Holding'
    ORDER BY flex_position, id
    LIMIT $2::bigint
    FOR UPDATE
)
UPDATE asyncapex_job j
SET status = 'Queued', flex_position = NULL, run_at = $1::bigint
FROM front
-- No status check again: FOR UPDATE holds the rows read as holding (see job_claim.sql for
-- the plan that check invites).
WHERE j.id = front.id
RETURNING j.id
