-- Takes a failed job's stored finalizer, once (the row lock makes a second node's update
-- wait, then find it taken): the caller inserts its run in the same transaction only if
-- this changed the row.
-- $1 id
UPDATE asyncapex_job
SET finalizer_class = NULL,
    finalizer_state = NULL
WHERE id = $1::text
  AND finalizer_class IS NOT NULL
  AND status = 'Failed'
