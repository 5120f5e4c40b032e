-- $1 since, $2 job_types
SELECT COUNT(*) FROM asyncapex_job
WHERE created_at >= $1::bigint
  AND job_type = ANY($2::text[])
