-- A failed attempt under a retry policy: back to Queued, due after its backoff, keeping its
-- ID and attempt count; only by the lease holder. Its stored finalizer goes (the next
-- attempt attaches its own), and the runner moves to last_owner for the attempt record. A
-- job an operator asked to abort is not retried: the write changes nothing and the attempt's
-- failure is recorded as an ending instead.
UPDATE asyncapex_job
SET status = 'Queued',
    run_at = :run_at,
    last_owner = lease_owner,
    lease_owner = NULL,
    lease_expires_at = NULL,
    finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = :id
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
  AND abort_requested = 0
