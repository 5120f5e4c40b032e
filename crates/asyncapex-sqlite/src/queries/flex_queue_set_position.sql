UPDATE asyncapex_job SET flex_position = :position WHERE id = :id AND status = 'Holding'
