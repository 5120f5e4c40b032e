-- One arm of a job list: the newest jobs matching every filter, walking one index from $5
-- down. {driver} is the arm's key (`status = 'Failed'`, `job_type = 'Future'`, or `true`);
-- a list over several statuses, types or class names is the union of one arm per value, cut
-- to the limit again (see jobs::list). Empty arrays and NULLs match everything; '~' sorts
-- after every ID (collation "C"), so the ID bounds are always a range the index can seek to.
-- $1 statuses, $2 job_types, $3 class_name, $4 parent_job_id, $5 before, $6 limit,
-- $7 class_names, $8 cron_trigger_id, $9 retry_of, $10 created_from, $11 created_before,
-- $12 completed_from, $13 completed_before, $14 id_floor ($5 and $14 come from
-- JobListParams::id_bounds: time ranges narrow them)
SELECT * FROM asyncapex_job
WHERE {driver}
  AND (cardinality($1::text[]) = 0 OR status = ANY($1::text[]))
  AND (cardinality($2::text[]) = 0 OR job_type = ANY($2::text[]))
  AND ($3::text IS NULL OR class_name = $3::text)
  AND (cardinality($7::text[]) = 0 OR class_name = ANY($7::text[]))
  AND ($4::text IS NULL OR parent_job_id = $4::text)
  AND ($8::text IS NULL OR cron_trigger_id = $8::text)
  AND ($9::text IS NULL OR retry_of = $9::text)
  AND ($10::bigint IS NULL OR created_at >= $10::bigint)
  AND ($11::bigint IS NULL OR created_at < $11::bigint)
  AND ($12::bigint IS NULL OR completed_at >= $12::bigint)
  AND ($13::bigint IS NULL OR completed_at < $13::bigint)
  AND id < COALESCE($5::text, '~')
  AND id >= $14::text
ORDER BY id DESC
LIMIT $6::bigint
