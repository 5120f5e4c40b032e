-- Many jobs that do not join the flex queue (no Holding status: that needs the flex lock),
-- in one statement from column arrays, plus one wake-up for listeners, delivered at commit.
-- Run alone it is its own transaction: one round trip for an enqueue.
-- $1 id, $2 job_type, $3 class_name, $4 method_name, $5 status, $6 parent_job_id,
-- $7 cron_trigger_id, $8 created_at, $9 run_at, $10 max_attempts, $11 stack_depth,
-- $12 max_stack_depth, $13 failure_reenqueues, $14 signature, $15 payload, $16 batch_scope,
-- $17 retry_of, $18 trace_parent, $19 queue, $20 priority, $21 tenant, $22 priority delay:
-- arrays of equal length, one element per job.
WITH input AS (
    SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.queue, t.tenant ORDER BY t.ord) AS rank
    FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
        $13::bigint[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[],
        $19::text[], $20::bigint[], $21::text[], $22::bigint[]
    ) WITH ORDINALITY AS t(
        id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id,
        created_at, run_at, max_attempts, stack_depth, max_stack_depth, failure_reenqueues,
        signature, payload, batch_scope, retry_of, trace_parent, queue, priority, tenant,
        priority_delay, ord
    )
),
-- For each tenant enqueued to: its queue's tenant limit and how many of its jobs already
-- wait (counted through the tenant index, at most the limit). Its jobs past the limit,
-- counting this statement's own in order, are deferred: claimed after other tenants' work.
waiting AS (
    SELECT k.queue, k.tenant, lim.n AS tenant_limit,
           (SELECT COUNT(*) FROM (
               SELECT 1 FROM asyncapex_job j
               WHERE j.status = 'Queued' AND j.tenant IS NOT NULL
                 AND j.queue = k.queue AND j.tenant = k.tenant
               LIMIT lim.n) x) AS n
    FROM (SELECT DISTINCT queue, tenant FROM input WHERE tenant IS NOT NULL) k
    CROSS JOIN LATERAL (
        SELECT COALESCE(MAX(tenant_limit), 2000) AS n FROM asyncapex_queue WHERE name = k.queue
    ) lim
),
inserted AS (
    INSERT INTO asyncapex_job (
        id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id,
        created_at, run_at, max_attempts, stack_depth, max_stack_depth, failure_reenqueues,
        signature, payload, batch_scope, retry_of, trace_parent, queue, priority, tenant,
        claim_delay, deferred
    )
    SELECT i.id, i.job_type, i.class_name, i.method_name, i.status, i.parent_job_id,
           i.cron_trigger_id, i.created_at, i.run_at, i.max_attempts, i.stack_depth,
           i.max_stack_depth, i.failure_reenqueues, i.signature, i.payload, i.batch_scope,
           i.retry_of, i.trace_parent, i.queue, i.priority, i.tenant,
           i.priority_delay,
           CASE WHEN w.n IS NOT NULL AND w.n + i.rank > w.tenant_limit THEN 1 ELSE 0 END
    FROM input i
    LEFT JOIN waiting w ON w.queue = i.queue AND w.tenant = i.tenant
    RETURNING 1
)
SELECT pg_notify(current_schema() || '_wake', '') WHERE EXISTS (SELECT 1 FROM inserted)
