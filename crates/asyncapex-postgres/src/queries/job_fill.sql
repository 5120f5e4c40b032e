-- Finished records of a bulk fill (fill::FinishedJobsFill) from column arrays, one element
-- per record: benchmarks' months of history. Runs alone: its own transaction.
-- $1 id, $2 job_type, $3 class_name, $4 method_name, $5 status, $6 extended_status,
-- $7 created_at, $8 started_at, $9 completed_at, $10 attempt
INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, extended_status, created_at, started_at,
    completed_at, run_at, attempt, max_attempts, stack_depth, payload
)
SELECT id, job_type, class_name, method_name, status, extended_status, created_at, started_at,
    completed_at, created_at, attempt, 3, 1, '{}'
FROM unnest(
    $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]
) AS f(id, job_type, class_name, method_name, status, extended_status, created_at, started_at,
    completed_at, attempt)
