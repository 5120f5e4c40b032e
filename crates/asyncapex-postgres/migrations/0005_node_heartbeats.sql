-- Nodes heartbeat so operators can see which processes are alive.
ALTER TABLE asyncapex_node ADD COLUMN heartbeat_at BIGINT;
