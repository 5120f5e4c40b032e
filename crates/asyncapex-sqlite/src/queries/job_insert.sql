INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id, created_at, run_at,
    max_attempts, stack_depth, max_stack_depth, failure_reenqueues, signature, payload
) VALUES (
    :id, :job_type, :class_name, :method_name, :status, :parent_job_id, :cron_trigger_id, :created_at, :run_at,
    :max_attempts, :stack_depth, :max_stack_depth, :failure_reenqueues, :signature, :payload
)
