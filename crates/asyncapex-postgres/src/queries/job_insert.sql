-- $1 id, $2 job_type, $3 class_name, $4 method_name, $5 status, $6 parent_job_id,
-- $7 cron_trigger_id, $8 created_at, $9 run_at, $10 max_attempts, $11 stack_depth,
-- $12 max_stack_depth, $13 failure_reenqueues, $14 signature, $15 payload, $16 batch_scope,
-- $17 retry_of, $18 flex_position (a holding job's place, taken under the flex-queue lock;
-- NULL for any other), $19 trace_parent, $20 queue, $21 priority, $22 tenant,
-- $23 claim_delay (the priority's; holding batches are not deferred for fair share)
INSERT INTO asyncapex_job (
    id, job_type, class_name, method_name, status, parent_job_id, cron_trigger_id, created_at, run_at,
    max_attempts, stack_depth, max_stack_depth, failure_reenqueues, signature, payload,
    batch_scope, retry_of, flex_position, trace_parent, queue, priority, tenant, claim_delay
) VALUES (
    $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::bigint, $9::bigint,
    $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::text, $15::text,
    $16::bigint, $17::text, $18::bigint, $19::text, $20::text, $21::bigint, $22::text, $23::bigint
)
