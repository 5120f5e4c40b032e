-- An expired lease on a job with attempts left: back to Queued, due now.
-- $1 now, $2 exclude_owner
UPDATE asyncapex_job
SET status = 'Queued',
    run_at = $1::bigint,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < $1::bigint
  AND ($2::text IS NULL OR lease_owner <> $2::text)
  AND attempt < max_attempts
RETURNING id
