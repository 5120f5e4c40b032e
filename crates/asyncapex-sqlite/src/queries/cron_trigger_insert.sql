INSERT INTO asyncapex_cron_trigger (
    id, name, job_type, class_name, payload, cron_expression, time_zone, dst_policy, state,
    next_fire_time, start_time, batch_scope
) VALUES (
    :id, :name, :job_type, :class_name, :payload, :cron_expression, :time_zone, :dst_policy,
    'WAITING', :next_fire_time, :start_time, :batch_scope
)
