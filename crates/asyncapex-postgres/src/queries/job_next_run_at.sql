SELECT MIN(run_at) FROM asyncapex_job WHERE status = 'Queued'
