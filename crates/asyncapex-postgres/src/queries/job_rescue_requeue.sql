-- Lost jobs with attempts left: back to Queued, keeping their run times, so they keep their
-- place in the queue (claims take the earliest run time first). The guard repeats what the rescuer
-- read (lease, attempt, no abort request), so a job that moved on since is left alone.
-- $1 ids, $2 lease owners, $3 lease expiries, $4 attempts
UPDATE asyncapex_job j
SET status = 'Queued',
    last_owner = j.lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
    AS r(id, lease_owner, lease_expires_at, attempt)
WHERE j.id = r.id
  AND j.status IN ('Preparing', 'Processing')
  AND j.lease_owner = r.lease_owner
  AND j.lease_expires_at = r.lease_expires_at
  AND j.attempt = r.attempt
  AND NOT j.abort_requested
RETURNING j.id
