-- A running batch's completed chunks, once every chunk has run. :job_id
DELETE FROM asyncapex_batch_chunk WHERE job_id = :job_id AND status = 'Completed'
