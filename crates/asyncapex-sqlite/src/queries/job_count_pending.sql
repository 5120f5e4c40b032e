SELECT COUNT(*) FROM asyncapex_job
WHERE (status = 'Queued' AND run_at <= :now) OR status IN ('Preparing', 'Processing')
