INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id, created_at, run_at,
    max_attempts, stack_depth, max_stack_depth, failure_reenqueues, signature, payload,
    batch_scope, retry_of, trace_parent, queue, priority, tenant, claim_delay, deferred, flex_position
) VALUES (
    :id, :job_type, :class_name, :method_name, :status, :parent_job_id, :cron_trigger_id, :created_at, :run_at,
    :max_attempts, :stack_depth, :max_stack_depth, :failure_reenqueues, :signature, :payload,
    :batch_scope, :retry_of, :trace_parent, :queue, :priority, :tenant, :priority_delay,
    -- Fair share: deferred when this job's tenant already has its queue's tenant limit
    -- waiting (counted through the tenant index, at most that many rows).
    CASE
        WHEN :tenant IS NULL THEN 0
        WHEN (SELECT COUNT(*) FROM (
                SELECT 1 FROM asyncapex_job INDEXED BY asyncapex_job_tenant_queued
                WHERE status = 'Queued' AND tenant IS NOT NULL AND queue = :queue AND tenant = :tenant
                LIMIT (SELECT COALESCE(MAX(tenant_limit), 2000) FROM asyncapex_queue WHERE name = :queue)))
             >= (SELECT COALESCE(MAX(tenant_limit), 2000) FROM asyncapex_queue WHERE name = :queue)
        THEN 1
        ELSE 0
    END,
    -- A holding batch job joins the end of the flex queue: the last entry of the flex-queue
    -- index (named: the status index would visit every holding job for each insert).
    CASE WHEN :status = 'Holding' THEN
        (SELECT COALESCE(MAX(flex_position), 0) + 1 FROM asyncapex_job INDEXED BY asyncapex_job_flex_queue
         WHERE status = 'Holding')
    END
)
