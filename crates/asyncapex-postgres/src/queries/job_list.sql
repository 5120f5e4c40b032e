-- One arm of a job list: the newest jobs matching every filter, walking one index from $5
-- down. {driver} is the arm's key (`status = 'Failed'`, `job_type = 'Future'`, or `true`);
-- a list over several statuses or types is the union of one arm per value, cut to the limit
-- again (see jobs::list). Empty arrays and NULLs match everything; '~' sorts after every ID
-- (collation "C"), so the ID bound is always a range the index can seek to.
-- $1 statuses, $2 job_types, $3 class_name, $4 parent_job_id, $5 before, $6 limit
SELECT * FROM asyncapex_job
WHERE {driver}
  AND (cardinality($1::text[]) = 0 OR status = ANY($1::text[]))
  AND (cardinality($2::text[]) = 0 OR job_type = ANY($2::text[]))
  AND ($3::text IS NULL OR class_name = $3::text)
  AND ($4::text IS NULL OR parent_job_id = $4::text)
  AND id < COALESCE($5::text, '~')
ORDER BY id DESC
LIMIT $6::bigint
