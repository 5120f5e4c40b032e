-- Takes a purge's records off the kept counts (migration 6), in the purge's transaction and
-- before its delete: one grouped statement instead of a trigger per row. :ids (JSON array)
UPDATE asyncapex_job_count SET n = n - d.k
FROM (
    SELECT job_type, status, COUNT(*) AS k FROM asyncapex_job
    WHERE id IN (SELECT value FROM json_each(:ids)) AND completed_at IS NOT NULL
    GROUP BY job_type, status
) AS d
WHERE asyncapex_job_count.job_type = d.job_type AND asyncapex_job_count.status = d.status
