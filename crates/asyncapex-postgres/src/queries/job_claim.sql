-- Queued -> Processing (Preparing for a batch whose start has not run) for the oldest due
-- jobs; the signature is released when a job starts. SKIP LOCKED lets several workers claim
-- at once without waiting for, or taking, each other's rows.
-- $1 owner, $2 now, $3 lease_until, $4 limit
WITH locked AS (
    SELECT id FROM asyncapex_job
    WHERE status = 'Queued' AND run_at <= $2::bigint
    ORDER BY run_at, id
    LIMIT $4::bigint
    FOR UPDATE SKIP LOCKED
)
UPDATE asyncapex_job j
SET status = CASE WHEN j.job_type = 'BatchApex' AND NOT j.batch_start_done
                  THEN 'Preparing' ELSE 'Processing' END,
    attempt = j.attempt + 1,
    started_at = COALESCE(j.started_at, $2::bigint),
    attempt_started_at = $2::bigint,
    lease_owner = $1::text,
    lease_expires_at = $3::bigint,
    signature = NULL
FROM locked
-- No `j.status = 'Queued'` again: the CTE's FOR UPDATE already holds exactly the rows it
-- read as queued, and repeating it lets the planner join through the queued-jobs index,
-- which after statistics taken while nothing was queued (rows=1) turned every claim into a
-- nested loop over all queued jobs (8.8 s per claim of 1,024 beside 20,000 queued jobs).
-- Without it the join can only go through the primary key.
WHERE j.id = locked.id
RETURNING j.*
