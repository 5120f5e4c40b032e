-- Deletes the listed jobs that have finished, with their batch chunks and error events, in
-- one statement; rows another delete or purge holds are skipped (it deletes them).
-- $1 ids
WITH doomed AS (
    SELECT id FROM asyncapex_job
    WHERE id = ANY($1::text[])
      AND status IN ('Completed', 'Failed', 'Aborted')
      AND completed_at IS NOT NULL
    FOR UPDATE SKIP LOCKED
), chunks AS (
    DELETE FROM asyncapex_batch_chunk WHERE job_id IN (SELECT id FROM doomed)
), events AS (
    DELETE FROM asyncapex_batch_error_event WHERE job_id IN (SELECT id FROM doomed)
), attempts AS (
    DELETE FROM asyncapex_job_attempt WHERE job_id IN (SELECT id FROM doomed)
)
DELETE FROM asyncapex_job WHERE id IN (SELECT id FROM doomed)
