-- How many finished jobs job_purge would delete without a limit.
-- :before, :statuses (JSON array), :job_types (JSON array or NULL)
SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_completed
WHERE completed_at IS NOT NULL
  AND completed_at < :before
  AND status IN (SELECT value FROM json_each(:statuses))
  AND (:job_types IS NULL OR job_type IN (SELECT value FROM json_each(:job_types)))
