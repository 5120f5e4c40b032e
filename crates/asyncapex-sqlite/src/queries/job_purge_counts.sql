-- Takes a purge's records of one type and status off the kept counts (migration 6), in the
-- purge's transaction: the purge groups what it deletes itself, instead of a trigger firing
-- per deleted row. :job_type, :status, :n
UPDATE asyncapex_job_count SET n = n - :n WHERE job_type = :job_type AND status = :status
