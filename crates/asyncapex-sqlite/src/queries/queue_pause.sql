INSERT INTO asyncapex_queue (name, paused, paused_at, updated_at) VALUES (:name, 1, :now, :now)
ON CONFLICT (name) DO UPDATE SET paused = 1, paused_at = :now, updated_at = :now
WHERE asyncapex_queue.paused = 0
