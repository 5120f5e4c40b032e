-- Stores a queue's settings for every node, keeping whether it is paused.
INSERT INTO asyncapex_queue (name, global_limit, rate_limit, rate_interval, tenant_limit, updated_at)
VALUES (:name, :global_limit, :rate_limit, :rate_interval, :tenant_limit, :now)
ON CONFLICT (name) DO UPDATE SET
    global_limit = excluded.global_limit,
    rate_limit = excluded.rate_limit,
    rate_interval = excluded.rate_interval,
    tenant_limit = excluded.tenant_limit,
    updated_at = excluded.updated_at
