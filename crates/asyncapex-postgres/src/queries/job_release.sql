-- Graceful shutdown gives a job back: the interrupted attempt does not count, and its stored
-- finalizer goes with it (the next attempt attaches its own).
-- $1 owner, $2 ids
UPDATE asyncapex_job
SET status = 'Queued',
    attempt = GREATEST(attempt - 1, 0),
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = ANY($2::text[])
  AND lease_owner = $1::text
  AND status IN ('Preparing', 'Processing')
