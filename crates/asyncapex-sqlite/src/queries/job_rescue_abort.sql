-- A lost job that was asked to abort: it ends Aborted. The guard repeats the lease the
-- rescuer read, so a job that was heartbeated, finished or requeued since is left alone.
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, :message),
    completed_at = :now,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = :id
  AND status IN ('Preparing', 'Processing')
  AND lease_owner = :lease_owner
  AND lease_expires_at = :lease_expires_at
  AND abort_requested = 1
