-- Holding -> Queued from the front of the flex queue.
UPDATE asyncapex_job
SET status = 'Queued', flex_position = NULL, run_at = :now
WHERE id IN (
    SELECT id FROM asyncapex_job
    WHERE status = 'Holding'
    ORDER BY flex_position, id
    LIMIT :limit
)
RETURNING id
