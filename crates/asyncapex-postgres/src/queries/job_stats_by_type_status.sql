-- As job_count_by_status, by type too: finished jobs from the kept counts, the current work
-- through the status index.
SELECT job_type, status, SUM(n)::bigint FROM asyncapex_job_count
GROUP BY job_type, status HAVING SUM(n) <> 0
UNION ALL
SELECT job_type, status, COUNT(*) FROM asyncapex_job
WHERE status IN ('Holding', 'Queued', 'Preparing', 'Processing')
GROUP BY job_type, status
