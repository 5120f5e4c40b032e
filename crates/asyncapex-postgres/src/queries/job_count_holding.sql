SELECT COUNT(*) FROM asyncapex_job WHERE status = 'Holding'
