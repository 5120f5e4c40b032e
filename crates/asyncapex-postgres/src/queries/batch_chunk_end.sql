-- Pending -> Completed/Failed; a completed chunk's items are no longer needed.
-- $1 job_id, $2 seq, $3 status, $4 error, $5 now
UPDATE asyncapex_batch_chunk
SET status = $3::text,
    error = $4::text,
    completed_at = $5::bigint,
    items = CASE WHEN $3::text = 'Completed' THEN '[]' ELSE items END
WHERE job_id = $1::text AND seq = $2::bigint AND status = 'Pending'
