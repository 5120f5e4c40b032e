-- $1 include_ended, $2 limit
SELECT t.*, j.status AS last_job_status
FROM asyncapex_cron_trigger t
LEFT JOIN asyncapex_job j ON j.id = t.last_job_id
WHERE ($1::boolean OR t.state IN ('WAITING', 'PAUSED', 'ERROR'))
ORDER BY t.id DESC
LIMIT $2::bigint
