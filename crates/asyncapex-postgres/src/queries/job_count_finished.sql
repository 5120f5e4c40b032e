-- Finished jobs from the counts the triggers keep (migration 6, summed over shards): a few
-- rows whatever the number of jobs, waiting or finished.
SELECT status, SUM(n)::bigint FROM asyncapex_job_count GROUP BY status
