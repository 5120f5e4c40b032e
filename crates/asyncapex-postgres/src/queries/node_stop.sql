-- $1 id, $2 now
UPDATE asyncapex_node SET stopped_at = $2::bigint, heartbeat_at = $2::bigint WHERE id = $1::bigint
