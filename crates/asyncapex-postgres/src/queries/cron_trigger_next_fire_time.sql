SELECT MIN(next_fire_time) FROM asyncapex_cron_trigger WHERE state = 'WAITING'
