-- Jobs of :job_types created at or after :since (µs): the part-minute before the first whole
-- minute from the rows, whole minutes up to the first whole hour from the per-minute counts
-- (migration 6), whole hours from the hourly ones (migration 7). When the counts no longer
-- reach back to :since (more than 48 hours), every row is counted instead.
WITH m(first_minute) AS (SELECT (:since + 59999999) / 60000000),
w(first_minute, first_hour, kept) AS (
    SELECT first_minute, (first_minute + 59) / 60,
           first_minute >= COALESCE((SELECT MAX(minute) FROM asyncapex_job_created_count), 0) - 2880
       AND (first_minute + 59) / 60
           >= COALESCE((SELECT MAX(hour) FROM asyncapex_job_created_hour_count), 0) - 48
    FROM m
)
SELECT CASE WHEN w.kept THEN
    (SELECT COALESCE(SUM(n), 0) FROM asyncapex_job_created_hour_count
     WHERE hour >= w.first_hour
       AND job_type IN (SELECT value FROM json_each(:job_types)))
  + (SELECT COALESCE(SUM(n), 0) FROM asyncapex_job_created_count
     WHERE minute >= w.first_minute AND minute < w.first_hour * 60
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
