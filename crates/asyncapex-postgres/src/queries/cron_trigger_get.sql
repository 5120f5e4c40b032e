-- $1 id
SELECT t.*, j.status AS last_job_status
FROM asyncapex_cron_trigger t
LEFT JOIN asyncapex_job j ON j.id = t.last_job_id
WHERE t.id = $1::text
