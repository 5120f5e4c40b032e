-- Jobs of :job_types created at or after :since (µs): whole minutes from the kept per-minute
-- counts (migration 6), the part-minute before the first whole one from the rows. When the
-- counts no longer reach back to :since (more than 48 hours), every row is counted instead.
WITH w(first_minute, kept_from) AS (
    SELECT (:since + 59999999) / 60000000,
           COALESCE((SELECT MAX(minute) FROM asyncapex_job_created_count), 0) - 2880
)
SELECT CASE WHEN w.first_minute >= w.kept_from THEN
    (SELECT COALESCE(SUM(n), 0) FROM asyncapex_job_created_count
     WHERE minute >= w.first_minute
       AND job_type IN (SELECT value FROM json_each(:job_types)))
  + (SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_created
     WHERE created_at >= :since AND created_at < w.first_minute * 60000000
       AND job_type IN (SELECT value FROM json_each(:job_types)))
ELSE
    (SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_created
     WHERE created_at >= :since
       AND job_type IN (SELECT value FROM json_each(:job_types)))
END
FROM w
