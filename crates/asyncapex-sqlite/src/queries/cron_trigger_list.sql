SELECT t.*, j.status AS last_job_status
FROM asyncapex_cron_trigger t
LEFT JOIN asyncapex_job j ON j.id = t.last_job_id
WHERE (:include_ended OR t.state IN ('WAITING', 'PAUSED', 'ERROR'))
ORDER BY t.id DESC
LIMIT :limit
