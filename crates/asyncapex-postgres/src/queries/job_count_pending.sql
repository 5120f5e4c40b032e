-- Due queued jobs plus running ones, each counted through its own partial index: a wait for
-- idleness asks this after every burst of job events, with the queue full.
-- $1 now
SELECT (SELECT COUNT(*) FROM asyncapex_job WHERE status = 'Queued' AND run_at <= $1::bigint)
     + (SELECT COUNT(*) FROM asyncapex_job WHERE status IN ('Preparing', 'Processing'))
