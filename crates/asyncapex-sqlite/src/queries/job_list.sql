-- One arm of a job list: the newest jobs matching every filter, walking one index from
-- :before down. {driver} is the arm's key (`status = 'Failed'`, `job_type = 'Future'`, or
-- `1` for a walk of the primary key) and {index} the index it walks; a list over several
-- statuses, types or class names is the union of one arm per value, cut to :limit again
-- (see jobs::list). Empty JSON arrays and NULLs match everything; '~' sorts after every ID,
-- so the ID bounds are always a range the index can seek to (an `IS NULL OR` would not be).
-- :id_floor and :before come from JobListParams::id_bounds (time ranges narrow them).
SELECT * FROM asyncapex_job {index}
WHERE {driver}
  AND (json_array_length(:statuses) = 0 OR status IN (SELECT value FROM json_each(:statuses)))
  AND (json_array_length(:job_types) = 0 OR job_type IN (SELECT value FROM json_each(:job_types)))
  AND (:class_name IS NULL OR class_name = :class_name)
  AND (json_array_length(:class_names) = 0 OR +class_name IN (SELECT value FROM json_each(:class_names)))
  AND (:parent_job_id IS NULL OR parent_job_id = :parent_job_id)
  AND (:cron_trigger_id IS NULL OR cron_trigger_id = :cron_trigger_id)
  AND (:retry_of IS NULL OR retry_of = :retry_of)
  AND (:created_from IS NULL OR created_at >= :created_from)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:completed_from IS NULL OR completed_at >= :completed_from)
  AND (:completed_before IS NULL OR completed_at < :completed_before)
  AND id < COALESCE(:before, '~')
  AND id >= :id_floor
ORDER BY id DESC
LIMIT :limit
