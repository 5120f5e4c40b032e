-- Resumes a paused queue and wakes listening workers at commit. $1 name, $2 now
WITH resumed AS (
    UPDATE asyncapex_queue SET paused = false, paused_at = NULL, updated_at = $2::bigint
    WHERE name = $1::text AND paused
    RETURNING name
)
SELECT name, pg_notify(current_schema() || '_wake', '') FROM resumed
