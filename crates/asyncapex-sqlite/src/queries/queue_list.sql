-- Every queue with stored settings or live jobs: its settings and what it holds now.
WITH live AS (
    SELECT queue,
           SUM(status = 'Queued') AS queued,
           SUM(status = 'Queued' AND run_at <= :now) AS due,
           SUM(status IN ('Preparing', 'Processing')) AS running,
           MIN(CASE WHEN status = 'Queued' AND run_at <= :now THEN run_at END) AS oldest_due_at
    FROM asyncapex_job INDEXED BY asyncapex_job_status
    WHERE status IN ('Queued', 'Preparing', 'Processing')
    GROUP BY queue
),
names AS (
    SELECT name FROM asyncapex_queue UNION SELECT queue FROM live
)
SELECT n.name, COALESCE(q.paused, 0), q.paused_at, q.global_limit, q.rate_limit,
       q.rate_interval, COALESCE(q.tenant_limit, 2000), COALESCE(l.queued, 0),
       COALESCE(l.due, 0), COALESCE(l.running, 0), l.oldest_due_at
FROM names n
LEFT JOIN asyncapex_queue q ON q.name = n.name
LEFT JOIN live l ON l.queue = n.name
ORDER BY n.name
