-- A running job is asked to stop; its worker ends it as Aborted.
UPDATE asyncapex_job
SET abort_requested = 1
WHERE id = :id AND status IN ('Preparing', 'Processing')
