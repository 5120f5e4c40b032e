UPDATE asyncapex_queue SET paused = 0, paused_at = NULL, updated_at = :now
WHERE name = :name AND paused <> 0
