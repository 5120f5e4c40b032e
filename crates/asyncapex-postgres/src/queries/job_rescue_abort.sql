-- An expired lease on a job that was asked to abort: it ends Aborted.
-- $1 now, $2 exclude_owner
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, 'aborted while running; its worker stopped heartbeating'),
    completed_at = $1::bigint,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < $1::bigint
  AND ($2::text IS NULL OR lease_owner <> $2::text)
  AND abort_requested
RETURNING id
