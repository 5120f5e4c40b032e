SELECT MIN(run_at) FROM asyncapex_job INDEXED BY asyncapex_job_queued WHERE status = 'Queued'
