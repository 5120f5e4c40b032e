UPDATE asyncapex_queue_slot SET started_at = :now WHERE queue = :queue AND slot = :slot
