SELECT * FROM asyncapex_batch_chunk
WHERE job_id = :job_id AND seq >= :from_seq AND (:status IS NULL OR status = :status)
ORDER BY seq
LIMIT :limit
