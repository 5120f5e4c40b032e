-- Deletes the oldest finished jobs that ended in [$5, $1) (statuses $2, job types $3 or NULL
-- for every type, at most $4) with their batch chunks and error events, in one statement,
-- returning when each deleted job ended. Rows another purge holds are skipped, so concurrent
-- cleaners on several nodes never delete the same rows twice. The lower bound is the
-- previous batch's last end: the index entries earlier batches deleted stay until a vacuum,
-- and a walk from the oldest would read all of them again on every batch.
WITH doomed AS (
    SELECT id FROM asyncapex_job
    WHERE completed_at IS NOT NULL
      AND completed_at >= $5::bigint
      AND completed_at < $1::bigint
      AND status = ANY($2::text[])
      AND ($3::text[] IS NULL OR job_type = ANY($3::text[]))
    ORDER BY completed_at
    LIMIT $4::bigint
    FOR UPDATE SKIP LOCKED
), chunks AS (
    DELETE FROM asyncapex_batch_chunk WHERE job_id IN (SELECT id FROM doomed)
), events AS (
    DELETE FROM asyncapex_batch_error_event WHERE job_id IN (SELECT id FROM doomed)
), attempts AS (
    DELETE FROM asyncapex_job_attempt WHERE job_id IN (SELECT id FROM doomed)
)
DELETE FROM asyncapex_job WHERE id IN (SELECT id FROM doomed)
RETURNING completed_at
