-- Due, waiting, and not still running its previous firing (runs never overlap).
-- $1 now, $2 limit
SELECT t.*, j.status AS last_job_status
FROM asyncapex_cron_trigger t
LEFT JOIN asyncapex_job j ON j.id = t.last_job_id
WHERE t.state = 'WAITING'
  AND t.next_fire_time <= $1::bigint
  AND (j.id IS NULL OR j.status IN ('Completed', 'Failed', 'Aborted'))
ORDER BY t.next_fire_time, t.id
LIMIT $2::bigint
