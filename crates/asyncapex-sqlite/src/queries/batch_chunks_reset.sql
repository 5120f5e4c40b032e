DELETE FROM asyncapex_batch_chunk WHERE job_id = :job_id
