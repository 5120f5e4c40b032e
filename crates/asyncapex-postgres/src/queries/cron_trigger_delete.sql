-- $1 id, $2 now
UPDATE asyncapex_cron_trigger
SET state = 'DELETED', next_fire_time = NULL, end_time = $2::bigint
WHERE id = $1::text AND state <> 'DELETED'
