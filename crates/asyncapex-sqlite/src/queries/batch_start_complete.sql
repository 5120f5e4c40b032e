-- Preparing -> Processing once start's chunks are stored.
UPDATE asyncapex_job
SET status = 'Processing', batch_start_done = 1, total_items = :total, payload = :state
WHERE id = :id AND lease_owner = :owner AND status = 'Preparing'
