SELECT * FROM asyncapex_job WHERE status = 'Holding' ORDER BY flex_position, id
