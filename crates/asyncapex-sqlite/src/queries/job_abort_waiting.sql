-- Holding/Queued -> Aborted: it never runs. The message is rules::ABORTED_BEFORE_START.
UPDATE asyncapex_job
SET status = 'Aborted',
    extended_status = COALESCE(extended_status, :message),
    completed_at = :now,
    signature = NULL
WHERE id = :id AND status IN ('Holding', 'Queued')
