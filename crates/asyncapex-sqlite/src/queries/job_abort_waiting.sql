-- Holding/Queued -> Aborted: it never runs.
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, 'aborted before it started'),
    completed_at = :now,
    signature = NULL
WHERE id = :id AND status IN ('Holding', 'Queued')
