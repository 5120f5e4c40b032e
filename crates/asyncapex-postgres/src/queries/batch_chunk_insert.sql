-- $1 job_id, $2 seq, $3 id, $4 item_count, $5 items
INSERT INTO asyncapex_batch_chunk (job_id, seq, id, status, item_count, items)
VALUES ($1::text, $2::bigint, $3::text, 'Pending', $4::bigint, $5::text)
