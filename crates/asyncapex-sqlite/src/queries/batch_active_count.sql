-- Active batch jobs, counted inside their own partial index. Named: the job-type index
-- (migration 6) also matches `job_type = 'BatchApex'`, and through it this count read every
-- batch record ever kept (a tenth of a 10-million-row store), on every promotion check.
SELECT COUNT(*) FROM asyncapex_job INDEXED BY asyncapex_job_batch_active
WHERE job_type = 'BatchApex' AND status IN ('Queued', 'Preparing', 'Processing')
