-- Every queue with stored settings or live jobs: its settings and what it holds now. $1 now
WITH live AS (
    SELECT queue,
           COUNT(*) FILTER (WHERE status = 'Queued') AS queued,
           COUNT(*) FILTER (WHERE status = 'Queued' AND run_at <= $1::bigint) AS due,
           COUNT(*) FILTER (WHERE status IN ('Preparing', 'Processing')) AS running,
           MIN(run_at) FILTER (WHERE status = 'Queued' AND run_at <= $1::bigint) AS oldest_due_at
    FROM asyncapex_job
    WHERE status IN ('Queued', 'Preparing', 'Processing')
    GROUP BY queue
),
names AS (
    SELECT name FROM asyncapex_queue UNION SELECT queue FROM live
)
SELECT n.name, COALESCE(q.paused, false) AS paused, q.paused_at, q.global_limit, q.rate_limit,
       q.rate_interval, COALESCE(q.tenant_limit, 2000) AS tenant_limit,
       COALESCE(l.queued, 0) AS queued, COALESCE(l.due, 0) AS due,
       COALESCE(l.running, 0) AS running, l.oldest_due_at
FROM names n
LEFT JOIN asyncapex_queue q ON q.name = n.name
LEFT JOIN live l ON l.queue = n.name
ORDER BY n.name
