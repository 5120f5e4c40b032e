-- Links an operator follows: a retry names the job it retries, and a schedule's page lists
-- the jobs it fired. Each index holds only the rows with a link, so a status change of any
-- other job never touches it.
ALTER TABLE asyncapex_job ADD COLUMN retry_of TEXT;
CREATE INDEX asyncapex_job_retry_of ON asyncapex_job (retry_of, id) WHERE retry_of IS NOT NULL;
CREATE INDEX asyncapex_job_cron_trigger ON asyncapex_job (cron_trigger_id, id) WHERE cron_trigger_id IS NOT NULL;
