SELECT status, COUNT(*) FROM asyncapex_job GROUP BY status
