-- Stores the finalizer attached to a running job, only by its lease holder.
-- $1 id, $2 owner, $3 class, $4 state
UPDATE asyncapex_job
SET finalizer_class = $3::text,
    finalizer_state = $4::text
WHERE id = $1::text
  AND lease_owner = $2::text
  AND status IN ('Preparing', 'Processing')
