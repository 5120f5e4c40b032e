-- A queue's running jobs on every node (the running index holds only running jobs).
SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_running
WHERE status IN ('Preparing', 'Processing') AND queue = :queue
