-- Empty arrays and NULLs match everything.
-- $1 statuses, $2 job_types, $3 class_name, $4 parent_job_id, $5 before, $6 limit
SELECT * FROM asyncapex_job
WHERE (cardinality($1::text[]) = 0 OR status = ANY($1::text[]))
  AND (cardinality($2::text[]) = 0 OR job_type = ANY($2::text[]))
  AND ($3::text IS NULL OR class_name = $3::text)
  AND ($4::text IS NULL OR parent_job_id = $4::text)
  AND ($5::text IS NULL OR id < $5::text)
ORDER BY id DESC
LIMIT $6::bigint
