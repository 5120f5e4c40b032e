-- Queued -> Processing (Preparing for a batch whose start has not run) for the oldest due
-- jobs; the signature is released when a job starts.
UPDATE asyncapex_job
SET status = CASE WHEN job_type = 'BatchApex' AND batch_start_done = 0
                  THEN 'Preparing' ELSE 'Processing' END,
    attempt = attempt + 1,
    started_at = COALESCE(started_at, :now),
    attempt_started_at = :now,
    lease_owner = :owner,
    lease_expires_at = :lease_until,
    signature = NULL
WHERE id IN (
    -- The partial index keeps due jobs in claim order; without INDEXED BY the planner may
    -- pick the status index and sort every queued job on each claim.
    SELECT id FROM asyncapex_job INDEXED BY asyncapex_job_queued
    WHERE status = 'Queued' AND run_at <= :now
    ORDER BY run_at, id
    -- `+:limit`, not `:limit`: a bare parameter as the LIMIT of an IN subquery makes SQLite
    -- re-prepare the statement whenever it is bound again (3 % of a draining worker).
    LIMIT +:limit
)
RETURNING *
