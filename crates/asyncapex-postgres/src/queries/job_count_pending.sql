-- $1 now
SELECT COUNT(*) FROM asyncapex_job
WHERE (status = 'Queued' AND run_at <= $1::bigint) OR status IN ('Preparing', 'Processing')
