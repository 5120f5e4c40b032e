-- A lost job with attempts left: back to Queued, keeping its run time, so it keeps its place
-- in the queue (claims take the earliest run time first). The guard repeats what the
-- rescuer read (lease, attempt, no abort request), so a job that moved on since is left
-- alone.
UPDATE asyncapex_job
SET status = 'Queued',
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = :id
  AND status IN ('Preparing', 'Processing')
  AND lease_owner = :lease_owner
  AND lease_expires_at = :lease_expires_at
  AND attempt = :attempt
  AND abort_requested = 0
