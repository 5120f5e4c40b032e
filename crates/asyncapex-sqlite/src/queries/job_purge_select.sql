-- The oldest finished jobs that ended in [:ended_from, :before), of the given statuses and job
-- types (:job_types NULL: every type), at most :limit; walks the completed_at index.
-- :before, :ended_from, :statuses (JSON array), :job_types (JSON array or NULL), :limit
SELECT rowid, id, job_type, status, completed_at
FROM asyncapex_job INDEXED BY asyncapex_job_completed
WHERE completed_at IS NOT NULL
  AND completed_at >= :ended_from
  AND completed_at < :before
  AND status IN (SELECT value FROM json_each(:statuses))
  AND (:job_types IS NULL OR job_type IN (SELECT value FROM json_each(:job_types)))
ORDER BY completed_at
LIMIT +:limit
