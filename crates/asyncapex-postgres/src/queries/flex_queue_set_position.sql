-- $1 id, $2 position
UPDATE asyncapex_job SET flex_position = $2::bigint WHERE id = $1::text AND status = 'Holding'
