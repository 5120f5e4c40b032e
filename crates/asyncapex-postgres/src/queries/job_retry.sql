-- A failed attempt under a retry policy: back to Queued, due after its backoff, keeping its
-- ID and attempt count; only by the lease holder. Its stored finalizer goes (the next
-- attempt attaches its own), and the runner moves to last_owner for the attempt record. A
-- job an operator asked to abort is not retried: the write changes nothing and the attempt's
-- failure is recorded as an ending instead.
-- $1 id, $2 owner, $3 run_at
UPDATE asyncapex_job
SET status = 'Queued',
    run_at = $3::bigint,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = $1::text
  AND lease_owner = $2::text
  AND status IN ('Preparing', 'Processing')
  AND NOT abort_requested
RETURNING id
