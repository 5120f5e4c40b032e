-- $1 id, $2 message
UPDATE asyncapex_cron_trigger
SET state = 'ERROR', state_detail = $2::text, next_fire_time = NULL
WHERE id = $1::text AND state = 'WAITING'
