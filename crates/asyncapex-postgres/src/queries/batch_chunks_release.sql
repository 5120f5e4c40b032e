-- A running batch's completed chunks, once every chunk has run. $1 job_id
DELETE FROM asyncapex_batch_chunk WHERE job_id = $1::text AND status = 'Completed'
