-- Failed jobs whose stored finalizer has not run (their worker died on the last attempt),
-- through the partial index that holds only them.
-- $1 limit
SELECT *
FROM asyncapex_job
WHERE finalizer_class IS NOT NULL AND status = 'Failed'
ORDER BY completed_at
LIMIT $1::bigint
