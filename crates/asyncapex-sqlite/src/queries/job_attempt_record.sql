-- Records the attempt a guarded write just ended without completing the job: its number
-- and start from the job row, its runner from `last_owner` (the write moved the lease there).
-- A second record of one attempt is ignored. :id, :ended_at, :outcome, :error
INSERT OR IGNORE INTO asyncapex_job_attempt (job_id, attempt, started_at, ended_at, owner, outcome, error)
SELECT id, attempt, attempt_started_at, :ended_at, last_owner, :outcome, :error
FROM asyncapex_job
WHERE id = :id AND attempt > 0
