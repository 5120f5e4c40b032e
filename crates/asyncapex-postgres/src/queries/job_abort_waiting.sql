-- Holding/Queued -> Aborted: it never runs. The message is rules::ABORTED_BEFORE_START.
-- $1 id, $2 now, $3 message
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, $3::text),
    completed_at = $2::bigint,
    signature = NULL
WHERE id = $1::text AND status IN ('Holding', 'Queued')
