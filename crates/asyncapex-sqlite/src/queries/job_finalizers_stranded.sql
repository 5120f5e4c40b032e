-- Failed jobs whose stored finalizer has not run (their worker died on the last attempt),
-- through the partial index that holds only them.
SELECT *
FROM asyncapex_job INDEXED BY asyncapex_job_finalizer_stranded
WHERE finalizer_class IS NOT NULL AND status = 'Failed'
ORDER BY completed_at
LIMIT :limit
