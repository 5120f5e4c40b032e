SELECT status FROM asyncapex_job WHERE id = :id
