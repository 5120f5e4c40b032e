-- Named queues, priorities, rate limits and tenants: extensions beyond Apex. Every existing
-- job lands in the default queue at priority 0 with no tenant, so claims order as before.
ALTER TABLE asyncapex_job ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
ALTER TABLE asyncapex_job ADD COLUMN priority BIGINT NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9);
ALTER TABLE asyncapex_job ADD COLUMN tenant TEXT;
-- The claim-order offset in microseconds: priority x 60 s. A job is due at run_at; the
-- offset only orders jobs that wait together.
ALTER TABLE asyncapex_job ADD COLUMN claim_delay BIGINT NOT NULL DEFAULT 0;
-- 1 for a tenant's job enqueued while that tenant already had its queue's tenant limit
-- waiting (fair share): such jobs are claimed only when the rest of the queue is short.
ALTER TABLE asyncapex_job ADD COLUMN deferred BIGINT NOT NULL DEFAULT 0;
-- Claims read one queue's jobs, undeferred ones first, in claim order, up to the due horizon;
-- a queue's next run time is the first entry: the queued-jobs index is now per queue, in
-- that order (it replaces the old one rather than adding a second).
DROP INDEX asyncapex_job_queued;
CREATE INDEX asyncapex_job_queued ON asyncapex_job (queue, deferred, (run_at + claim_delay), run_at, id)
    WHERE status = 'Queued';
-- Only jobs with a tenant are in it: counting a tenant's waiting jobs at enqueue.
CREATE INDEX asyncapex_job_tenant_queued ON asyncapex_job (queue, tenant)
    WHERE status = 'Queued' AND tenant IS NOT NULL;
-- A queue's stored settings, shared by every node; a queue without a row has none (not
-- paused, no cap, no rate limit, the default tenant limit).
CREATE TABLE asyncapex_queue (
    name TEXT PRIMARY KEY,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    paused_at BIGINT,
    global_limit BIGINT,
    rate_limit BIGINT,
    rate_interval BIGINT,
    tenant_limit BIGINT NOT NULL DEFAULT 2000,
    updated_at BIGINT NOT NULL
);
-- A rate-limited queue's recent starts: one row per start its window allows (a ring of
-- rate_limit slots). A start takes the slot that started longest ago, allowed only when
-- that was at least a window ago, so no window ever holds more than rate_limit starts.
CREATE TABLE asyncapex_queue_slot (
    queue TEXT NOT NULL,
    slot BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    PRIMARY KEY (queue, slot)
);
