-- $1 owner, $2 ids, $3 lease_until
UPDATE asyncapex_job
SET lease_expires_at = $3::bigint
WHERE id = ANY($2::text[])
  AND lease_owner = $1::text
  AND status IN ('Preparing', 'Processing')
RETURNING id, abort_requested
