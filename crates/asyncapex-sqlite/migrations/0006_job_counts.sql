-- Operator views (overview, /metrics, the flex-queue page, filtered lists) must not count every row: finished
-- jobs are most of a store that has run for months. Their counts live here, kept in the same
-- transaction as each change by the triggers below; waiting and running jobs are counted
-- through the status index, which holds only the current work.
CREATE TABLE asyncapex_job_count (
    job_type TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (job_type, status)
) WITHOUT ROWID;

INSERT INTO asyncapex_job_count (job_type, status, n)
SELECT job_type, status, COUNT(*) FROM asyncapex_job
WHERE status IN ('Completed', 'Failed', 'Aborted')
GROUP BY job_type, status;

CREATE TRIGGER asyncapex_job_count_insert AFTER INSERT ON asyncapex_job
WHEN NEW.status IN ('Completed', 'Failed', 'Aborted')
BEGIN
    INSERT INTO asyncapex_job_count (job_type, status, n) VALUES (NEW.job_type, NEW.status, 1)
    ON CONFLICT (job_type, status) DO UPDATE SET n = n + 1;
END;

-- A job enters a finished status once (they are terminal); the leave trigger keeps the counts
-- true even for a change this build never makes. Deletes have no trigger: the purge is the
-- only statement that deletes jobs, and it takes its records off the counts itself, grouped
-- by type and status (retention.rs, queries/job_purge_counts.sql), which made purges 30 %
-- faster than a trigger firing per deleted row.
CREATE TRIGGER asyncapex_job_count_enter AFTER UPDATE OF status, job_type ON asyncapex_job
WHEN NEW.status IN ('Completed', 'Failed', 'Aborted')
 AND (OLD.status IS NOT NEW.status OR OLD.job_type IS NOT NEW.job_type)
BEGIN
    INSERT INTO asyncapex_job_count (job_type, status, n) VALUES (NEW.job_type, NEW.status, 1)
    ON CONFLICT (job_type, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER asyncapex_job_count_leave AFTER UPDATE OF status, job_type ON asyncapex_job
WHEN OLD.status IN ('Completed', 'Failed', 'Aborted')
 AND (OLD.status IS NOT NEW.status OR OLD.job_type IS NOT NEW.job_type)
BEGIN
    UPDATE asyncapex_job_count SET n = n - 1
    WHERE job_type = OLD.job_type AND status = OLD.status;
END;

-- The daily cap and the overview count the jobs created in the last 24 hours; at a million
-- a day that is a million rows to count on every look. Creations are counted here per minute
-- (minute = created_at / 60,000,000) and job type, by the insert trigger below, which also
-- drops minutes more than 48 hours before the job it counts, so the table stays small
-- (jobs::count_created_since reads it, and counts rows for windows it no longer covers).
-- Purges do not subtract: a creation happened whether or not its record is kept.
CREATE TABLE asyncapex_job_created_count (
    minute INTEGER NOT NULL,
    job_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (minute, job_type)
) WITHOUT ROWID;

INSERT INTO asyncapex_job_created_count (minute, job_type, n)
SELECT created_at / 60000000, job_type, COUNT(*) FROM asyncapex_job
WHERE created_at / 60000000 >= (SELECT MAX(created_at) / 60000000 - 2880 FROM asyncapex_job)
GROUP BY created_at / 60000000, job_type;

CREATE TRIGGER asyncapex_job_created_count_insert AFTER INSERT ON asyncapex_job
BEGIN
    INSERT INTO asyncapex_job_created_count (minute, job_type, n)
    VALUES (NEW.created_at / 60000000, NEW.job_type, 1)
    ON CONFLICT (minute, job_type) DO UPDATE SET n = n + 1;
    DELETE FROM asyncapex_job_created_count WHERE minute < NEW.created_at / 60000000 - 2880;
END;

-- The job list filtered by type walks this index (see jobs::list); the other filters have one.
CREATE INDEX asyncapex_job_type ON asyncapex_job (job_type, id);

-- The last hour's completions per minute and their durations (overview, /metrics) are read
-- from this index alone: with the status, start and attempt in it, no row is visited, so a
-- look costs the hour's index entries, not a random read of each row (28.8 ms at 10 million
-- rows with the plain index; BENCHMARKS.md, scale). Purges walk it too.
DROP INDEX asyncapex_job_completed;
CREATE INDEX asyncapex_job_completed ON asyncapex_job (completed_at, status, started_at, attempt)
    WHERE completed_at IS NOT NULL;
