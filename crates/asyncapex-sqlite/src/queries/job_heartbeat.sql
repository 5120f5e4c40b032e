UPDATE asyncapex_job
SET lease_expires_at = :lease_until
WHERE id IN (SELECT value FROM json_each(:ids))
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
RETURNING id, abort_requested
