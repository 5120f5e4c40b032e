-- $1 id, $2 now
UPDATE asyncapex_node SET heartbeat_at = $2::bigint WHERE id = $1::bigint
