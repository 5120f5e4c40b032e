-- An expired lease on a job that was asked to abort: it ends Aborted.
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, 'aborted while running; its worker stopped heartbeating'),
    completed_at = :now,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < :now
  AND (:exclude_owner IS NULL OR lease_owner <> :exclude_owner)
  AND abort_requested = 1
RETURNING id
