-- $1 name, $2 now, $3 runs_jobs
INSERT INTO asyncapex_node (name, started_at, heartbeat_at, runs_jobs) VALUES ($1::text, $2::bigint, $2::bigint, $3::boolean) RETURNING id
