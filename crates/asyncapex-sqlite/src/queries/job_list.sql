-- One arm of a job list: the newest jobs matching every filter, walking one index from
-- :before down. {driver} is the arm's key (`status = 'Failed'`, `job_type = 'Future'`, or
-- `1` for a walk of the primary key) and {index} the index it walks; a list over several
-- statuses or types is the union of one arm per value, cut to :limit again (see jobs::list).
-- Empty JSON arrays and NULLs match everything; '~' sorts after every ID, so the ID bound is
-- always a range the index can seek to (an `IS NULL OR` would not be).
SELECT * FROM asyncapex_job {index}
WHERE {driver}
  AND (json_array_length(:statuses) = 0 OR status IN (SELECT value FROM json_each(:statuses)))
  AND (json_array_length(:job_types) = 0 OR job_type IN (SELECT value FROM json_each(:job_types)))
  AND (:class_name IS NULL OR class_name = :class_name)
  AND (:parent_job_id IS NULL OR parent_job_id = :parent_job_id)
  AND id < COALESCE(:before, '~')
ORDER BY id DESC
LIMIT :limit
