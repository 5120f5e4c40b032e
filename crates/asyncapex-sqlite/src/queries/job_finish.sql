-- Preparing/Processing -> Completed/Failed/Aborted, only by the lease holder.
-- The first error stays in extended_status (Apex keeps the first). A stored finalizer is
-- cleared: the engine inserts its run with this end (or, for an abort, runs none).
UPDATE asyncapex_job
SET status = :status,
    extended_status = COALESCE(extended_status, :message),
    completed_at = :now,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = :id
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
