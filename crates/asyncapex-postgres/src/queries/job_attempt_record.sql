-- Records the attempts guarded writes just ended without completing their jobs: number and
-- start from each job row, runner from `last_owner` (the write moved the lease there). A
-- second record of one attempt is ignored.
-- $1 ids, $2 ended_at, $3 outcome, $4 errors (one per id)
INSERT INTO asyncapex_job_attempt (job_id, attempt, started_at, ended_at, owner, outcome, error)
SELECT j.id, j.attempt, j.attempt_started_at, $2::bigint, j.last_owner, $3::text, r.error
FROM unnest($1::text[], $4::text[]) AS r(id, error)
JOIN asyncapex_job j ON j.id = r.id
WHERE j.attempt > 0
ON CONFLICT (job_id, attempt) DO NOTHING
