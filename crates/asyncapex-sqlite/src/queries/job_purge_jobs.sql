-- Deletes the listed finished jobs by rowid (as job_purge_select found them; a job never
-- leaves a terminal status, the guard only matters for a rowid listed by mistake).
-- :rowids (JSON array)
DELETE FROM asyncapex_job
WHERE rowid IN (SELECT value FROM json_each(:rowids)) AND completed_at IS NOT NULL
