INSERT INTO asyncapex_node (name, started_at) VALUES (:name, :now) RETURNING id
