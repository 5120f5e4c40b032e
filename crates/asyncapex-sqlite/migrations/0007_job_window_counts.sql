-- Counts over the time windows the operator views show, kept as jobs are created and end.

-- The overview and /metrics show the last hour's completions per minute, their run durations
-- and the rescued count. Read from the completed-jobs index they cost the hour's entries:
-- 14,000 a look on a store doing 10 million jobs a month (12–19 ms; BENCHMARKS.md, scale).
-- They are kept here instead, one row per minute (completed_at / 60,000,000) and duration
-- bucket (as DURATION_BUCKETS_MS; -1 for a job that ended without starting), by the triggers
-- below, which add a job when it enters a finished status and drop minutes more than 48 hours
-- before it; jobs::stats reads whole minutes here and the part-minute at the window's start
-- from the rows, and reads rows alone for a window the table no longer covers. Like the
-- creation counts, these record what ran: a purge does not subtract.
CREATE TABLE asyncapex_job_minute_stats (
    minute INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    completed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    -- Jobs that ended in the minute and bucket (with aborted ones), their summed run time in
    -- milliseconds, and those of them that ran more than one attempt.
    ended INTEGER NOT NULL,
    sum_ms INTEGER NOT NULL,
    rescued INTEGER NOT NULL,
    PRIMARY KEY (minute, bucket)
) WITHOUT ROWID;

-- What one finished job adds to the table, computed in one place for the backfill and both
-- triggers (which look their row up by rowid: one B-tree step).
CREATE VIEW asyncapex_job_minute_stats_source AS
SELECT row_id, completed_at, completed_at / 60000000 AS minute,
       CASE
         WHEN d IS NULL THEN -1
         WHEN d <= 5 THEN 0 WHEN d <= 10 THEN 1 WHEN d <= 25 THEN 2 WHEN d <= 50 THEN 3
         WHEN d <= 100 THEN 4 WHEN d <= 250 THEN 5 WHEN d <= 500 THEN 6 WHEN d <= 1000 THEN 7
         WHEN d <= 2500 THEN 8 WHEN d <= 5000 THEN 9 WHEN d <= 10000 THEN 10
         WHEN d <= 30000 THEN 11 WHEN d <= 60000 THEN 12 ELSE 13
       END AS bucket,
       status = 'Completed' AS completed,
       status = 'Failed' AS failed,
       COALESCE(d, 0) AS ms,
       d IS NOT NULL AND attempt > 1 AS rescued
FROM (
    SELECT rowid AS row_id, completed_at, status, attempt,
           CASE WHEN started_at IS NOT NULL THEN (completed_at - started_at) / 1000 END AS d
    FROM asyncapex_job
    -- Exactly the finished jobs (a CHECK ties completed_at to them); naming the statuses
    -- here would have a window's read walk the status index instead of the completion one.
    WHERE completed_at IS NOT NULL
);

INSERT INTO asyncapex_job_minute_stats (minute, bucket, completed, failed, ended, sum_ms, rescued)
SELECT minute, bucket, SUM(completed), SUM(failed), COUNT(*), SUM(ms), SUM(rescued)
FROM asyncapex_job_minute_stats_source
WHERE minute >= (SELECT MAX(completed_at) / 60000000 - 2880 FROM asyncapex_job)
GROUP BY minute, bucket;

CREATE TRIGGER asyncapex_job_minute_stats_insert AFTER INSERT ON asyncapex_job
WHEN NEW.completed_at IS NOT NULL
BEGIN
    INSERT INTO asyncapex_job_minute_stats (minute, bucket, completed, failed, ended, sum_ms, rescued)
    SELECT minute, bucket, completed, failed, 1, ms, rescued
    FROM asyncapex_job_minute_stats_source WHERE row_id = NEW.rowid
    ON CONFLICT (minute, bucket) DO UPDATE SET
        completed = completed + excluded.completed, failed = failed + excluded.failed,
        ended = ended + 1, sum_ms = sum_ms + excluded.sum_ms, rescued = rescued + excluded.rescued;
    DELETE FROM asyncapex_job_minute_stats WHERE minute < NEW.completed_at / 60000000 - 2880;
END;

-- Finished statuses are terminal (completed_at is set exactly then, a CHECK says so), so a
-- job enters this table once.
CREATE TRIGGER asyncapex_job_minute_stats_enter AFTER UPDATE OF completed_at ON asyncapex_job
WHEN NEW.completed_at IS NOT NULL AND OLD.completed_at IS NULL
BEGIN
    INSERT INTO asyncapex_job_minute_stats (minute, bucket, completed, failed, ended, sum_ms, rescued)
    SELECT minute, bucket, completed, failed, 1, ms, rescued
    FROM asyncapex_job_minute_stats_source WHERE row_id = NEW.rowid
    ON CONFLICT (minute, bucket) DO UPDATE SET
        completed = completed + excluded.completed, failed = failed + excluded.failed,
        ended = ended + 1, sum_ms = sum_ms + excluded.sum_ms, rescued = rescued + excluded.rescued;
    DELETE FROM asyncapex_job_minute_stats WHERE minute < NEW.completed_at / 60000000 - 2880;
END;

-- The daily cap and the overview count the last 24 hours' creations: from the per-minute
-- counts (migration 6) that is 1,440 minutes of each job type, most of the overview's time
-- on a busy store (0.7 ms of 1.5). Whole hours are counted here too, by the insert trigger
-- below, which drops hours more than 48 before the job it counts; jobs::count_created_since
-- reads the part-minute from the rows, the minutes up to the first whole hour from the
-- per-minute counts and the rest from these (at most 25 hours of rows).
CREATE TABLE asyncapex_job_created_hour_count (
    hour INTEGER NOT NULL,
    job_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, job_type)
) WITHOUT ROWID;

INSERT INTO asyncapex_job_created_hour_count (hour, job_type, n)
SELECT created_at / 3600000000, job_type, COUNT(*) FROM asyncapex_job
WHERE created_at / 3600000000 >= (SELECT MAX(created_at) / 3600000000 - 48 FROM asyncapex_job)
GROUP BY created_at / 3600000000, job_type;

CREATE TRIGGER asyncapex_job_created_hour_count_insert AFTER INSERT ON asyncapex_job
BEGIN
    INSERT INTO asyncapex_job_created_hour_count (hour, job_type, n)
    VALUES (NEW.created_at / 3600000000, NEW.job_type, 1)
    ON CONFLICT (hour, job_type) DO UPDATE SET n = n + 1;
    DELETE FROM asyncapex_job_created_hour_count WHERE hour < NEW.created_at / 3600000000 - 48;
END;
