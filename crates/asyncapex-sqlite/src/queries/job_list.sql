-- Empty JSON arrays and NULLs match everything.
SELECT * FROM asyncapex_job
WHERE (json_array_length(:statuses) = 0 OR status IN (SELECT value FROM json_each(:statuses)))
  AND (json_array_length(:job_types) = 0 OR job_type IN (SELECT value FROM json_each(:job_types)))
  AND (:class_name IS NULL OR class_name = :class_name)
  AND (:parent_job_id IS NULL OR parent_job_id = :parent_job_id)
  AND (:before IS NULL OR id < :before)
ORDER BY id DESC
LIMIT :limit
