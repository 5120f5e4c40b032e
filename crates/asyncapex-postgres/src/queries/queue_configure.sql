-- Stores a queue's settings for every node, keeping whether it is paused.
-- $1 name, $2 global_limit, $3 rate_limit, $4 rate_interval, $5 tenant_limit, $6 now
INSERT INTO asyncapex_queue (name, global_limit, rate_limit, rate_interval, tenant_limit, updated_at)
VALUES ($1::text, $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint)
ON CONFLICT (name) DO UPDATE SET
    global_limit = excluded.global_limit,
    rate_limit = excluded.rate_limit,
    rate_interval = excluded.rate_interval,
    tenant_limit = excluded.tenant_limit,
    updated_at = excluded.updated_at
