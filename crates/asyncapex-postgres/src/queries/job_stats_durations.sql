-- Run durations (ms) of jobs that ended in the window, by histogram bucket (see
-- DURATION_BUCKETS_MS); bucket 13 is above the last bound.
SELECT CASE
         WHEN d <= 5 THEN 0 WHEN d <= 10 THEN 1 WHEN d <= 25 THEN 2 WHEN d <= 50 THEN 3
         WHEN d <= 100 THEN 4 WHEN d <= 250 THEN 5 WHEN d <= 500 THEN 6 WHEN d <= 1000 THEN 7
         WHEN d <= 2500 THEN 8 WHEN d <= 5000 THEN 9 WHEN d <= 10000 THEN 10
         WHEN d <= 30000 THEN 11 WHEN d <= 60000 THEN 12 ELSE 13
       END AS bucket,
       COUNT(*),
       COALESCE(SUM(d), 0)::BIGINT,
       COUNT(*) FILTER (WHERE attempt > 1)
FROM (
    SELECT (completed_at - started_at) / 1000 AS d, attempt
    FROM asyncapex_job
    WHERE completed_at >= $1 AND started_at IS NOT NULL
) AS ended
GROUP BY bucket
