-- Counts over the time windows the operator views show, kept as jobs are created and end.

-- The overview and /metrics show the last hour's completions per minute, their run durations
-- and the rescued count. Read from the completed-jobs index they cost the hour's entries:
-- 14,000 a look on a store doing 10 million jobs a month (15–29 ms; BENCHMARKS.md, scale).
-- They are kept here instead, per minute (completed_at / 60,000,000), duration bucket (as
-- DURATION_BUCKETS_MS; -1 for a job that ended without starting) and shard (the writing
-- backend's, as asyncapex_job_count's, so concurrent completions do not queue on one row), by
-- the statement triggers below, which add the jobs a statement finishes and drop minutes more
-- than 48 hours before the newest. jobs::stats reads whole minutes here and the part-minute
-- at the window's start from the rows, and rows alone for a window the table no longer
-- covers. Like the creation counts these record what ran: a purge does not subtract.
CREATE TABLE asyncapex_job_minute_stats (
    minute BIGINT NOT NULL,
    bucket SMALLINT NOT NULL,
    shard SMALLINT NOT NULL,
    completed BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    -- Jobs that ended in the minute and bucket (with aborted ones), their summed run time in
    -- milliseconds, and those of them that ran more than one attempt.
    ended BIGINT NOT NULL,
    sum_ms BIGINT NOT NULL,
    rescued BIGINT NOT NULL,
    PRIMARY KEY (minute, bucket, shard)
);

-- What one finished job adds to the table, in one place for the backfill, the triggers and
-- the read of a part-minute. Declared as returning a set (of one row) because the planner
-- inlines only set-returning SQL functions in FROM; called per row instead, it cost 19 µs a
-- row (EXPLAIN ANALYZE).
CREATE FUNCTION asyncapex_job_minute_figures(
    status TEXT, started_at BIGINT, completed_at BIGINT, attempt BIGINT)
RETURNS TABLE (minute BIGINT, bucket SMALLINT, completed BIGINT, failed BIGINT,
               sum_ms BIGINT, rescued BIGINT)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT completed_at / 60000000,
       (CASE
          WHEN d IS NULL THEN -1
          WHEN d <= 5 THEN 0 WHEN d <= 10 THEN 1 WHEN d <= 25 THEN 2 WHEN d <= 50 THEN 3
          WHEN d <= 100 THEN 4 WHEN d <= 250 THEN 5 WHEN d <= 500 THEN 6 WHEN d <= 1000 THEN 7
          WHEN d <= 2500 THEN 8 WHEN d <= 5000 THEN 9 WHEN d <= 10000 THEN 10
          WHEN d <= 30000 THEN 11 WHEN d <= 60000 THEN 12 ELSE 13
        END)::SMALLINT,
       (status = 'Completed')::INT::BIGINT,
       (status = 'Failed')::INT::BIGINT,
       COALESCE(d, 0),
       (d IS NOT NULL AND attempt > 1)::INT::BIGINT
FROM (SELECT (completed_at - started_at) / 1000 AS d) AS run
$$;

INSERT INTO asyncapex_job_minute_stats AS s
    (minute, bucket, shard, completed, failed, ended, sum_ms, rescued)
SELECT f.minute, f.bucket, 0, SUM(f.completed), SUM(f.failed), COUNT(*), SUM(f.sum_ms),
       SUM(f.rescued)
FROM asyncapex_job j,
     asyncapex_job_minute_figures(j.status, j.started_at, j.completed_at, j.attempt) f
WHERE j.completed_at >= (SELECT (MAX(completed_at) / 60000000 - 2880) * 60000000 FROM asyncapex_job)
GROUP BY f.minute, f.bucket;

-- The daily cap and the overview count the last 24 hours' creations: from the per-minute
-- counts (migration 6) that is 1,440 minutes of each job type and shard, most of the
-- overview's time on a busy store. Whole hours are counted here too (per job type and shard,
-- by the insert branch of the trigger below, which drops hours more than 48 before the newest);
-- jobs::count_created_since reads the part-minute from the rows, the minutes up to the first
-- whole hour from the per-minute counts and the rest from these.
CREATE TABLE asyncapex_job_created_hour_count (
    hour BIGINT NOT NULL,
    job_type TEXT NOT NULL COLLATE "C",
    shard SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, job_type, shard)
);

