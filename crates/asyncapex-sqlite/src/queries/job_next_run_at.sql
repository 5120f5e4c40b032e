-- When one queue may next claim: never while paused; otherwise the earliest run time among
-- its waiting jobs (of either band), and for a rate-limited queue not before its oldest start
-- slot has been a window ago. Claim order is run time plus at most :window of priority
-- delay, so the earliest run time lies within :window of each band's first key: a bounded
-- range of the index, not the whole queue.
SELECT CASE
    WHEN COALESCE((SELECT paused FROM asyncapex_queue WHERE name = +:queue), 0) <> 0 THEN NULL
    ELSE MAX(
        MIN(
            COALESCE((SELECT MIN(run_at) FROM asyncapex_job INDEXED BY asyncapex_job_queued
                      WHERE status = 'Queued' AND queue = +:queue AND deferred = 0
                        AND run_at + claim_delay <= (
                            SELECT run_at + claim_delay FROM asyncapex_job INDEXED BY asyncapex_job_queued
                            WHERE status = 'Queued' AND queue = +:queue AND deferred = 0
                            ORDER BY run_at + claim_delay, run_at, id LIMIT 1) + :window),
                     9223372036854775807),
            COALESCE((SELECT MIN(run_at) FROM asyncapex_job INDEXED BY asyncapex_job_queued
                      WHERE status = 'Queued' AND queue = +:queue AND deferred = 1
                        AND run_at + claim_delay <= (
                            SELECT run_at + claim_delay FROM asyncapex_job INDEXED BY asyncapex_job_queued
                            WHERE status = 'Queued' AND queue = +:queue AND deferred = 1
                            ORDER BY run_at + claim_delay, run_at, id LIMIT 1) + :window),
                     9223372036854775807)),
        COALESCE((SELECT MIN(s.started_at) + q.rate_interval
                  FROM asyncapex_queue q JOIN asyncapex_queue_slot s ON s.queue = q.name
                  WHERE q.name = +:queue AND q.rate_limit IS NOT NULL), 0))
END
