INSERT INTO asyncapex_node (name, started_at, heartbeat_at) VALUES (:name, :now, :now) RETURNING id
