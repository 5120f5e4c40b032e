-- A purge's batch chunks go with their jobs. :ids (JSON array)
DELETE FROM asyncapex_batch_chunk WHERE job_id IN (SELECT value FROM json_each(:ids))
