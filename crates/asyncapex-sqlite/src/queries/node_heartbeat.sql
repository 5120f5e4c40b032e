UPDATE asyncapex_node SET heartbeat_at = :now WHERE id = :id
