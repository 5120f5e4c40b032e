UPDATE asyncapex_cron_trigger
SET state = 'ERROR', state_detail = :message, next_fire_time = NULL
WHERE id = :id AND state = 'WAITING'
