-- $1 name
SELECT COUNT(*) FROM asyncapex_cron_trigger
WHERE name = $1::text AND state IN ('WAITING', 'PAUSED', 'ERROR')
