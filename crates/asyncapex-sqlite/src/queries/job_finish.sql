-- Preparing/Processing -> Completed/Failed/Aborted, only by the lease holder.
-- The first error stays in extended_status (Apex keeps the first).
UPDATE asyncapex_job
SET status = :status,
    extended_status = COALESCE(extended_status, :message),
    completed_at = :now,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = :id
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
