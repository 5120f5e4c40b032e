INSERT INTO asyncapex_node (name, started_at, heartbeat_at, runs_jobs) VALUES (:name, :now, :now, :runs_jobs) RETURNING id
