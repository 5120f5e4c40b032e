-- An expired lease on a job that has used all its attempts: it fails.
UPDATE asyncapex_job
SET status = 'Failed',
    extended_status = COALESCE(extended_status,
        'the worker running it stopped heartbeating (crashed or lost the store) on attempt '
        || attempt || ' of ' || max_attempts || '; not retried'),
    completed_at = :now,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < :now
  AND (:exclude_owner IS NULL OR lease_owner <> :exclude_owner)
  AND attempt >= max_attempts
RETURNING id
