-- As job_count_by_status, by type too: finished jobs from the kept counts, the current work
-- through the status index.
SELECT job_type, status, n FROM asyncapex_job_count WHERE n <> 0
UNION ALL
SELECT job_type, status, COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_status
WHERE status IN ('Holding', 'Queued', 'Preparing', 'Processing')
GROUP BY job_type, status
