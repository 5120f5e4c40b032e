-- $1 name, $2 now
INSERT INTO asyncapex_queue (name, paused, paused_at, updated_at) VALUES ($1::text, true, $2::bigint, $2::bigint)
ON CONFLICT (name) DO UPDATE SET paused = true, paused_at = $2::bigint, updated_at = $2::bigint
WHERE NOT asyncapex_queue.paused
RETURNING name
