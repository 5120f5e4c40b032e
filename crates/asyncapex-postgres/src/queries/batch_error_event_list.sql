-- $1 job_id (NULL: every job), $2 limit
SELECT * FROM asyncapex_batch_error_event
WHERE ($1::text IS NULL OR job_id = $1::text)
ORDER BY replay_id DESC
LIMIT $2::bigint
