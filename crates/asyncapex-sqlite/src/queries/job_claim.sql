-- Queued -> Processing for the oldest due jobs; the signature is released when a job starts.
UPDATE asyncapex_job
SET status = 'Processing',
    attempt = attempt + 1,
    started_at = COALESCE(started_at, :now),
    lease_owner = :owner,
    lease_expires_at = :lease_until,
    signature = NULL
WHERE id IN (
    SELECT id FROM asyncapex_job
    WHERE status = 'Queued' AND run_at <= :now
    ORDER BY run_at, id
    LIMIT :limit
)
RETURNING *