INSERT INTO asyncapex_job_created_hour_count (hour, job_type, shard, n)
SELECT created_at / 3600000000, job_type, 0, COUNT(*) FROM asyncapex_job
WHERE created_at / 3600000000 >= (SELECT MAX(created_at) / 3600000000 - 48 FROM asyncapex_job)
GROUP BY created_at / 3600000000, job_type;

-- SET search_path FROM CURRENT: the trigger also fires in an application's own transaction
-- (EnqueueTransaction::commit_in), whose search_path need not name this schema.
CREATE FUNCTION asyncapex_job_window_counts_apply() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    -- An insert counts its creations per hour. After an update, finished rows before it
    -- subtract: a row that was already finished nets zero (finished statuses are terminal),
    -- so no join of the two transition tables is needed. An insert's trigger has no old rows
    -- to name. Keys are upserted in order (see asyncapex_job_count).
    IF TG_OP = 'INSERT' THEN
        INSERT INTO asyncapex_job_created_hour_count AS c (hour, job_type, shard, n)
        SELECT created_at / 3600000000, job_type, pg_backend_pid() % 16, COUNT(*) FROM new_rows
        GROUP BY created_at / 3600000000, job_type ORDER BY 1, 2
        ON CONFLICT (hour, job_type, shard) DO UPDATE SET n = c.n + excluded.n;
        DELETE FROM asyncapex_job_created_hour_count
        WHERE hour < (SELECT MAX(created_at) / 3600000000 - 48 FROM new_rows);
        INSERT INTO asyncapex_job_minute_stats AS s
            (minute, bucket, shard, completed, failed, ended, sum_ms, rescued)
        SELECT f.minute, f.bucket, pg_backend_pid() % 16, SUM(f.completed), SUM(f.failed),
               COUNT(*), SUM(f.sum_ms), SUM(f.rescued)
        FROM new_rows d,
             asyncapex_job_minute_figures(d.status, d.started_at, d.completed_at, d.attempt) f
        WHERE d.completed_at IS NOT NULL
        GROUP BY f.minute, f.bucket
        ORDER BY f.minute, f.bucket
        ON CONFLICT (minute, bucket, shard) DO UPDATE SET
            completed = s.completed + excluded.completed, failed = s.failed + excluded.failed,
            ended = s.ended + excluded.ended, sum_ms = s.sum_ms + excluded.sum_ms,
            rescued = s.rescued + excluded.rescued;
    ELSE
        INSERT INTO asyncapex_job_minute_stats AS s
            (minute, bucket, shard, completed, failed, ended, sum_ms, rescued)
        SELECT f.minute, f.bucket, pg_backend_pid() % 16, SUM(d.sign * f.completed),
               SUM(d.sign * f.failed), SUM(d.sign), SUM(d.sign * f.sum_ms),
               SUM(d.sign * f.rescued)
        FROM (
            SELECT 1 AS sign, status, started_at, completed_at, attempt FROM new_rows
            WHERE completed_at IS NOT NULL
            UNION ALL
            SELECT -1, status, started_at, completed_at, attempt FROM old_rows
            WHERE completed_at IS NOT NULL
        ) AS d,
        asyncapex_job_minute_figures(d.status, d.started_at, d.completed_at, d.attempt) f
        GROUP BY f.minute, f.bucket
        HAVING SUM(d.sign) <> 0
        ORDER BY f.minute, f.bucket
        ON CONFLICT (minute, bucket, shard) DO UPDATE SET
            completed = s.completed + excluded.completed, failed = s.failed + excluded.failed,
            ended = s.ended + excluded.ended, sum_ms = s.sum_ms + excluded.sum_ms,
            rescued = s.rescued + excluded.rescued;
    END IF;
    DELETE FROM asyncapex_job_minute_stats
    WHERE minute < (SELECT MAX(completed_at) / 60000000 - 2880 FROM new_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER asyncapex_job_window_counts_insert AFTER INSERT ON asyncapex_job
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION asyncapex_job_window_counts_apply();

CREATE TRIGGER asyncapex_job_window_counts_update AFTER UPDATE ON asyncapex_job
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION asyncapex_job_window_counts_apply();
