-- Finished jobs from the counts the triggers keep (migration 6); waiting and running jobs
-- through the status index, which holds only the current work. Never a scan of history.
SELECT status, SUM(n) FROM asyncapex_job_count GROUP BY status
UNION ALL
SELECT status, COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_status
WHERE status IN ('Holding', 'Queued', 'Preparing', 'Processing')
GROUP BY status
