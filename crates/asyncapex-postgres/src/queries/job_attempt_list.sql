-- A job's recorded attempts, oldest first. $1 id
SELECT attempt, started_at, ended_at, owner, outcome, error
FROM asyncapex_job_attempt
WHERE job_id = $1::text
ORDER BY attempt
