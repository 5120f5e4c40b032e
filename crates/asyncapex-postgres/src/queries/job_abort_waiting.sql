-- Holding/Queued -> Aborted: it never runs.
-- $1 id, $2 now
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, 'aborted before it started'),
    completed_at = $2::bigint,
    signature = NULL
WHERE id = $1::text AND status IN ('Holding', 'Queued')
