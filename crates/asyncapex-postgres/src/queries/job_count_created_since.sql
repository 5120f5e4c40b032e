-- Jobs of $2 types created at or after $1 (µs): the part-minute before the first whole
-- minute from the rows, whole minutes up to the first whole hour from the per-minute counts
-- (migration 6), whole hours from the hourly ones (migration 7), summed over shards. When the
-- counts no longer reach back to $1 (more than 48 hours), every row is counted instead.
-- $1 since, $2 job_types
WITH m AS (
    SELECT ($1::bigint + 59999999) / 60000000 AS first_minute
), w AS (
    SELECT first_minute, (first_minute + 59) / 60 AS first_hour,
           first_minute >= COALESCE((SELECT MAX(minute) FROM asyncapex_job_created_count), 0) - 2880
       AND (first_minute + 59) / 60
           >= COALESCE((SELECT MAX(hour) FROM asyncapex_job_created_hour_count), 0) - 48 AS kept
    FROM m
)
SELECT CASE WHEN w.kept THEN
    (SELECT COALESCE(SUM(n), 0) FROM asyncapex_job_created_hour_count
     WHERE hour >= w.first_hour AND job_type = ANY($2::text[]))
  + (SELECT COALESCE(SUM(n), 0) FROM asyncapex_job_created_count
     WHERE minute >= w.first_minute AND minute < w.first_hour * 60
       AND job_type = ANY($2::text[]))
  -- OFFSET 0 keeps the part-minute's rows found by creation time alone: a generic plan
  -- otherwise ANDs in a bitmap of the job-type index, every record of those types.
  + (SELECT COUNT(*) FROM (
         SELECT job_type FROM asyncapex_job
         WHERE created_at >= $1::bigint AND created_at < w.first_minute * 60000000
         OFFSET 0
     ) part WHERE part.job_type = ANY($2::text[]))
ELSE
    (SELECT COUNT(*) FROM asyncapex_job
     WHERE created_at >= $1::bigint AND job_type = ANY($2::text[]))
END::bigint
FROM w
