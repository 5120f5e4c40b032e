-- Graceful shutdown gives a job back: the interrupted attempt does not count, and its stored
-- finalizer goes with it (the next attempt attaches its own).
UPDATE asyncapex_job
SET status = 'Queued',
    attempt = MAX(attempt - 1, 0),
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id IN (SELECT value FROM json_each(:ids))
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
