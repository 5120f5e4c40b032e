-- Running jobs whose lease expired before :now, except the excluded owner's: the rescuer
-- decides each one's fate with rules::rescue_decision, from these columns.
SELECT id, attempt, max_attempts, abort_requested, lease_owner, lease_expires_at
FROM asyncapex_job
WHERE status IN ('Preparing', 'Processing')
  AND lease_expires_at < :now
  AND (:exclude_owner IS NULL OR lease_owner <> :exclude_owner)
ORDER BY id
