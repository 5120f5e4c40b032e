UPDATE asyncapex_cron_trigger
SET state = 'WAITING', next_fire_time = :next_fire_time
WHERE id = :id AND state = 'PAUSED'
