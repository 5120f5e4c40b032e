-- Finished jobs from the counts the triggers keep (migration 6, summed over shards); waiting
-- and running jobs through the status index, which holds only the current work. Never a scan
-- of history.
SELECT status, SUM(n)::bigint FROM asyncapex_job_count GROUP BY status
UNION ALL
SELECT status, COUNT(*) FROM asyncapex_job
WHERE status IN ('Holding', 'Queued', 'Preparing', 'Processing')
GROUP BY status
