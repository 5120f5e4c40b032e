-- Stores the finalizer attached to a running job, only by its lease holder.
UPDATE asyncapex_job
SET finalizer_class = :class,
    finalizer_state = :state
WHERE id = :id
  AND lease_owner = :owner
  AND status IN ('Preparing', 'Processing')
