-- Queued -> Processing (Preparing for a batch whose start has not run) for one queue's first
-- due jobs of one band (undeferred, or fair-share deferred) in claim order: run time plus
-- the priority's delay. The signature is released when a job starts.
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
    -- The partial index keeps each queue's waiting jobs in claim order; without INDEXED BY
    -- the planner may pick the status index and sort every queued job on each claim. The
    -- horizon (now plus the largest priority delay) bounds the scan: no job past it is due.
    SELECT id FROM asyncapex_job INDEXED BY asyncapex_job_queued
    WHERE status = 'Queued' AND queue = +:queue AND deferred = +:deferred
      AND run_at + claim_delay <= :horizon AND run_at <= :now
    ORDER BY run_at + claim_delay, run_at, id
    -- `+:limit`, `+:queue`: a bare parameter as the LIMIT of an IN subquery, or compared
    -- with an index's first column, makes SQLite re-prepare the statement whenever it is
    -- bound again (3 % of a draining worker).
    LIMIT +:limit
)
RETURNING *
