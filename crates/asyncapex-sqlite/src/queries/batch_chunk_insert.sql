INSERT INTO asyncapex_batch_chunk (job_id, seq, id, status, item_count, items)
VALUES (:job_id, :seq, :id, 'Pending', :item_count, :items)
