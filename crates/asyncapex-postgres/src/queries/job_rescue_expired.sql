-- Running jobs whose lease expired before $1, except the excluded owner's: the rescuer
-- decides each one's fate with rules::rescue_decision, from these columns.
-- $1 now, $2 exclude_owner
SELECT id, attempt, max_attempts, abort_requested, lease_owner, lease_expires_at
FROM asyncapex_job
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < $1::bigint
  AND ($2::text IS NULL OR lease_owner <> $2::text)
ORDER BY id
