-- When any of the queues in $1 may next claim: never while paused; otherwise the run time
-- of its first waiting job in claim order (of either band), and for a rate-limited queue not before its
-- oldest start slot has been a window ago.
SELECT MIN(n.at) AS run_at
FROM unnest($1::text[]) AS w(queue)
LEFT JOIN asyncapex_queue q ON q.name = w.queue
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN COALESCE(q.paused, false) OR first.run_at IS NULL THEN NULL
        ELSE GREATEST(first.run_at, COALESCE(
            (SELECT MIN(s.started_at) + q.rate_interval FROM asyncapex_queue_slot s
             WHERE s.queue = w.queue AND q.rate_limit IS NOT NULL), 0))
    END AS at
    FROM (SELECT LEAST(
              (SELECT run_at FROM asyncapex_job
               WHERE status = 'Queued' AND queue = w.queue AND deferred = 0
               ORDER BY run_at + claim_delay, run_at, id LIMIT 1),
              (SELECT run_at FROM asyncapex_job
               WHERE status = 'Queued' AND queue = w.queue AND deferred = 1
               ORDER BY run_at + claim_delay, run_at, id LIMIT 1)) AS run_at) first
) n
