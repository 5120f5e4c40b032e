-- A purge's batch error events go with their jobs. :ids (JSON array)
DELETE FROM asyncapex_batch_error_event WHERE job_id IN (SELECT value FROM json_each(:ids))
