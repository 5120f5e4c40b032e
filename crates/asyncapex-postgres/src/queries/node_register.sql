-- $1 name, $2 now
INSERT INTO asyncapex_node (name, started_at, heartbeat_at) VALUES ($1::text, $2::bigint, $2::bigint) RETURNING id
