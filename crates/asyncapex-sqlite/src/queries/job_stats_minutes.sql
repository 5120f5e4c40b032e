-- Completions per minute and duration bucket in the window (see MinuteWindow): the kept
-- figures of whole minutes from :first_kept_minute on, the rows completed in
-- [:since, :rows_until) for the rest.
SELECT minute, bucket, SUM(completed), SUM(failed), SUM(ended), SUM(sum_ms), SUM(rescued)
FROM (
    SELECT minute, bucket, completed, failed, 1 AS ended, ms AS sum_ms, rescued
    FROM asyncapex_job_minute_stats_source
    WHERE completed_at >= :since AND completed_at < :rows_until
    UNION ALL
    SELECT minute, bucket, completed, failed, ended, sum_ms, rescued
    FROM asyncapex_job_minute_stats
    WHERE minute >= :first_kept_minute
)
GROUP BY minute, bucket
ORDER BY minute, bucket
