-- A job's recorded attempts, oldest first. :id
SELECT attempt, started_at, ended_at, owner, outcome, error
FROM asyncapex_job_attempt
WHERE job_id = :id
ORDER BY attempt
