-- Preparing/Processing -> Completed for many jobs held by one owner (the executor's hot
-- path: plain completions, nothing inserted). Jobs no longer held by the owner are skipped.
-- $1 ids, $2 owner, $3 now
UPDATE asyncapex_job
SET status = 'Completed',
    completed_at = $3::bigint,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = ANY($1::text[])
  AND lease_owner = $2::text
  AND status IN ('Preparing', 'Processing')
RETURNING id
