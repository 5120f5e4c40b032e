-- A rate limit raised (or set) adds the slots it allows, each free at once. $1 queue, $2 slots
INSERT INTO asyncapex_queue_slot (queue, slot, started_at)
SELECT $1::text, n, 0 FROM generate_series(0, $2::bigint - 1) AS n
ON CONFLICT (queue, slot) DO NOTHING
