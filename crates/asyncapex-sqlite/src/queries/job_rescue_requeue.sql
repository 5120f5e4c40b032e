-- An expired lease on a job with attempts left: back to Queued, due now.
UPDATE asyncapex_job
SET status = 'Queued',
    run_at = :now,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < :now
  AND (:exclude_owner IS NULL OR lease_owner <> :exclude_owner)
  AND attempt < max_attempts
RETURNING id
