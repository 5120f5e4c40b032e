-- $1 id, $2 next_fire_time
UPDATE asyncapex_cron_trigger
SET state = 'WAITING', next_fire_time = $2::bigint
WHERE id = $1::text AND state = 'PAUSED'
