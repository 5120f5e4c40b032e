-- Takes a failed job's stored finalizer, once: the caller inserts its run in the same
-- transaction only if this changed the row.
UPDATE asyncapex_job
SET finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = :id
  AND finalizer_class IS NOT NULL
  AND status = 'Failed'
