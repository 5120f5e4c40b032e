-- Which processes run jobs (a dashboard's engine does not, and is no worker to watch), and
-- which stopped cleanly (an exited process is not "alive" until its heartbeat goes stale).
-- Rows written before this migration were all workers.
ALTER TABLE asyncapex_node ADD COLUMN runs_jobs BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE asyncapex_node ADD COLUMN stopped_at BIGINT;
