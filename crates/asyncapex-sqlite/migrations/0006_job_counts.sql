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
-- true even for a change this build never makes.
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

CREATE TRIGGER asyncapex_job_count_delete AFTER DELETE ON asyncapex_job
WHEN OLD.status IN ('Completed', 'Failed', 'Aborted')
BEGIN
    UPDATE asyncapex_job_count SET n = n - 1
    WHERE job_type = OLD.job_type AND status = OLD.status;
END;

-- The job list filtered by type walks this index (see jobs::list); the other filters have one.
CREATE INDEX asyncapex_job_type ON asyncapex_job (job_type, id);
