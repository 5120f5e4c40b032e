-- Deletes the listed finished jobs (a job never leaves a terminal status; the guard only
-- matters for an ID listed by mistake). :ids (JSON array)
DELETE FROM asyncapex_job
WHERE id IN (SELECT value FROM json_each(:ids)) AND completed_at IS NOT NULL
