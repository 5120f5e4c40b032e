-- Lost jobs that used their last attempt: they fail, each with its own message. The guard
-- repeats what the rescuer read (lease, attempt, no abort request), so a job that moved on
-- since is left alone.
-- $1 now, $2 ids, $3 lease owners, $4 lease expiries, $5 attempts, $6 messages
UPDATE asyncapex_job j
SET status = 'Failed',
    extended_status = COALESCE(j.extended_status, r.message),
    completed_at = $1::bigint,
    last_owner = j.lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
    AS r(id, lease_owner, lease_expires_at, attempt, message)
WHERE j.id = r.id
  AND j.status IN ('Preparing', 'Processing')
  AND j.lease_owner = r.lease_owner
  AND j.lease_expires_at = r.lease_expires_at
  AND j.attempt = r.attempt
  AND NOT j.abort_requested
RETURNING j.id
