-- One finished record of a bulk fill (fill::FinishedJobsFill): benchmarks' months of history.
INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, extended_status, created_at, started_at,
    completed_at, run_at, attempt, max_attempts, stack_depth, payload
) VALUES (
    :id, :job_type, :class_name, :method_name, :status, :extended_status, :created_at, :started_at,
    :completed_at, :created_at, :attempt, 3, 1, '{}'
)
