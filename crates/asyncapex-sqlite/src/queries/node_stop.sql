UPDATE asyncapex_node SET stopped_at = :now, heartbeat_at = :now WHERE id = :id
