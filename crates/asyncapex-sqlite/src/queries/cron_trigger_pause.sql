UPDATE asyncapex_cron_trigger SET state = 'PAUSED' WHERE id = :id AND state = 'WAITING'
