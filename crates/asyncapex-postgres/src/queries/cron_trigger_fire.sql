-- The guard makes each fire time fire once, whichever engine gets here first: a concurrent
-- firing waits for this row's lock, then finds next_fire_time moved and changes nothing.
-- $1 id, $2 expected_next_fire_time, $3 next_fire_time (NULL: complete), $4 fired_at, $5 job_id
UPDATE asyncapex_cron_trigger
SET previous_fire_time = next_fire_time,
    next_fire_time = $3::bigint,
    times_triggered = times_triggered + 1,
    last_job_id = $5::text,
    state = CASE WHEN $3::bigint IS NULL THEN 'COMPLETE' ELSE 'WAITING' END,
    end_time = CASE WHEN $3::bigint IS NULL THEN $4::bigint ELSE end_time END
WHERE id = $1::text
  AND state = 'WAITING'
  AND next_fire_time = $2::bigint
  AND (last_job_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM asyncapex_job j
        WHERE j.id = asyncapex_cron_trigger.last_job_id
          AND j.status NOT IN ('Completed', 'Failed', 'Aborted')))
