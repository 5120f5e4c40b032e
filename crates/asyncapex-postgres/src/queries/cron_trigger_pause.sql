-- $1 id
UPDATE asyncapex_cron_trigger SET state = 'PAUSED' WHERE id = $1::text AND state = 'WAITING'
