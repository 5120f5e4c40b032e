-- The listed jobs that have finished, as a purge step selects them (see retention::delete).
-- :ids (JSON array)
SELECT rowid, id, job_type, status, completed_at
FROM asyncapex_job
WHERE id IN (SELECT value FROM json_each(:ids))
  AND status IN ('Completed', 'Failed', 'Aborted')
  AND completed_at IS NOT NULL
