-- $1 id, $2 name, $3 job_type, $4 class_name, $5 payload, $6 cron_expression, $7 time_zone,
-- $8 dst_policy, $9 next_fire_time, $10 start_time, $11 batch_scope
INSERT INTO asyncapex_cron_trigger (
    id, name, job_type, class_name, payload, cron_expression, time_zone, dst_policy, state,
    next_fire_time, start_time, batch_scope
) VALUES (
    $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
    'WAITING', $9::bigint, $10::bigint, $11::bigint
)
