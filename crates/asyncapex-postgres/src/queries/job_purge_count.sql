-- How many finished jobs job_purge would delete without a limit.
-- $1 before, $2 statuses, $3 job types or NULL
SELECT COUNT(*) AS n FROM asyncapex_job
WHERE completed_at IS NOT NULL
  AND completed_at < $1::bigint
  AND status = ANY($2::text[])
  AND ($3::text[] IS NULL OR job_type = ANY($3::text[]))
