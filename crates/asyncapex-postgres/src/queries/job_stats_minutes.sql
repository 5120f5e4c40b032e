-- Completions per minute and duration bucket in the window (see MinuteWindow): the kept
-- figures of whole minutes from $3 on, the rows completed in [$1, $2) for the rest.
SELECT minute, bucket, SUM(completed)::BIGINT, SUM(failed)::BIGINT, SUM(ended)::BIGINT,
       SUM(sum_ms)::BIGINT, SUM(rescued)::BIGINT
FROM (
    SELECT f.minute, f.bucket, f.completed, f.failed, 1::BIGINT AS ended, f.sum_ms, f.rescued
    FROM asyncapex_job j,
         asyncapex_job_minute_figures(j.status, j.started_at, j.completed_at, j.attempt) f
    WHERE j.completed_at >= $1 AND j.completed_at < $2
    UNION ALL
    SELECT minute, bucket, completed, failed, ended, sum_ms, rescued
    FROM asyncapex_job_minute_stats
    WHERE minute >= $3
) AS figures
GROUP BY minute, bucket
ORDER BY minute, bucket
