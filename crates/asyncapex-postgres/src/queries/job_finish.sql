-- Preparing/Processing -> Completed/Failed/Aborted, only by the lease holder.
-- The first error stays in extended_status (Apex keeps the first). A stored finalizer is
-- cleared: the engine inserts its run with this end (or, for an abort, runs none).
-- $1 id, $2 owner, $3 status, $4 message, $5 now
UPDATE asyncapex_job
SET status = $3::text,
    extended_status = COALESCE(extended_status, $4::text),
    completed_at = $5::bigint,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = $1::text
  AND lease_owner = $2::text
  AND status IN ('Preparing', 'Processing')
