-- An expired lease on a job that has used all its attempts: it fails.
-- $1 now, $2 exclude_owner
UPDATE asyncapex_job
SET status = 'Failed',
    extended_status = COALESCE(extended_status,
        'the worker running it stopped heartbeating (crashed or lost the store) on attempt '
        || attempt || ' of ' || max_attempts || '; not retried'),
    completed_at = $1::bigint,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < $1::bigint
  AND ($2::text IS NULL OR lease_owner <> $2::text)
  AND attempt >= max_attempts
RETURNING id
