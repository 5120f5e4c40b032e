SELECT COUNT(*) FROM asyncapex_cron_trigger
WHERE name = :name AND state IN ('WAITING', 'PAUSED', 'ERROR')
