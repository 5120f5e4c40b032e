-- Operator views (overview, /metrics, the flex-queue page, filtered lists) must not count
-- every row: finished jobs are most of a store that has run for months. Their counts live
-- here, kept in the same transaction as each change by the statement triggers below (one
-- grouped upsert per statement, not one per row); waiting and running jobs are counted
-- through the status index, which holds only the current work. Each count is split over 16
-- shards picked by the writing backend, so completions committing at once on several
-- connections do not queue on one row lock; a read sums the shards. Rows are upserted in
-- (job_type, status) order so two backends sharing a shard lock them in the same order (a
-- deadlock that still happens across statements is retried: see errors.rs).
CREATE TABLE asyncapex_job_count (
    job_type TEXT NOT NULL COLLATE "C",
    status TEXT NOT NULL COLLATE "C",
    shard SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (job_type, status, shard)
);

INSERT INTO asyncapex_job_count (job_type, status, shard, n)
SELECT job_type, status, 0, COUNT(*) FROM asyncapex_job
WHERE status IN ('Completed', 'Failed', 'Aborted')
GROUP BY job_type, status;

-- The daily cap and the overview count the jobs created in the last 24 hours; at a million
-- a day that is a million rows to count on every look. Creations are counted here per minute
-- (minute = created_at / 60,000,000), job type and shard by the insert trigger below, which
-- also drops minutes more than 48 hours before the newest job it counts, so the table stays
-- small (jobs::count_created_since reads it, and counts rows for windows it no longer
-- covers). Purges do not subtract: a creation happened whether or not its record is kept.
CREATE TABLE asyncapex_job_created_count (
    minute BIGINT NOT NULL,
    job_type TEXT NOT NULL COLLATE "C",
    shard SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (minute, job_type, shard)
);

INSERT INTO asyncapex_job_created_count (minute, job_type, shard, n)
SELECT created_at / 60000000, job_type, 0, COUNT(*) FROM asyncapex_job
WHERE created_at / 60000000 >= (SELECT MAX(created_at) / 60000000 - 2880 FROM asyncapex_job)
GROUP BY created_at / 60000000, job_type;

-- SET search_path FROM CURRENT: the trigger also fires in an application's own transaction
-- (EnqueueTransaction::commit_in), whose search_path need not name this schema.
CREATE FUNCTION asyncapex_job_count_apply() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    -- Finished rows after the statement count +1, finished rows before it -1: a row that
    -- stays finished nets zero, so no join of the two transition tables is needed.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO asyncapex_job_created_count AS c (minute, job_type, shard, n)
        SELECT created_at / 60000000, job_type, pg_backend_pid() % 16, COUNT(*) FROM new_rows
        GROUP BY created_at / 60000000, job_type ORDER BY 1, 2
        ON CONFLICT (minute, job_type, shard) DO UPDATE SET n = c.n + excluded.n;
        DELETE FROM asyncapex_job_created_count
        WHERE minute < (SELECT MAX(created_at) / 60000000 - 2880 FROM new_rows);
        INSERT INTO asyncapex_job_count AS c (job_type, status, shard, n)
        SELECT job_type, status, pg_backend_pid() % 16, COUNT(*) FROM new_rows
        WHERE status IN ('Completed', 'Failed', 'Aborted')
        GROUP BY job_type, status ORDER BY job_type, status
        ON CONFLICT (job_type, status, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO asyncapex_job_count AS c (job_type, status, shard, n)
        SELECT job_type, status, pg_backend_pid() % 16, SUM(d) FROM (
            SELECT job_type, status, 1 AS d FROM new_rows
            WHERE status IN ('Completed', 'Failed', 'Aborted')
            UNION ALL
            SELECT job_type, status, -1 FROM old_rows
            WHERE status IN ('Completed', 'Failed', 'Aborted')
        ) delta
        GROUP BY job_type, status
        HAVING SUM(d) <> 0 ORDER BY job_type, status
        ON CONFLICT (job_type, status, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO asyncapex_job_count AS c (job_type, status, shard, n)
        SELECT job_type, status, pg_backend_pid() % 16, -COUNT(*) FROM old_rows
        WHERE status IN ('Completed', 'Failed', 'Aborted')
        GROUP BY job_type, status ORDER BY job_type, status
        ON CONFLICT (job_type, status, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER asyncapex_job_count_insert AFTER INSERT ON asyncapex_job
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION asyncapex_job_count_apply();

CREATE TRIGGER asyncapex_job_count_update AFTER UPDATE ON asyncapex_job
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION asyncapex_job_count_apply();

CREATE TRIGGER asyncapex_job_count_delete AFTER DELETE ON asyncapex_job
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION asyncapex_job_count_apply();

-- The job list filtered by type walks this index (see jobs::list); the other filters have one.
CREATE INDEX asyncapex_job_type ON asyncapex_job (job_type, id);

-- The last hour's completions per minute and their durations (overview, /metrics) are read
-- from this index alone: with the status, start and attempt in it, no row is visited, so a
-- look costs the hour's index entries, not a random read of each row (28.8 ms at 10 million
-- rows with the plain index; BENCHMARKS.md, scale). Purges walk it too.
DROP INDEX asyncapex_job_completed;
CREATE INDEX asyncapex_job_completed ON asyncapex_job (completed_at)
    INCLUDE (status, started_at, attempt) WHERE completed_at IS NOT NULL;
