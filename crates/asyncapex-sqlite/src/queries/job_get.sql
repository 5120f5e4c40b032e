SELECT * FROM asyncapex_job WHERE id = :id
