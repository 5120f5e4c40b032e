-- A purge's (or delete's) attempt history goes with its jobs. :ids (JSON array)
DELETE FROM asyncapex_job_attempt WHERE job_id IN (SELECT value FROM json_each(:ids))
