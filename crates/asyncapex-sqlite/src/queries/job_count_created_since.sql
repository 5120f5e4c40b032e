SELECT COUNT(*) FROM asyncapex_job
WHERE created_at >= :since
  AND job_type IN (SELECT value FROM json_each(:job_types))
