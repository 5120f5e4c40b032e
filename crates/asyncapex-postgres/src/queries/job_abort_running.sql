-- A running job is asked to stop; its worker ends it as Aborted.
-- $1 id
UPDATE asyncapex_job
SET abort_requested = TRUE
WHERE id = $1::text AND status IN ('Preparing', 'Processing')
