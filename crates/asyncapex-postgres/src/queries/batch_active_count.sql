SELECT COUNT(*) FROM asyncapex_job
WHERE job_type = 'BatchApex' AND status IN ('Queued', 'Preparing', 'Processing')
