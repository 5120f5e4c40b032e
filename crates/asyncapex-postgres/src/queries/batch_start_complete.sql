-- Preparing -> Processing once start's chunks are stored.
-- $1 id, $2 owner, $3 total, $4 state
UPDATE asyncapex_job
SET status = 'Processing', batch_start_done = TRUE, total_items = $3::bigint, payload = $4::text
WHERE id = $1::text AND lease_owner = $2::text AND status = 'Preparing'
