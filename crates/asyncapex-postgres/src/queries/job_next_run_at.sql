-- When any of the queues in $1 may next claim, after $2: never while paused; otherwise the
-- earliest run time among its waiting jobs (of either band), and for a rate-limited queue not
-- before its oldest start slot has been a window ago. A queue whose time is not after $2 has
-- due work a claim could not take (at its cap) and is skipped. Claim order is run time plus
-- at most $3 of priority delay, so the earliest run time lies within $3 of each band's first
-- key: a bounded range of the index.
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
              (SELECT MIN(j.run_at) FROM asyncapex_job j
               WHERE j.status = 'Queued' AND j.queue = w.queue AND j.deferred = 0
                 AND j.run_at + j.claim_delay <= (
                     SELECT k.run_at + k.claim_delay FROM asyncapex_job k
                     WHERE k.status = 'Queued' AND k.queue = w.queue AND k.deferred = 0
                     ORDER BY k.run_at + k.claim_delay, k.run_at, k.id LIMIT 1) + $3::bigint),
              (SELECT MIN(j.run_at) FROM asyncapex_job j
               WHERE j.status = 'Queued' AND j.queue = w.queue AND j.deferred = 1
                 AND j.run_at + j.claim_delay <= (
                     SELECT k.run_at + k.claim_delay FROM asyncapex_job k
                     WHERE k.status = 'Queued' AND k.queue = w.queue AND k.deferred = 1
                     ORDER BY k.run_at + k.claim_delay, k.run_at, k.id LIMIT 1) + $3::bigint)
          ) AS run_at) first
) n
WHERE n.at > $2::bigint
