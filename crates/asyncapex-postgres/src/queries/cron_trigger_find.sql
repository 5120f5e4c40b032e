-- An active trigger wins over ended ones with the same name; then the newest.
-- $1 name
SELECT t.*, j.status AS last_job_status
FROM asyncapex_cron_trigger t
LEFT JOIN asyncapex_job j ON j.id = t.last_job_id
WHERE t.name = $1::text
ORDER BY (t.state IN ('WAITING', 'PAUSED', 'ERROR')) DESC, t.id DESC
LIMIT 1
