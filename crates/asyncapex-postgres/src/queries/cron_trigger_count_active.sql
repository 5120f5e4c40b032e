SELECT COUNT(*) FROM asyncapex_cron_trigger WHERE state IN ('WAITING', 'PAUSED', 'ERROR')
