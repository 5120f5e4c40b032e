-- Finished records of a bulk fill (fill::FinishedJobsFill), many per statement from a JSON
-- array of [id, job_type, class_name, method_name, status, extended_status, created_at,
-- started_at, completed_at, attempt]: one statement per row would pay a statement savepoint
-- each, which dominated a profile of the fill.
INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, extended_status, created_at, started_at,
    completed_at, run_at, attempt, max_attempts, stack_depth, payload
)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
    value ->> 6, value ->> 7, value ->> 8, value ->> 6, value ->> 9, 3, 1, '{}'
FROM json_each(:rows)
