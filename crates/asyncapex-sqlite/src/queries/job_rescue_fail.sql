-- A lost job that used its last attempt: it fails. The guard repeats what the rescuer read
-- (lease, attempt, no abort request), so a job that moved on since is left alone.
UPDATE asyncapex_job
SET status = 'Failed',
    extended_status = COALESCE(extended_status, :message),
    completed_at = :now,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = :id
  AND status IN ('Preparing', 'Processing')
  AND lease_owner = :lease_owner
  AND lease_expires_at = :lease_expires_at
  AND attempt = :attempt
  AND abort_requested = 0
