-- Nodes heartbeat so operators can see which processes are alive.
ALTER TABLE asyncapex_node ADD COLUMN heartbeat_at BIGINT;

-- Dashboards count recent completions per minute.
CREATE INDEX asyncapex_job_completed ON asyncapex_job (completed_at) WHERE completed_at IS NOT NULL;
