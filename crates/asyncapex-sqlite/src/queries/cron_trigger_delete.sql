UPDATE asyncapex_cron_trigger
SET state = 'DELETED', next_fire_time = NULL, end_time = :now
WHERE id = :id AND state <> 'DELETED'
