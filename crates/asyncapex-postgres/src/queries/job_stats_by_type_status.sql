SELECT job_type, status, COUNT(*) FROM asyncapex_job GROUP BY job_type, status
