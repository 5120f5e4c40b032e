-- Due queued jobs plus running ones, each counted inside its own partial index (no row is
-- read: the queued index holds run_at): a wait for idleness asks this after every burst of job events, with the queue full.
SELECT (SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_queued
        WHERE status = 'Queued' AND run_at <= :now)
     + (SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_running
        WHERE status IN ('Preparing', 'Processing'))
