-- Serializes claims from queues with a global cap (wanted in $1) across every node until
-- this transaction ends, so two claimers cannot both see room for the same last slot. The
-- claim that follows in the same transaction takes its snapshot after this returns.
SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.queue.' || name))
FROM asyncapex_queue
WHERE name = ANY($1::text[]) AND global_limit IS NOT NULL
ORDER BY name
