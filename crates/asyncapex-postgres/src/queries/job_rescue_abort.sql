-- Lost jobs that were asked to abort: they end Aborted. The guard repeats the lease the
-- rescuer read, so a job heartbeated, finished or rescued by another process since is left
-- alone.
-- $1 now, $2 message, $3 ids, $4 lease owners, $5 lease expiries
UPDATE asyncapex_job j
SET status = 'Aborted',
    extended_status = COALESCE(j.extended_status, $2::text),
    completed_at = $1::bigint,
    last_owner = j.lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
FROM unnest($3::text[], $4::text[], $5::bigint[]) AS r(id, lease_owner, lease_expires_at)
WHERE j.id = r.id
  AND j.status IN ('Preparing', 'Processing')
  AND j.lease_owner = r.lease_owner
  AND j.lease_expires_at = r.lease_expires_at
  AND j.abort_requested
RETURNING j.id
