SELECT * FROM asyncapex_batch_error_event
WHERE (:job_id IS NULL OR job_id = :job_id)
ORDER BY replay_id DESC
LIMIT :limit
