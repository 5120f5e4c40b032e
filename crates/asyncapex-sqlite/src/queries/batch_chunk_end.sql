-- Pending -> Completed/Failed; a completed chunk's items are no longer needed.
UPDATE asyncapex_batch_chunk
SET status = :status,
    error = :error,
    completed_at = :now,
    items = CASE WHEN :status = 'Completed' THEN '[]' ELSE items END
WHERE job_id = :job_id AND seq = :seq AND status = 'Pending'
