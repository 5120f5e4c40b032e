-- Queued -> Processing (Preparing for a batch whose start has not run) for each wanted
-- queue's first due jobs in claim order (run time plus the priority's delay); the
-- signature is released when a job starts. A paused queue gives none; a queue's global cap
-- counts its running jobs (under the advisory lock `queue_locks.sql` took just before, in
-- this transaction); a rate-limited queue gives at most the start slots it can lock, and the
-- slots used are stamped with this start. SKIP LOCKED lets several workers claim at once
-- without waiting for, or taking, each other's rows.
-- $1 owner, $2 now, $3 lease_until, $4 queues, $5 the most jobs from each, $6 horizon
WITH wanted AS (
    SELECT w.queue, w.n, q.global_limit, q.rate_limit, q.rate_interval
    FROM unnest($4::text[], $5::bigint[]) AS w(queue, n)
    LEFT JOIN asyncapex_queue q ON q.name = w.queue
    WHERE NOT COALESCE(q.paused, false) AND w.n > 0
),
capped AS (
    SELECT w.queue, w.rate_limit, w.rate_interval,
           CASE WHEN w.global_limit IS NULL THEN w.n
                ELSE LEAST(w.n, GREATEST(w.global_limit - (
                    SELECT COUNT(*) FROM asyncapex_job r
                    WHERE r.status IN ('Preparing', 'Processing') AND r.queue = w.queue), 0))
           END AS n
    FROM wanted w
),
slots AS (
    SELECT c.queue, s.slot,
           ROW_NUMBER() OVER (PARTITION BY c.queue ORDER BY s.started_at, s.slot) AS rn
    FROM capped c
    CROSS JOIN LATERAL (
        SELECT slot, started_at FROM asyncapex_queue_slot
        WHERE queue = c.queue AND started_at <= $2::bigint - c.rate_interval
        ORDER BY started_at, slot
        LIMIT c.n
        FOR UPDATE SKIP LOCKED
    ) s
    WHERE c.rate_limit IS NOT NULL
),
allowed AS (
    SELECT c.queue,
           CASE WHEN c.rate_limit IS NULL THEN c.n
                ELSE (SELECT COUNT(*) FROM slots s WHERE s.queue = c.queue) END AS n
    FROM capped c
),
-- Undeferred jobs first, up to the horizon ($6: now plus the largest priority delay; no job
-- past it is due); a tenant's fair-share deferred jobs only with the slots that leaves.
undeferred AS (
    SELECT a.queue, l.id FROM allowed a
    CROSS JOIN LATERAL (
        SELECT id FROM asyncapex_job
        WHERE status = 'Queued' AND queue = a.queue AND deferred = 0
          AND run_at + claim_delay <= $6::bigint AND run_at <= $2::bigint
        ORDER BY run_at + claim_delay, run_at, id
        LIMIT a.n
        FOR UPDATE SKIP LOCKED
    ) l
),
deferred AS (
    SELECT l.id FROM allowed a
    CROSS JOIN LATERAL (
        SELECT id FROM asyncapex_job
        WHERE status = 'Queued' AND queue = a.queue AND deferred = 1
          AND run_at + claim_delay <= $6::bigint AND run_at <= $2::bigint
        ORDER BY run_at + claim_delay, run_at, id
        LIMIT GREATEST(a.n - (SELECT COUNT(*) FROM undeferred u WHERE u.queue = a.queue), 0)
        FOR UPDATE SKIP LOCKED
    ) l
),
locked AS (
    SELECT id FROM undeferred UNION ALL SELECT id FROM deferred
),
claimed AS (
    UPDATE asyncapex_job j
    SET status = CASE WHEN j.job_type = 'BatchApex' AND NOT j.batch_start_done
                      THEN 'Preparing' ELSE 'Processing' END,
        attempt = j.attempt + 1,
        started_at = COALESCE(j.started_at, $2::bigint),
        attempt_started_at = $2::bigint,
        lease_owner = $1::text,
        lease_expires_at = $3::bigint,
        signature = NULL
    FROM locked
    -- No `j.status = 'Queued'` again: the FOR UPDATE above already holds exactly the rows it
    -- read as queued, and repeating it lets the planner join through the queued-jobs index,
    -- which after statistics taken while nothing was queued (rows=1) turned every claim into
    -- a nested loop over all queued jobs (8.8 s per claim of 1,024 beside 20,000 queued
    -- jobs). Without it the join can only go through the primary key.
    WHERE j.id = locked.id
    RETURNING j.*
),
taken AS (
    UPDATE asyncapex_queue_slot t
    SET started_at = $2::bigint
    FROM slots s
    WHERE t.queue = s.queue AND t.slot = s.slot
      AND s.rn <= (SELECT COUNT(*) FROM claimed c WHERE c.queue = s.queue)
)
SELECT * FROM claimed
