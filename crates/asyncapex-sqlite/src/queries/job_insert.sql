INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id, created_at, run_at,
    max_attempts, stack_depth, max_stack_depth, failure_reenqueues, signature, payload,
    batch_scope, retry_of, trace_parent, flex_position
) VALUES (
    :id, :job_type, :class_name, :method_name, :status, :parent_job_id, :cron_trigger_id, :created_at, :run_at,
    :max_attempts, :stack_depth, :max_stack_depth, :failure_reenqueues, :signature, :payload,
    :batch_scope, :retry_of, :trace_parent,
    -- A holding batch job joins the end of the flex queue: the last entry of the flex-queue
    -- index (named: the status index would visit every holding job for each insert).
    CASE WHEN :status = 'Holding' THEN
        (SELECT COALESCE(MAX(flex_position), 0) + 1 FROM asyncapex_job INDEXED BY asyncapex_job_flex_queue
         WHERE status = 'Holding')
    END
)
